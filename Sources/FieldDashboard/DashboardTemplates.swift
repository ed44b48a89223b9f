import FieldWeb

/// The console's templates, compiled into the binary (as the local app's are). Mustache: `{{x}}`
/// is escaped for HTML; `{{{body}}}` only in the layout, for a page already rendered with escaping.
enum DashboardTemplates {
    static let all: [String: String] = [
        "layout": layout, "refusal": refusal, "login": login, "overview": overview, "ledger": ledger,
        "export": export, "audit": audit, "report": report, "conflicts": conflicts, "devices": devices,
        "revoke": revoke, "readmit": readmit, "enroll": enroll, "registry": registry, "history": history,
        "preview": preview,
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · {{county}}县枢纽控制台</title>
        {{#refresh}}<meta http-equiv="refresh" content="{{.}}">{{/refresh}}
        <link rel="stylesheet" href="/assets/console.css">
        <script src="/assets/console.js" defer></script>
        </head>
        <body>
        <header>
        <p class="who"><strong>{{county}} 企业诉求县枢纽</strong> · 今天 {{today}}</p>
        {{#user}}
        <nav aria-label="主导航">{{#nav}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a>
        {{/nav}}</nav>
        <form method="post" action="/logout" class="logout">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <span>{{.}}（{{role}}）</span> <button type="submit">退出</button>
        </form>
        {{/user}}
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

    static let login = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        <form method="post" action="/login" class="login">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="name">用户名<span class="required">*</span>（必填）</label><input id="name" name="name" value="{{name}}" autocomplete="username" required></p>
        <p><label for="password">密码<span class="required">*</span>（必填）</label><input id="password" name="password" type="password" autocomplete="current-password" required></p>
        <p><label for="code">动态验证码</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6"> <span class="note">（账号启用了动态验证码时必填）</span></p>
        <button type="submit">登录</button>
        </form>
        <p class="note">{{county}}企业诉求工作台账的县枢纽控制台。账号由运维人员用 fieldlog hub user add 开设；连续输错会暂停登录 15 分钟。</p>
        """

    static let overview = """
        <form method="get" action="/" class="inline">
        <label for="month">月份</label><input type="month" id="month" name="month" value="{{month}}">
        <button type="submit">查看</button>
        </form>
        <div class="cards">
        <section aria-labelledby="states-title">
        <h2 id="states-title">诉求状态（共 {{total}} 件）</h2>
        <table class="counts">
        <thead><tr><th scope="col">状态</th><th scope="col">件数</th></tr></thead>
        <tbody>{{#states}}<tr><th scope="row">{{#link}}<a href="{{.}}">{{label}}</a>{{/link}}{{^link}}{{label}}{{/link}}</th><td>{{count}}</td></tr>{{/states}}</tbody>
        </table>
        </section>
        <section aria-labelledby="flags-title">
        <h2 id="flags-title">超期、亮牌与督办</h2>
        <table class="counts">
        <thead><tr><th scope="col">项目</th><th scope="col">件数</th></tr></thead>
        <tbody>{{#flags}}<tr><th scope="row">{{#link}}<a href="{{.}}">{{label}}</a>{{/link}}{{^link}}{{label}}{{/link}}</th><td>{{count}}</td></tr>{{/flags}}</tbody>
        </table>
        </section>
        <section aria-labelledby="rates-title">
        <h2 id="rates-title">比率（本月 {{month}}，上月 {{previous}}）</h2>
        <table class="counts">
        <thead><tr><th scope="col">指标</th><th scope="col">本月</th><th scope="col">上月</th></tr></thead>
        <tbody>{{#rates}}<tr><th scope="row">{{label}}</th><td>{{now}}</td><td>{{then}}</td></tr>{{/rates}}</tbody>
        </table>
        <p>{{overdueNote}}</p>
        </section>
        </div>
        {{#charts}}
        <section class="chart">
        <h2>{{title}}</h2>
        \(WebTemplates.chartSVG)
        </section>
        {{/charts}}
        """

    static let ledger = """
        <form method="get" action="/ledger" class="filters" aria-label="查询条件">
        <label for="status">状态</label>
        <select id="status" name="status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select>
        <label for="lead">牵头单位</label>
        <select id="lead" name="lead"><option value="">全部</option>{{#leads}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/leads}}</select>
        <label for="cadre">包联领导或登记干部</label>
        <select id="cadre" name="cadre"><option value="">全部</option>{{#cadres}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/cadres}}</select>
        <label for="township">所属镇街/园区</label>
        <select id="township" name="township"><option value="">全部</option>{{#townships}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/townships}}</select>
        <label for="category">诉求类别</label>
        <select id="category" name="category"><option value="">全部</option>{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select>
        <input type="checkbox" id="overdue" name="overdue" value="on"{{#overdue}} checked{{/overdue}}><label for="overdue">只看超期</label>
        <label for="from">登记日期自</label><input type="date" id="from" name="from" value="{{from}}">
        <label for="to">至</label><input type="date" id="to" name="to" value="{{to}}">
        <label for="sort">排序</label>
        <select id="sort" name="sort">{{#sorts}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/sorts}}</select>
        <input type="checkbox" id="desc" name="dir" value="desc"{{#descending}} checked{{/descending}}><label for="desc">倒序</label>
        <label for="size">每页</label>
        <select id="size" name="size">{{#sizes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/sizes}}</select>
        <details class="columns"><summary>显示的列</summary>
        {{#columns}}<span class="column"><input type="checkbox" id="col-{{index}}" name="col" value="{{index}}"{{#checked}} checked{{/checked}}><label for="col-{{index}}">{{label}}</label></span>
        {{/columns}}</details>
        <button type="submit">查询</button>
        <a href="/ledger">重置</a>
        </form>
        <p class="total">共 {{total}} 条（其中超期 {{overdueCount}} 条） 第 {{page}}/{{pages}} 页</p>
        <p class="note">控制台只读显示诉求：受理、交办、签收、答复、督办等操作须由本人设备的密钥签名，请在各自的 fieldlog 本地应用（fieldlog ui）中办理。</p>
        <form method="post" action="/ledger/export" class="inline export">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">
        {{/hidden}}<label for="format">导出格式</label>
        <select id="format" name="format"><option value="xlsx">Excel（.xlsx）</option><option value="csv">CSV（.csv，带 BOM）</option><option value="json">JSON</option></select>
        <button type="submit" id="export-ledger">导出当前查询结果（共 {{total}} 条）</button>
        </form>
        {{#hasRows}}
        <div class="wide">
        <table class="ledger">
        <thead><tr>{{#headers}}<th scope="col">{{#link}}<a href="{{.}}">{{label}}{{mark}}</a>{{/link}}{{^link}}{{label}}{{/link}}</th>{{/headers}}</tr></thead>
        <tbody>{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>
        {{/rows}}</tbody>
        </table>
        </div>
        {{/hasRows}}
        {{^hasRows}}<p>没有符合条件的诉求。</p>{{/hasRows}}
        <nav class="pager" aria-label="翻页">{{#previous}}<a href="{{.}}" rel="prev">上一页</a> {{/previous}}{{#next}}<a href="{{.}}" rel="next">下一页</a>{{/next}}</nav>
        """

    static let export = """
        {{#failure}}<p class="error" role="alert">{{.}}</p>{{/failure}}
        {{#running}}
        <p role="status" class="working">正在导出 {{name}}，已写 {{rows}} 行……本页每 2 秒自动刷新。</p>
        {{/running}}
        {{^running}}
        {{^failure}}
        <p class="saved" role="status">已导出并由县枢纽密钥签名：{{name}}（{{rows}} 行，{{size}} 字节，BLAKE2b-256 {{hash}}…），签于 {{signedAt}}。</p>
        <ul>
        <li><a href="{{file}}" id="download-file" download>下载文件 {{name}}</a></li>
        <li><a href="{{signature}}" id="download-signature" download>下载签名文件 {{name}}.sig</a></li>
        </ul>
        <p>收到文件的人可用 fieldlog export verify 核验文件是否被改动、由谁签名。</p>
        {{/failure}}
        {{/running}}
        <p><a href="/ledger">返回工作台账</a></p>
        """

    /// A printed report: its heading, 填报单位 and 截至日期 on paper; on screen also the month
    /// chooser and the export form.
    static let report = """
        <div class="print-head">
        <p class="print-title">{{heading}}</p>
        <p>填报单位：{{unit}}　截至日期：{{asOf}}</p>
        </div>
        {{#month}}
        <form method="get" action="/monthly" class="inline">
        <label for="month">月份</label><input type="month" id="month" name="month" value="{{.}}">
        <button type="submit">查看</button>
        </form>
        {{/month}}
        <p class="note">{{note}}</p>
        <form method="post" action="{{action}}" class="inline export">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">
        {{/hidden}}<label for="format">导出格式</label>
        <select id="format" name="format"><option value="xlsx">Excel（.xlsx）</option><option value="csv">CSV（.csv，带 BOM）</option><option value="json">JSON</option></select>
        <button type="submit">导出</button>
        <span class="note">打印：用浏览器的“打印”，按 A4 横向排版，每页有页码。</span>
        </form>
        {{#tables}}
        <section class="report">
        <h2>{{name}}{{count}}</h2>
        {{#hasRows}}
        <div class="wide">
        <table class="ledger">
        <thead><tr>{{#headers}}<th scope="col">{{.}}</th>{{/headers}}</tr></thead>
        <tbody>{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>
        {{/rows}}</tbody>
        </table>
        </div>
        {{/hasRows}}
        {{^hasRows}}<p>无。</p>{{/hasRows}}
        </section>
        {{/tables}}
        """

    static let conflicts = """
        <form method="get" action="/conflicts" class="inline" aria-label="查询条件">
        <label for="kind">类型</label>
        <select id="kind" name="kind"><option value="">全部</option>{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select>
        <label for="table">记录</label>
        <select id="table" name="table"><option value="">全部</option>{{#tables}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/tables}}</select>
        <button type="submit">查询</button>
        <a href="/conflicts">重置</a>
        </form>
        <p class="note">冲突在此只读：数据冲突由有关设备在“冲突”页或用 fieldlog conflicts resolve 裁定；流转冲突由营商办用 fieldlog demand settle 裁定。</p>
        {{#showCells}}
        <h2>数据冲突</h2>
        {{#hasCells}}
        <table>
        <thead><tr><th scope="col">记录</th><th scope="col">字段</th><th scope="col">各方的值（作者，时间）</th></tr></thead>
        <tbody>{{#cells}}<tr><td>{{record}}</td><td>{{column}}</td><td><ul>{{#values}}<li>{{value}}（{{author}}，{{time}}）</li>{{/values}}</ul></td></tr>
        {{/cells}}</tbody>
        </table>
        {{/hasCells}}
        {{^hasCells}}<p>没有未裁定的数据冲突。</p>{{/hasCells}}
        {{/showCells}}
        {{#showWorkflow}}
        <h2>流转冲突</h2>
        {{#hasWorkflow}}
        <table>
        <thead><tr><th scope="col">诉求编号</th><th scope="col">并行的操作（编号 · 时间 · 操作人 · 操作）</th></tr></thead>
        <tbody>{{#workflow}}<tr><td>{{number}}</td><td><ul>{{#branches}}<li>{{.}}</li>{{/branches}}</ul></td></tr>
        {{/workflow}}</tbody>
        </table>
        {{/hasWorkflow}}
        {{^hasWorkflow}}<p>没有待裁定的流转冲突。</p>{{/hasWorkflow}}
        {{/showWorkflow}}
        """

    static let devices = """
        {{#notice}}<p class="saved" role="status">{{.}}</p>{{/notice}}
        <form method="get" action="/devices" class="inline" aria-label="查询条件">
        <label for="status">状态</label>
        <select id="status" name="status"><option value="">全部</option>{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select>
        <button type="submit">查询</button>
        <a href="/devices">重置</a>
        {{#enroll}}<a href="{{.}}" class="button">生成登记码</a>{{/enroll}}
        </form>
        <p>共登记 {{total}} 台设备；超过 7 天未同步 {{silentCount}} 台；已吊销 {{revokedCount}} 台。同步情况每 5 秒写入一次。</p>
        {{#hasRows}}
        <div class="wide">
        <table class="ledger">
        <thead><tr><th scope="col">设备编号</th><th scope="col">使用人</th><th scope="col">角色</th><th scope="col">登记时间</th><th scope="col">最近同步</th><th scope="col">推送提交</th><th scope="col">县枢纽存有的提交</th><th scope="col">被拒绝的请求</th><th scope="col">时钟偏差</th><th scope="col">状态</th><th scope="col">公钥指纹</th><th scope="col">操作</th></tr></thead>
        <tbody>{{#rows}}<tr><td>{{code}}</td><td>{{holder}}</td><td>{{role}}</td><td>{{enrolledAt}}</td><td>{{lastSync}}{{#silent}} <span class="flag alert">超过 7 天未同步</span>{{/silent}}</td><td>{{pushed}}</td><td>{{stored}}</td><td>{{#refused}}{{.}}<br>{{/refused}}</td><td>{{skew}}</td><td>{{state}}</td><td>{{fingerprint}}</td><td>{{#revoke}}<a href="{{.}}">吊销</a>{{/revoke}}</td></tr>
        {{/rows}}</tbody>
        </table>
        </div>
        {{/hasRows}}
        {{^hasRows}}<p>没有符合条件的设备。</p>{{/hasRows}}
        <h2>分叉（已隔离）的设备</h2>
        {{#hasForks}}
        <p class="note">同一设备在同一范围、同一序号签了两份不同的提交（例如同一密钥在两台电脑上使用）。自分叉处起该设备在此范围的提交不计入各副本，两份提交均保存为证据。</p>
        <table>
        <thead><tr><th scope="col">设备</th><th scope="col">范围</th><th scope="col">分叉序号</th><th scope="col">同一序号的各份提交（编号，时间）</th><th scope="col">现状</th><th scope="col">运维决定</th><th scope="col">操作</th></tr></thead>
        <tbody>{{#forks}}<tr><td>{{device}}</td><td>{{scope}}</td><td>{{sequence}}</td><td><ul>{{#commits}}<li>{{.}}</li>{{/commits}}</ul></td><td>{{state}}</td><td>{{#decisions}}{{.}}<br>{{/decisions}}{{^decisions}}尚未决定{{/decisions}}</td><td>{{#readmit}}<a href="{{.}}">决定恢复哪一分支</a>{{/readmit}}</td></tr>
        {{/forks}}</tbody>
        </table>
        {{/hasForks}}
        {{^hasForks}}<p>没有分叉的设备。</p>{{/hasForks}}
        """

    static let revoke = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        <p>要吊销的设备：<strong>{{code}}</strong>（{{holder}}），公钥指纹 {{fingerprint}}。</p>
        <p>确定吊销该设备吗？此操作不可撤销：吊销后该设备的请求一律被拒绝，它此后的提交在任何副本上都不被接受。吊销由县根密钥签名的登记提交记录。</p>
        <form method="post" action="/devices/revoke" class="action">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="key" value="{{key}}">
        <p><label for="confirm">请输入设备编号 {{code}} 以确认<span class="required">*</span>（必填）</label><input id="confirm" name="confirm" required autocomplete="off"></p>
        <button type="submit">吊销设备</button> <a href="/devices">取消</a>
        </form>
        """

    static let readmit = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        <p>设备 <strong>{{code}}</strong>（{{holder}}）在{{enterprise}}的数据流，在第 {{sequence}} 条处有两份以上不同的提交：同一密钥在两台电脑上使用过。自该处起，这个数据流在各副本上都不计入。</p>
        <p>请核实哪台电脑是该干部实际使用的，再决定恢复哪一分支：所选提交及其后续提交重新计入，另一分支留作证据；也可以不恢复任何分支，只记录决定。决定由县根密钥签名的登记提交记录，可以改变，但每次都留有记录。另一台电脑请重新生成密钥并登记。</p>
        {{#decisions}}<p class="note">已有决定：{{.}}</p>{{/decisions}}
        <form method="post" action="/devices/readmit" class="action">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="key" value="{{key}}">
        <input type="hidden" name="scope" value="{{scope}}">
        <fieldset><legend>第 {{sequence}} 条处要恢复的分支<span class="required">*</span>（必选）</legend>
        {{#branches}}<p class="choice"><input type="radio" id="branch-{{short}}" name="branch" value="{{id}}"{{#checked}} checked{{/checked}} required><label for="branch-{{short}}">提交 {{short}}…，签于 {{time}}</label></p>
        {{/branches}}<p class="choice"><input type="radio" id="branch-none" name="branch" value="none"{{#noneChecked}} checked{{/noneChecked}}><label for="branch-none">不恢复任何分支（保持排除）</label></p>
        </fieldset>
        <p><label for="note">说明（选填，最多 500 字）</label><input id="note" name="note" maxlength="500" value="{{note}}"></p>
        <p><label for="confirm">请输入设备编号 {{code}} 以确认<span class="required">*</span>（必填）</label><input id="confirm" name="confirm" required autocomplete="off"></p>
        <button type="submit">作出决定</button> <a href="/devices">取消</a>
        </form>
        """

    static let enroll = """
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        {{#code}}
        <section class="code" aria-labelledby="code-title">
        <h2 id="code-title">登记码（只显示这一次）</h2>
        <p class="big"><strong>{{.}}</strong></p>
        <p>有效至 {{expires}}，只能使用一次。在新设备上运行：</p>
        <pre>{{command}}</pre>
        {{#qr}}<figure>{{{.}}}<figcaption>上面命令的二维码</figcaption></figure>{{/qr}}
        <p>县根密钥指纹：{{fingerprint}}（设备登记时核对）。</p>
        </section>
        {{/code}}
        <form method="post" action="/devices/enroll" class="action">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="role">角色<span class="required">*</span>（必填）</label>
        <select id="role" name="role" required><option value="">请选择</option>{{#roles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/roles}}</select></p>
        <p><label for="cadre">干部（包联干部的设备）</label>
        <select id="cadre" name="cadre"><option value="">请选择</option>{{#cadres}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/cadres}}</select></p>
        <p><label for="department">单位（牵头单位的设备）</label>
        <select id="department" name="department"><option value="">请选择</option>{{#departments}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/departments}}</select></p>
        <p><label for="label">设备名称</label><input id="label" name="label" value="{{label}}"></p>
        <p><label for="hours">有效时长（小时）</label><input id="hours" name="hours" type="number" min="1" max="720" value="{{hours}}"></p>
        <button type="submit">生成登记码</button>
        </form>
        """

    static let registry = """
        {{#notice}}<p class="saved" role="status">{{.}}</p>{{/notice}}
        <nav class="tabs" aria-label="登记类别">{{#kinds}}<a href="/registry?kind={{value}}"{{#selected}} aria-current="page"{{/selected}}>{{label}}</a> {{/kinds}}</nav>
        <section aria-labelledby="import-title">
        <h2 id="import-title">导入{{kindLabel}}</h2>
        <form method="post" action="/registry/import" enctype="multipart/form-data" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="kind">类别</label>
        <select id="kind" name="kind">{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select>
        <label for="file">文件（CSV UTF-8 或 .xlsx）<span class="required">*</span>（必填）</label><input type="file" id="file" name="file" accept=".csv,.xlsx" required>
        <button type="submit">上传并预览</button>
        </form>
        <p class="note">上传后先显示每一行将做什么（新增、修改、不变）和每一行的错误；确认之前不会写入任何内容。同一文件可以反复导入：已有的行按名称（企业按统一社会信用代码）更新，从不删除。</p>
        </section>
        <h2>{{kindLabel}}（共 {{total}} 条）</h2>
        {{#hasRows}}
        <div class="wide">
        <table class="ledger">
        <thead><tr>{{#headers}}<th scope="col">{{.}}</th>{{/headers}}<th scope="col">历史</th></tr></thead>
        <tbody>{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}<td><a href="{{history}}">历史</a></td></tr>
        {{/rows}}</tbody>
        </table>
        </div>
        {{/hasRows}}
        {{^hasRows}}<p>还没有登记。</p>{{/hasRows}}
        """

    static let history = """
        <p>{{record}} 的每一次改动，均由作者的密钥签名，最早的在前。<a href="{{back}}">返回登记管理</a></p>
        <table>
        <thead><tr><th scope="col">时间</th><th scope="col">签名人</th><th scope="col">字段</th><th scope="col">值</th><th scope="col">状态</th><th scope="col">提交编号</th></tr></thead>
        <tbody>{{#rows}}<tr><td>{{time}}</td><td>{{author}}</td><td>{{field}}</td><td>{{value}}</td><td>{{status}}</td><td>{{commit}}</td></tr>
        {{/rows}}</tbody>
        </table>
        """

    static let preview = """
        {{#refusal}}<p class="error" role="alert">{{.}}</p>{{/refusal}}
        {{^refusal}}
        <p>文件“{{file}}”（{{kindLabel}}）：{{summary}}；<strong>有错误的行 {{errors}} 行</strong>。</p>
        {{#hasErrors}}<p class="error" role="alert">文件中有错误，未导入任何内容。请按下表改正后重新上传。</p>{{/hasErrors}}
        <table>
        <thead><tr><th scope="col">行号</th><th scope="col">名称</th><th scope="col">将做</th><th scope="col">改动</th><th scope="col">错误</th></tr></thead>
        <tbody>{{#rows}}<tr><td>{{line}}</td><td>{{name}}</td><td>{{action}}</td><td>{{detail}}</td><td>{{#error}}<span class="field-error">{{.}}</span>{{/error}}</td></tr>
        {{/rows}}</tbody>
        </table>
        {{#token}}
        <form method="post" action="/registry/import/commit" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="token" value="{{.}}">
        <button type="submit">确认导入</button> <a href="/registry">取消</a>
        </form>
        {{/token}}
        {{/refusal}}
        <p><a href="/registry">返回登记管理</a></p>
        """

    static let audit = """
        <form method="get" action="/audit" class="inline" aria-label="查询条件">
        <label for="action">操作</label>
        <select id="action" name="action"><option value="">全部</option>{{#actions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/actions}}</select>
        <button type="submit">查询</button>
        <a href="/audit">重置</a>
        </form>
        <p>共 {{total}} 条 第 {{page}}/{{pages}} 页。运维人员对登记的每次改动另有县根密钥签名的登记提交为凭。</p>
        {{#hasRows}}
        <table>
        <thead><tr><th scope="col">时间</th><th scope="col">账号</th><th scope="col">操作</th><th scope="col">结果</th><th scope="col">内容</th><th scope="col">来源地址</th></tr></thead>
        <tbody>{{#rows}}<tr><td>{{at}}</td><td>{{user}}</td><td>{{action}}</td><td>{{outcome}}</td><td>{{detail}}</td><td>{{address}}</td></tr>
        {{/rows}}</tbody>
        </table>
        {{/hasRows}}
        {{^hasRows}}<p>没有记录。</p>{{/hasRows}}
        <nav class="pager" aria-label="翻页">{{#previous}}<a href="{{.}}" rel="prev">上一页</a> {{/previous}}{{#next}}<a href="{{.}}" rel="next">下一页</a>{{/next}}</nav>
        """
}

/// The console's style sheet and script, served from memory.
enum DashboardAssets {
    static let css =
        WebAssets.css + "\n"
            + """
            header { flex-wrap: wrap; }
            header nav a[aria-current=page] { text-decoration: underline; font-weight: bold; }
            form.logout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
            form.login p { margin: .6rem 0; }
            form.login label { display: inline-block; min-width: 8em; }
            .required { color: #a4161a; }
            .note { color: #444; }
            body { line-height: 1.5; }
            .cards { display: flex; gap: 1.5rem; flex-wrap: wrap; align-items: flex-start; }
            .cards section { flex: 1 1 18rem; }
            table.counts td { text-align: right; }
            .wide { overflow-x: auto; }
            table.ledger thead th { position: sticky; top: 0; background: #e8edf3; }
            table.ledger td { min-width: 4em; max-width: 28em; white-space: normal; }
            details.columns { flex-basis: 100%; }
            details.columns .column { display: inline-block; margin-right: .8rem; }
            .pager a { margin-right: 1rem; }
            .print-head { display: none; }
            p.big { font-size: 2em; letter-spacing: .1em; }
            pre { white-space: pre-wrap; background: #fff; padding: .5rem; border: 1px solid #ccc; }
            form.action p.choice { display: flex; gap: .5rem; align-items: center; margin: .3rem 0; }
            form.action p.choice input { min-width: 0; }
            form.action p.choice label { display: inline; font-weight: normal; }
            @media print {
              table.ledger thead th { position: static; } .pager, form.export, main > h1, .note { display: none; }
              .print-head { display: block; text-align: center; } .print-title { font-size: 1.4em; font-weight: bold; }
              table.ledger thead { display: table-header-group; } tr { break-inside: avoid; } .wide { overflow: visible; }
              @page { size: A4 landscape; margin: 12mm; @bottom-center { content: "第 " counter(page) " 页"; } }
            }
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
