/// The templates, compiled into the binary (not SwiftPM resources, which must sit beside the
/// binary on Linux). Mustache: `{{x}}` is escaped for HTML; `{{{body}}}` only in the layout, for
/// a page already rendered with escaping.
enum WebTemplates {
    static let all: [String: String] = [
        "layout": layout, "refusal": refusal, "unlock": unlock, "home": home, "demands": demands, "demand": demand,
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · fieldlog</title>
        <link rel="stylesheet" href="/assets/app.css">
        <script src="/assets/app.js" defer></script>
        </head>
        <body>
        <header>
        <nav aria-label="主导航">
        <a href="/">工作台</a>
        <a href="/demands">诉求</a>
        </nav>
        <p class="who">{{county}} · {{role}} · 今天 {{today}}</p>
        </header>
        <main>
        <h1>{{title}}</h1>
        {{{body}}}
        </main>
        </body>
        </html>
        """

    static let refusal = """
        <div class="refusal" role="alert">
        <p>{{message}}</p>
        <p>{{advice}}</p>
        </div>
        """

    static let unlock = """
        <p>应用已锁定（长时间未操作）。请输入本机密钥口令继续。</p>
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        <form method="post" action="/unlock">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="passphrase">口令</label>
        <input id="passphrase" name="passphrase" type="password" autocomplete="current-password" required autofocus>
        <button type="submit">解锁</button>
        </form>
        """

    static let demandRows = """
        <table class="demands">
        <thead><tr><th scope="col">诉求编号</th><th scope="col">标题</th><th scope="col">企业</th><th scope="col">状态</th><th scope="col">办理时限</th><th scope="col">提示</th></tr></thead>
        <tbody>
        {{#demands}}
        <tr>
        <td><a href="{{link}}">{{number}}</a></td>
        <td>{{title}}</td>
        <td>{{enterprise}}</td>
        <td>{{state}}</td>
        <td>{{#deadline}}{{.}}{{/deadline}}{{#workdaysLeft}}<br><small>{{.}}</small>{{/workdaysLeft}}</td>
        <td>{{#flags}}<span class="flag {{kind}}">{{text}}</span> {{/flags}}</td>
        </tr>
        {{/demands}}
        </tbody>
        </table>
        """

    static let home = """
        <section class="summary" aria-label="概况">
        <p><strong>{{openCount}}</strong> 件诉求未办结，其中超期 <strong>{{overdueCount}}</strong> 件，黄牌/红牌 <strong>{{cardCount}}</strong> 件。</p>
        <p>未决字段冲突 <strong>{{conflictCount}}</strong> 处；暂存（等待条件）的提交 <strong>{{heldCount}}</strong> 条。</p>
        </section>
        <h2>未办结的诉求</h2>
        {{#hasDemands}}
        \(demandRows)
        {{/hasDemands}}
        {{^hasDemands}}<p>没有未办结的诉求。</p>{{/hasDemands}}
        """

    static let demands = """
        <form method="get" action="/demands" class="filters" aria-label="查询条件">
        <label for="state">状态</label>
        <select id="state" name="state">
        <option value="">全部</option>
        {{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/states}}
        </select>
        <label for="text">标题或内容</label>
        <input id="text" name="text" value="{{text}}">
        <button type="submit">查询</button>
        <a href="/demands">重置</a>
        </form>
        <p>共 {{total}} 条，第 {{page}}/{{pages}} 页</p>
        {{#hasDemands}}
        \(demandRows)
        {{/hasDemands}}
        {{^hasDemands}}<p>没有符合条件的诉求。</p>{{/hasDemands}}
        <nav aria-label="翻页">{{#previous}}<a href="{{.}}">上一页</a> {{/previous}}{{#next}}<a href="{{.}}">下一页</a>{{/next}}</nav>
        """

    static let demand = """
        <p class="state">诉求编号 {{number}} · 当前状态：<strong>{{state}}</strong> {{#flags}}<span class="flag {{kind}}">{{text}}</span> {{/flags}}</p>
        <h2>{{title}}</h2>
        <dl class="facts">
        {{#facts}}<dt>{{label}}</dt><dd>{{value}}</dd>{{/facts}}
        </dl>
        {{#reasons}}<p class="note">{{.}}</p>{{/reasons}}
        <h2>流转日志</h2>
        <table class="events">
        <thead><tr><th scope="col">时间</th><th scope="col">操作人</th><th scope="col">操作</th><th scope="col">状态变化</th><th scope="col">意见</th></tr></thead>
        <tbody>
        {{#events}}
        <tr><td>{{time}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{change}}</td><td>{{#comment}}{{.}}{{/comment}}</td></tr>
        {{/events}}
        </tbody>
        </table>
        """
}

/// The style sheet and the script, served from the binary. No web fonts: a system CJK font stack.
enum WebAssets {
    static let css = """
        :root { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; }
        body { margin: 0; color: #1b1b1b; background: #fafafa; }
        header { background: #0b3d6e; color: #fff; padding: .5rem 1rem; display: flex; gap: 2rem; align-items: center; }
        header a { color: #fff; margin-right: 1rem; }
        header .who { margin: 0; }
        main { padding: 1rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }
        .flag { padding: 0 .3rem; border-radius: .2rem; font-size: .9em; }
        .flag.yellow { background: #ffe066; }
        .flag.red { background: #d62828; color: #fff; }
        .flag.alert { background: #f4a261; }
        .flag.note { background: #ddd; }
        .refusal, .error { border-left: .3rem solid #d62828; padding: .5rem 1rem; background: #fff; }
        .filters { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin-bottom: 1rem; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dl.facts dt { font-weight: bold; }
        a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f4a261; }
        """

    /// Asks before any form marked `data-confirm` is sent.
    static let js = """
        "use strict";
        document.addEventListener("submit", function (event) {
          var question = event.target.getAttribute("data-confirm");
          if (question && !window.confirm(question)) { event.preventDefault(); }
        });
        """
}
