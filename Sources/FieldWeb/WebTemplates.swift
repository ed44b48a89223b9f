/// The templates, compiled into the binary (not SwiftPM resources, which must sit beside the
/// binary on Linux). Mustache: `{{x}}` is escaped for HTML; `{{{body}}}` only in the layout, for
/// a page already rendered with escaping.
package enum WebTemplates {
    static let all: [String: String] = [
        "layout": layout, "refusal": refusal, "unlock": unlock, "home": home, "demands": demands, "demand": demand,
        "visit": visit, "conflicts": conflicts, "sync": sync, "export": export, "exportReady": exportReady,
        "verify": verify, "enterprise": enterprise, "device": device, "rates": rates, "demandNew": demandNew,
    ]

    static let demandNew = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        <p>走访中提出的诉求请在 <a href="/visits/new">新增走访</a> 中一并登记；这里登记其他来源的诉求（12345 转办、会议、企业自主提交等）。</p>
        <form method="post" action="/demands" class="visit">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="enterprise">企业（必填）</label>
        <select id="enterprise" name="enterprise" required{{#enterpriseError}} aria-invalid="true" aria-describedby="enterprise-error"{{/enterpriseError}}><option value="">请选择</option>{{#enterprises}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/enterprises}}</select>{{#enterpriseError}}<span class="field-error" id="enterprise-error">{{.}}</span>{{/enterpriseError}}</p>
        <p><label for="title">诉求标题（必填）</label><input id="title" name="title" value="{{title}}" required{{#titleError}} aria-invalid="true" aria-describedby="title-error"{{/titleError}}>{{#titleError}}<span class="field-error" id="title-error">{{.}}</span>{{/titleError}}</p>
        <p><label for="content">诉求内容（必填）</label><textarea id="content" name="content" rows="3" required{{#contentError}} aria-invalid="true" aria-describedby="content-error"{{/contentError}}>{{content}}</textarea>{{#contentError}}<span class="field-error" id="content-error">{{.}}</span>{{/contentError}}</p>
        <p><label for="expected">期望结果</label><input id="expected" name="expected" value="{{expected}}"></p>
        <p><label for="type">诉求类型</label><select id="type" name="type">{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select>
        <label for="category">诉求类别</label><select id="category" name="category">{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select></p>
        <p><label for="channel">来源渠道</label><select id="channel" name="channel">{{#channels}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/channels}}</select>
        <label for="urgency">紧急程度</label><select id="urgency" name="urgency">{{#urgencies}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/urgencies}}</select>{{#choiceError}}<span class="field-error">{{.}}</span>{{/choiceError}}</p>
        <button type="submit">登记诉求</button>
        </form>
        """

    /// A `ChartView` in a `{{#chart}}` section, as an SVG drawn on the server (also the console's).
    package static let chartSVG = """
        {{#chart}}
        {{#hasBars}}
        <svg role="img" aria-label="{{title}}" width="760" height="{{height}}" viewBox="0 0 760 {{height}}" xmlns="http://www.w3.org/2000/svg">
        <title>{{title}}</title>
        {{#bars}}
        <text x="0" y="{{labelY}}" font-size="13" fill="#1b1b1b">{{label}}</text>
        <rect x="200" y="{{thisY}}" width="{{thisWidth}}" height="11" fill="#0b3d6e"></rect>
        <text x="{{thisTextX}}" y="{{thisTextY}}" font-size="11" fill="#1b1b1b">{{thisText}}</text>
        <rect x="200" y="{{lastY}}" width="{{lastWidth}}" height="11" fill="#9db4cc"></rect>
        <text x="{{lastTextX}}" y="{{lastTextY}}" font-size="11" fill="#1b1b1b">{{lastText}}</text>
        {{/bars}}
        </svg>
        {{/hasBars}}
        {{^hasBars}}<p>本月和上月都没有可计算的数据。</p>{{/hasBars}}
        {{/chart}}
        """

    static let rates = """
        <form method="get" action="/rates" class="inline">
        <label for="month">月份</label><input type="month" id="month" name="month" value="{{month}}">
        <button type="submit">查看</button>
        </form>
        <h2>全县（本月 {{month}}，上月 {{previous}}）</h2>
        <table class="rates">
        <thead><tr><th scope="col">指标</th><th scope="col">本月</th><th scope="col">上月</th></tr></thead>
        <tbody>{{#county}}<tr><th scope="row">{{label}}</th>{{#values}}<td>{{.}}</td>{{/values}}</tr>{{/county}}</tbody>
        </table>
        <p>{{overdue}}</p>
        {{#groups}}
        <section class="rate-group">
        <h2>{{title}}</h2>
        \(chartSVG)
        <table class="rates">
        <thead><tr><th scope="col">{{title}}（本月）</th>{{#headers}}<th scope="col">{{.}}</th>{{/headers}}</tr></thead>
        <tbody>{{#rows}}<tr><th scope="row">{{label}}</th>{{#values}}<td>{{.}}</td>{{/values}}</tr>{{/rows}}</tbody>
        </table>
        </section>
        {{/groups}}
        """

    static let enterprise = """
        <h2>{{name}}</h2>
        {{#visitLink}}<p><a href="{{.}}" class="button">新增走访</a></p>{{/visitLink}}
        <dl class="facts">{{#facts}}<dt>{{label}}</dt><dd>{{value}}</dd>{{/facts}}</dl>
        <p>包联领导：{{#cadres}}{{.}} {{/cadres}}</p>
        <h2>诉求（共 {{demandCount}} 件）</h2>
        {{#hasDemands}}
        \(demandRows)
        {{/hasDemands}}
        {{^hasDemands}}<p>本机没有这家企业的诉求。</p>{{/hasDemands}}
        <h2>走访记录</h2>
        {{#hasVisits}}
        <table>
        <thead><tr><th scope="col">走访日期</th><th scope="col">走访方式</th><th scope="col">企业服务日</th><th scope="col">走访干部</th><th scope="col">交流内容</th><th scope="col">编号</th></tr></thead>
        <tbody>
        {{#visits}}<tr><td>{{date}}</td><td>{{mode}}</td><td>{{serviceDay}}</td><td>{{cadre}}</td><td>{{topics}}</td><td>{{handle}}</td></tr>{{/visits}}
        </tbody>
        </table>
        {{/hasVisits}}
        {{^hasVisits}}<p>本机没有这家企业的走访记录。</p>{{/hasVisits}}
        """

    static let device = """
        <dl class="facts">{{#facts}}<dt>{{label}}</dt><dd>{{value}}</dd>{{/facts}}</dl>
        <p class="note">核对指纹：运维人员登记本机时看到的指纹应与上面的“本机公钥指纹”一致；县根密钥指纹应与运维人员公布的一致。</p>
        <h2>字号</h2>
        <form method="post" action="/device/font" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="radio" id="font-standard" name="size" value="standard"{{^large}} checked{{/large}}><label for="font-standard">标准</label>
        <input type="radio" id="font-large" name="size" value="large"{{#large}} checked{{/large}}><label for="font-large">大字</label>
        <button type="submit">保存字号</button>
        </form>
        """

    static let export = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        <section aria-labelledby="ledger-title">
        <h2 id="ledger-title">工作台账</h2>
        <form method="post" action="/export/ledger" class="filters">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="checkbox" id="unresolved" name="unresolved" value="on"{{#unresolved}} checked{{/unresolved}}><label for="unresolved">只导出未办结的</label>
        <input type="checkbox" id="overdue" name="overdue" value="on"{{#overdue}} checked{{/overdue}}><label for="overdue">只导出超期的</label>
        <label for="department">牵头或配合单位</label>
        <select id="department" name="department"><option value="">全部</option>{{#departments}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/departments}}</select>
        <label for="cadre">包联领导</label>
        <select id="cadre" name="cadre"><option value="">全部</option>{{#cadres}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/cadres}}</select>
        <label for="township">所属镇街/园区</label>
        <select id="township" name="township"><option value="">全部</option>{{#townships}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/townships}}</select>
        <label for="category">诉求类别</label>
        <select id="category" name="category"><option value="">全部</option>{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select>
        <label for="from">登记日期自</label><input type="date" id="from" name="from" value="{{from}}">
        <label for="to">至</label><input type="date" id="to" name="to" value="{{to}}">
        <label for="ledger-format">格式</label>
        <select id="ledger-format" name="format"><option value="xlsx">Excel（.xlsx）</option><option value="csv">CSV（.csv）</option></select>
        <button type="submit" id="export-ledger">导出工作台账</button>
        </form>
        </section>
        <section aria-labelledby="monthly-title">
        <h2 id="monthly-title">月调度</h2>
        <form method="post" action="/export/monthly" class="filters">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="month">月份</label><input type="month" id="month" name="month" value="{{month}}" required>
        <label for="monthly-format">格式</label>
        <select id="monthly-format" name="format"><option value="xlsx">Excel（.xlsx）</option><option value="csv">CSV（.csv）</option></select>
        <button type="submit">导出月调度</button>
        </form>
        </section>
        <p>每份导出都由本机密钥签名，并附签名文件（.sig）；收到文件的人可在 <a href="/export/verify">核验</a> 页检查文件是否被改动。</p>
        """

    static let exportReady = """
        <p class="saved" role="status">已导出并签名：{{name}}（{{rows}} 行，{{size}} 字节，BLAKE2b-256 {{hash}}…）。</p>
        <p>签名人 {{signer}}，签于 {{signedAt}}。</p>
        <ul>
        <li><a href="{{file}}" id="download-file" download>下载文件 {{name}}</a></li>
        <li><a href="{{signature}}" id="download-signature" download>下载签名文件 {{name}}.sig</a>（与文件一同发送）</li>
        </ul>
        <p><a href="/export">返回导出</a></p>
        """

    static let verify = """
        {{#result}}
        <div class="{{#verified}}saved{{/verified}}{{^verified}}error{{/verified}}" role="status">
        {{#lines}}<p>{{.}}</p>{{/lines}}
        </div>
        {{/result}}
        <form method="post" action="/export/verify" enctype="multipart/form-data" class="action">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="file">导出的文件</label><input type="file" id="file" name="file" required></p>
        <p><label for="signature">签名文件（.sig）</label><input type="file" id="signature" name="signature" accept=".sig" required></p>
        <button type="submit">核验</button>
        </form>
        """

    static let sync = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        {{#notices}}<p class="saved" role="status">{{.}}</p>{{/notices}}
        <section aria-labelledby="hub-title">
        <h2 id="hub-title">与县级平台同步</h2>
        <p>上次成功同步：{{#lastSync}}{{.}}{{/lastSync}}{{^lastSync}}尚未同步过{{/lastSync}}；之后本机新写的提交 <strong>{{waiting}}</strong> 条待同步{{#hasRefused}}；上次被平台拒收的记录 <strong>{{refusedCount}}</strong> 条（在诉求列表中标为“被拒”）{{/hasRefused}}。</p>
        <form method="post" action="/sync" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="kind" value="hub">
        <label for="hub-address">县级平台地址</label>
        <input id="hub-address" name="address" value="{{hub}}" placeholder="http://10.1.2.3:8080" required>
        <button type="submit" id="sync-now">立即同步</button>
        </form>
        </section>
        {{#hasJob}}
        <section id="sync-live" data-events="/sync/events" data-running="{{#jobRunning}}yes{{/jobRunning}}{{^jobRunning}}no{{/jobRunning}}" aria-live="polite" aria-labelledby="job-title">
        <h2 id="job-title">{{#jobRunning}}正在同步{{/jobRunning}}{{^jobRunning}}最近一次同步{{/jobRunning}}：{{jobTarget}}</h2>
        <p>状态：<span id="sync-phase">{{jobPhase}}</span>，已处理 <span id="sync-count">{{jobCommits}}</span> 条提交。{{#jobRunning}}<a href="/sync">刷新查看结果</a>{{/jobRunning}}</p>
        {{#jobError}}<p class="error" role="alert">{{.}}</p>{{/jobError}}
        <ul id="sync-result">{{#jobResult}}<li>{{.}}</li>{{/jobResult}}</ul>
        </section>
        {{/hasJob}}
        <section aria-labelledby="peer-title">
        <h2 id="peer-title">与局域网内的笔记本同步</h2>
        <p>对方在其笔记本上运行 <code>fieldlog serve --host 0.0.0.0</code>，并告诉您它打印的地址。</p>
        <form method="post" action="/sync" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="kind" value="peer">
        <label for="peer-address">对方地址</label>
        <input id="peer-address" name="address" placeholder="http://192.168.1.23:8081" required>
        <button type="submit">与该笔记本同步</button>
        </form>
        </section>
        <section aria-labelledby="usb-title">
        <h2 id="usb-title">U 盘包</h2>
        <form method="post" action="/sync/bundle" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="recipient">导出给</label>
        <select id="recipient" name="recipient" required><option value="">请选择接收设备</option>{{#devices}}<option value="{{value}}">{{label}}</option>{{/devices}}</select>
        <button type="submit">导出 U 盘包</button>
        </form>
        <p class="note">包中只有接收设备和本机都可读的内容。</p>
        <form method="post" action="/sync/import" enctype="multipart/form-data" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="bundle">导入 U 盘包</label>
        <input type="file" id="bundle" name="bundle" accept=".bundle" required>
        <button type="submit">导入</button>
        </form>
        </section>
        """

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
        <select id="enterprise" name="enterprise" required{{#enterpriseError}} aria-invalid="true" aria-describedby="enterprise-error"{{/enterpriseError}}><option value="">请选择</option>{{#enterprises}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/enterprises}}</select>{{#enterpriseError}}<span class="field-error" id="enterprise-error">{{.}}</span>{{/enterpriseError}}</p>
        <p><label for="date">走访日期</label><input type="date" id="date" name="date" value="{{date}}" required{{#dateError}} aria-invalid="true" aria-describedby="date-error"{{/dateError}}>{{#dateError}}<span class="field-error" id="date-error">{{.}}</span>{{/dateError}}</p>
        <p><label for="mode">走访方式</label><select id="mode" name="mode">{{#modes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/modes}}</select>{{#modeError}}<span class="field-error">{{.}}</span>{{/modeError}}</p>
        <p><input type="checkbox" id="serviceDay" name="serviceDay" value="on"{{#serviceDay}} checked{{/serviceDay}}><label for="serviceDay">企业服务日走访</label></p>
        <p><label for="participants">参加人员</label><input id="participants" name="participants" value="{{participants}}"></p>
        <p><label for="topics">走访主题</label><input id="topics" name="topics" value="{{topics}}"></p>
        <p><label for="notes">情况记录</label><textarea id="notes" name="notes" rows="3">{{notes}}</textarea></p>
        </fieldset>
        <fieldset><legend>企业诉求</legend>
        <p><input type="checkbox" id="noDemands" name="noDemands" value="on"{{#noDemands}} checked{{/noDemands}}><label for="noDemands">本次无诉求</label>{{#noDemandsError}}<span class="field-error">{{.}}</span>{{/noDemandsError}}</p>
        {{#rows}}
        <fieldset class="demand-row"><legend>诉求 {{index}}（不填标题则不登记）</legend>
        <p><label for="title{{index}}">诉求标题</label><input id="title{{index}}" name="title{{index}}" value="{{title}}"{{#titleError}} aria-invalid="true" aria-describedby="title{{index}}-error"{{/titleError}}>{{#titleError}}<span class="field-error" id="title{{index}}-error">{{.}}</span>{{/titleError}}</p>
        <p><label for="content{{index}}">诉求内容</label><textarea id="content{{index}}" name="content{{index}}" rows="2"{{#contentError}} aria-invalid="true" aria-describedby="content{{index}}-error"{{/contentError}}>{{content}}</textarea>{{#contentError}}<span class="field-error" id="content{{index}}-error">{{.}}</span>{{/contentError}}</p>
        <p><label for="expected{{index}}">期望结果</label><input id="expected{{index}}" name="expected{{index}}" value="{{expected}}"></p>
        <p><label for="type{{index}}">诉求类型</label><select id="type{{index}}" name="type{{index}}">{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select>
        <label for="category{{index}}">诉求类别</label><select id="category{{index}}" name="category{{index}}">{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select>
        <label for="urgency{{index}}">紧急程度</label><select id="urgency{{index}}" name="urgency{{index}}">{{#urgencies}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/urgencies}}</select>{{#choiceError}}<span class="field-error">{{.}}</span>{{/choiceError}}</p>
        </fieldset>
        {{/rows}}
        </fieldset>
        <fieldset><legend>其他</legend>
        <p><label for="solvedOnSpot">现场解决的事项</label><textarea id="solvedOnSpot" name="solvedOnSpot" rows="2">{{solvedOnSpot}}</textarea></p>
        <p><label for="nextVisit">下次计划走访</label><input type="date" id="nextVisit" name="nextVisit" value="{{nextVisit}}"{{#nextVisitError}} aria-invalid="true" aria-describedby="nextVisit-error"{{/nextVisitError}}>{{#nextVisitError}}<span class="field-error" id="nextVisit-error">{{.}}</span>{{/nextVisitError}}</p>
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
        <body{{#large}} class="large"{{/large}}>
        <header>
        <nav aria-label="主导航">
        <a href="/">工作台</a>
        <a href="/demands">诉求</a>
        <a href="/visits/new">新增走访</a>
        <a href="/demands/new">新增诉求</a>
        <a href="/conflicts">冲突</a>
        <a href="/sync">同步</a>
        <a href="/export">导出</a>
        {{#links}}<a href="{{href}}">{{label}}</a>
        {{/links}}<a href="/device">设备</a>
        </nav>
        <p class="who">{{county}} · {{role}} · 今天 {{today}}</p>
        </header>
        <main>
        <h1>{{title}}</h1>
        {{#notice}}<p class="saved" role="status">{{.}}</p>{{/notice}}
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
        <td>{{#flags}}<span class="flag {{kind}}">{{text}}</span> {{/flags}}{{#badge}}<span class="flag {{kind}}">{{text}}</span>{{/badge}}</td>
        </tr>
        {{/demands}}
        </tbody>
        </table>
        """

    static let home = """
        {{#hasEnterprises}}
        <h2>我包联的企业</h2>
        <table class="enterprises">
        <thead><tr><th scope="col">企业</th><th scope="col">包联角色</th><th scope="col">最近走访</th><th scope="col">距今</th><th scope="col">未办结诉求</th></tr></thead>
        <tbody>
        {{#enterprises}}<tr><td><a href="{{link}}">{{name}}</a></td><td>{{role}}</td><td>{{lastVisit}}</td><td>{{sinceVisit}}</td><td>{{openDemands}}</td></tr>{{/enterprises}}
        </tbody>
        </table>
        {{/hasEnterprises}}
        <section class="summary" aria-label="概况">
        <p><strong>{{openCount}}</strong> 件诉求未办结，其中超期 <strong>{{overdueCount}}</strong> 件，黄牌/红牌 <strong>{{cardCount}}</strong> 件。</p>
        <p>未决字段冲突 <strong>{{conflictCount}}</strong> 处；暂存（等待条件）的提交 <strong>{{heldCount}}</strong> 条；本机待同步的提交 <strong>{{waitingCount}}</strong> 条（<a href="/sync">同步</a>）。</p>
        </section>
        <h2>未办结的诉求</h2>
        {{#isCut}}<p>下面是最紧迫的 50 件（超期的在前，再按办理时限）；全部 {{openCount}} 件见 <a href="/demands">诉求</a>。</p>{{/isCut}}
        {{#hasDemands}}
        \(demandRows)
        {{/hasDemands}}
        {{^hasDemands}}<p>没有未办结的诉求。</p>{{/hasDemands}}
        """

    static let demands = """
        <form method="get" action="/demands" class="filters" aria-label="查询条件">
        {{#list}}<input type="hidden" name="view" value="{{.}}">{{/list}}
        <label for="state">状态</label>
        <select id="state" name="state">
        <option value="">全部</option>
        {{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/states}}
        </select>
        <label for="lead">牵头单位</label>
        <select id="lead" name="lead"><option value="">全部</option>{{#leads}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/leads}}</select>
        <label for="category">诉求类别</label>
        <select id="category" name="category"><option value="">全部</option>{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select>
        <label for="township">所属镇街/园区</label>
        <select id="township" name="township"><option value="">全部</option>{{#townships}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/townships}}</select>
        <input type="checkbox" id="overdue" name="overdue" value="on"{{#overdue}} checked{{/overdue}}><label for="overdue">只看超期</label>
        <label for="from">登记日期自</label><input type="date" id="from" name="from" value="{{from}}">
        <label for="to">至</label><input type="date" id="to" name="to" value="{{to}}">
        <label for="text">标题、内容或编号</label>
        <input id="text" name="text" value="{{text}}">
        <label for="sync">同步情况</label>
        <select id="sync" name="sync">
        <option value="">全部</option>
        {{#syncKinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/syncKinds}}
        </select>
        <button type="submit">查询</button>
        <a href="/demands{{#list}}?view={{.}}{{/list}}">重置</a>
        </form>
        <p>共 {{total}} 条，第 {{page}}/{{pages}} 页</p>
        {{#hasDemands}}
        \(demandRows)
        {{/hasDemands}}
        {{^hasDemands}}<p>没有符合条件的诉求。</p>{{/hasDemands}}
        <nav aria-label="翻页">{{#previous}}<a href="{{.}}">上一页</a> {{/previous}}{{#next}}<a href="{{.}}">下一页</a>{{/next}}</nav>
        """

    static let demand = """
        <p class="state">诉求编号 {{number}} · 当前状态：<strong>{{state}}</strong> {{#flags}}<span class="flag {{kind}}">{{text}}</span> {{/flags}}{{#badge}}<span class="flag {{kind}}">{{text}}</span>{{/badge}}</p>
        <h2>{{title}}</h2>
        <dl class="facts">
        {{#facts}}<dt>{{label}}</dt><dd>{{value}}</dd>{{/facts}}
        </dl>
        {{#reasons}}<p class="note">{{.}}</p>{{/reasons}}
        {{#ahead}}<p class="note">{{.}}</p>{{/ahead}}
        <section class="edit" aria-labelledby="edit-title-heading">
        <h2 id="edit-title-heading">修改诉求内容</h2>
        {{#editError}}<p class="error" role="alert">{{.}}</p>{{/editError}}
        {{#canEdit}}
        <form method="post" action="{{link}}/edit" class="action">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset><legend>修改诉求内容（修改会签名并记入流转日志）</legend>
        {{#editFields}}
        <p><label for="{{id}}">{{label}}{{#required}}（必填）{{/required}}</label>
        {{#isArea}}<textarea id="{{id}}" name="{{name}}" rows="3">{{value}}</textarea>{{/isArea}}
        {{#isText}}<input id="{{id}}" name="{{name}}" value="{{value}}"{{#required}} required{{/required}}>{{/isText}}
        {{#isSelect}}<select id="{{id}}" name="{{name}}">{{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/options}}</select>{{/isSelect}}
        </p>
        {{/editFields}}
        <p><label for="edit-comment">修改说明</label><input id="edit-comment" name="comment"></p>
        <button type="submit">保存修改</button>
        </fieldset>
        </form>
        {{/canEdit}}
        {{^canEdit}}<p>本机不能修改该诉求的内容：</p><ul>{{#editBlocks}}<li>{{.}}</li>{{/editBlocks}}</ul>{{/canEdit}}
        </section>
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
        <h2>修改记录</h2>
        <table class="changes">
        <thead><tr><th scope="col">时间</th><th scope="col">签名人</th><th scope="col">字段</th><th scope="col">值</th><th scope="col">状态</th></tr></thead>
        <tbody>
        {{#changes}}
        <tr><td>{{time}}</td><td>{{author}}</td><td>{{field}}</td><td>{{value}}</td><td>{{status}}</td></tr>
        {{/changes}}
        </tbody>
        </table>
        """
}

/// The style sheet and the script, served from the binary. No web fonts: a system CJK font stack.
package enum WebAssets {
    package static let css = """
        body.large { font-size: 125%; }
        a.button { display: inline-block; padding: .3rem .8rem; background: #0b3d6e; color: #fff; border-radius: .2rem; }
        @media print { header, form, nav { display: none; } @page { size: A4 landscape; margin: 12mm; } }
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
        .flag.ok { background: #d8f3dc; }
        .saved { border-left: .3rem solid #2a9d8f; padding: .5rem 1rem; background: #fff; }
        form.inline { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: .5rem 0; }
        .field-error { display: block; color: #a4161a; font-weight: bold; margin: .2rem 0 0 8.5rem; }
        .field-error::before { content: "✗ "; }
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
    package static let js = """
        "use strict";
        document.addEventListener("submit", function (event) {
          var question = event.target.getAttribute("data-confirm");
          if (question && !window.confirm(question)) { event.preventDefault(); }
        });
        // 同步: follows a running sync (server-sent events) and shows the result when it ends.
        document.addEventListener("DOMContentLoaded", function () {
          var live = document.getElementById("sync-live");
          if (!live || live.getAttribute("data-running") !== "yes" || !window.EventSource) { return; }
          var phase = document.getElementById("sync-phase");
          var count = document.getElementById("sync-count");
          var source = new EventSource(live.getAttribute("data-events"));
          source.onmessage = function (message) {
            var snapshot = JSON.parse(message.data);
            phase.textContent = snapshot.phase;
            count.textContent = String(snapshot.commits);
            if (!snapshot.running) { source.close(); window.location.reload(); }
          };
          source.onerror = function () { source.close(); };
        });
        """
}
