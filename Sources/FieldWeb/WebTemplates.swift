/// The templates, compiled into the binary (not SwiftPM resources, which must sit beside the
/// binary on Linux). Mustache: `{{x}}` is escaped for HTML; `{{{body}}}` only in the layout, for
/// a page already rendered with escaping.
enum WebTemplates {
    static let all: [String: String] = [
        "layout": layout, "refusal": refusal, "unlock": unlock, "home": home, "demands": demands, "demand": demand,
        "visit": visit, "conflicts": conflicts,
    ]

    static let conflicts = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        <h2>字段冲突</h2>
        {{^hasCells}}<p>没有未决的字段冲突。</p>{{/hasCells}}
        {{#cells}}
        <section class="conflict">
        <h3>{{record}} · {{column}}</h3>
        <table>
        <thead><tr><th scope="col">值</th><th scope="col">修改人</th><th scope="col">时间</th><th scope="col">裁定</th></tr></thead>
        <tbody>
        {{#values}}
        <tr><td>{{value}}{{#shown}} <span class="flag note">当前显示</span>{{/shown}}</td><td>{{author}}</td><td>{{time}}</td>
        <td><form method="post" action="/conflicts/resolve">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="table" value="{{table}}">
        <input type="hidden" name="row" value="{{row}}">
        <input type="hidden" name="column" value="{{columnName}}">
        <input type="hidden" name="pick" value="{{pick}}">
        <button type="submit">采用此值</button>
        </form></td></tr>
        {{/values}}
        </tbody>
        </table>
        </section>
        {{/cells}}
        <h2>流转冲突</h2>
        {{^hasWorkflow}}<p>没有未决的流转冲突。</p>{{/hasWorkflow}}
        {{#workflow}}
        <section class="conflict">
        <h3><a href="{{link}}">诉求 {{number}}</a>（由营商办在诉求详情页裁定）</h3>
        <ul>{{#branches}}<li>{{.}}</li>{{/branches}}</ul>
        </section>
        {{/workflow}}
        """

    static let visit = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        <form method="post" action="/visits" class="visit">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset><legend>走访</legend>
        <p><label for="enterprise">企业（必填）</label>
        <select id="enterprise" name="enterprise" required><option value="">请选择</option>{{#enterprises}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/enterprises}}</select></p>
        <p><label for="date">走访日期</label><input type="date" id="date" name="date" value="{{date}}" required></p>
        <p><label for="mode">走访方式</label><select id="mode" name="mode">{{#modes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/modes}}</select></p>
        <p><input type="checkbox" id="serviceDay" name="serviceDay" value="on"{{#serviceDay}} checked{{/serviceDay}}><label for="serviceDay">企业服务日走访</label></p>
        <p><label for="participants">参加人员</label><input id="participants" name="participants" value="{{participants}}"></p>
        <p><label for="topics">走访主题</label><input id="topics" name="topics" value="{{topics}}"></p>
        <p><label for="notes">情况记录</label><textarea id="notes" name="notes" rows="3">{{notes}}</textarea></p>
        </fieldset>
        <fieldset><legend>企业诉求</legend>
        <p><input type="checkbox" id="noDemands" name="noDemands" value="on"{{#noDemands}} checked{{/noDemands}}><label for="noDemands">本次无诉求</label></p>
        {{#rows}}
        <fieldset class="demand-row"><legend>诉求 {{index}}（不填标题则不登记）</legend>
        <p><label for="title{{index}}">诉求标题</label><input id="title{{index}}" name="title{{index}}" value="{{title}}"></p>
        <p><label for="content{{index}}">诉求内容</label><textarea id="content{{index}}" name="content{{index}}" rows="2">{{content}}</textarea></p>
        <p><label for="expected{{index}}">期望结果</label><input id="expected{{index}}" name="expected{{index}}" value="{{expected}}"></p>
        <p><label for="type{{index}}">诉求类型</label><select id="type{{index}}" name="type{{index}}">{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select>
        <label for="category{{index}}">诉求类别</label><select id="category{{index}}" name="category{{index}}">{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select>
        <label for="urgency{{index}}">紧急程度</label><select id="urgency{{index}}" name="urgency{{index}}">{{#urgencies}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/urgencies}}</select></p>
        </fieldset>
        {{/rows}}
        </fieldset>
        <fieldset><legend>其他</legend>
        <p><label for="solvedOnSpot">现场解决的事项</label><textarea id="solvedOnSpot" name="solvedOnSpot" rows="2">{{solvedOnSpot}}</textarea></p>
        <p><label for="nextVisit">下次计划走访</label><input type="date" id="nextVisit" name="nextVisit" value="{{nextVisit}}"></p>
        </fieldset>
        <button type="submit">保存走访</button>
        </form>
        """

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
        <a href="/visits/new">新增走访</a>
        <a href="/conflicts">冲突</a>
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
        <section class="actions" aria-label="可办理的操作">
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        {{#hasActions}}<h2>可办理的操作</h2>{{/hasActions}}
        {{^hasActions}}<p class="note">本机当前没有可对该诉求办理的操作。</p>{{/hasActions}}
        {{#actions}}
        <form method="post" action="{{link}}/act" class="action"{{#confirm}} data-confirm="{{.}}"{{/confirm}}>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="action" value="{{action}}">
        <fieldset><legend>{{label}}</legend>
        {{#fields}}
        <p><label for="{{id}}">{{label}}{{#required}}（必填）{{/required}}</label>
        {{#isArea}}<textarea id="{{id}}" name="{{name}}" rows="3"{{#required}} required{{/required}}>{{value}}</textarea>{{/isArea}}
        {{#isText}}<input id="{{id}}" name="{{name}}" value="{{value}}"{{#required}} required{{/required}}>{{/isText}}
        {{#isDate}}<input type="date" id="{{id}}" name="{{name}}" value="{{value}}"{{#required}} required{{/required}}>{{/isDate}}
        {{#isNumber}}<input type="number" min="1" id="{{id}}" name="{{name}}" value="{{value}}">{{/isNumber}}
        {{#isSelect}}<select id="{{id}}" name="{{name}}"{{#multiple}} multiple{{/multiple}}{{#required}} required{{/required}}>{{^multiple}}<option value="">请选择</option>{{/multiple}}{{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/options}}</select>{{/isSelect}}
        </p>
        {{/fields}}
        <button type="submit">{{label}}</button>
        </fieldset>
        </form>
        {{/actions}}
        </section>
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
        input, select, textarea, button { font: inherit; }
        form.visit label, form.action label { display: inline-block; min-width: 8em; margin-right: .5rem; }
        form.visit input[type=checkbox] + label { min-width: 0; }
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
        form.action fieldset { margin: .5rem 0; background: #fff; }
        form.action label { display: block; font-weight: bold; }
        form.action textarea, form.action input, form.action select { min-width: 20rem; }
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
