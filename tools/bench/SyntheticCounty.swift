import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

/// A synthetic county for the benchmarks: a registry of `cadres` cadres, `enterprises`
/// enterprises (valid USCCs) and 40 departments, every enterprise linked to a lead cadre; enrolled
/// devices (one per cadre, one per department, a coordinator); and `commits` signed commits of
/// about 10 cells each in the enterprises' scopes: visits (half), demands with realistic Chinese
/// text, and the workflow events that move demands along (submit, assign, sign, reply, accept,
/// follow-up), each feed chained as a real device would write it. The commits are made directly
/// (signed and chained), not through local writes, so that a county of 100,000 commits is built in
/// seconds; they go into a bundle file that every scenario reads.
struct SyntheticCounty {
    let root: SigningKey
    let registry: [[UInt8]]
    let bundlePath: String
    let commitCount: Int
    let demandCount: Int
    let coordinator: SigningKey
    /// One device per cadre; cadre i leads enterprises i, i + cadres, i + 2 × cadres, …
    let cadreKeys: [SigningKey]
    /// The cadres' names, in the order of their keys.
    let cadreNames: [String]
    let enterpriseIDs: [UUID]
    /// Every feed's head after generation: (sequence, last commit id), by author hex + scope.
    let feeds: [String: (sequence: UInt64, previous: CommitID)]
    /// The first and last commit times (Unix ms): the 91 days before the run.
    let firstMilliseconds: UInt64

    static let departments = [
        "县行政审批局", "县住房城乡建设局", "县人力资源社会保障局", "县市场监管局", "县税务局", "县自然资源和规划局", "县地方金融监管局", "县工业和信息化局",
        "县综合执法局", "县政府办公室", "县大数据中心", "县委办公室", "县委组织部", "县发展和改革局", "县财政局", "县商务局", "县科技局", "县生态环境分局",
        "县交通运输局", "县水利局", "县农业农村局", "县应急管理局", "县公安局", "县司法局", "县教育和体育局", "县卫生健康局", "县民政局", "县文化和旅游局",
        "县供电公司", "县自来水公司", "县燃气公司", "县融媒体中心", "鱼邱湖街道", "汇鑫街道", "人和街道", "姜店镇", "清平镇", "琉璃寺镇", "开发区管委会", "高新区管委会",
    ]
    static let townships = [
        "鱼邱湖街道", "汇鑫街道", "人和街道", "姜店镇", "清平镇", "琉璃寺镇", "固河镇", "三十里铺镇", "梁村镇", "尹集镇", "杨屯镇", "赵寨子镇", "开发区",
    ]
    static let industries = ["纺织", "化工", "机械制造", "食品加工", "新材料", "生物医药", "电子信息", "现代物流"]
    static let demandTexts: [(category: String, title: String, content: String)] = [
        ("用工", "熟练挡车工招聘难", "新上两条生产线，急需熟练挡车工50名，希望协助组织专场招聘会并落实稳岗补贴"),
        ("融资", "技改贷款贴息申请", "设备更新贷款300万元，咨询技改贴息政策、申报时限和所需材料"),
        ("用地", "扩建项目用地指标", "二期扩建项目需新增工业用地40亩，土地指标尚未落实，影响项目开工"),
        ("审批", "环评审批进度", "新建生产线环评报告已提交一个月，希望加快审批进度"),
        ("水电气热", "厂区变压器增容", "新增设备用电负荷约800千伏安，现有变压器容量不足，申请增容"),
        ("基础设施", "厂区门前道路积水", "雨季厂区门前道路积水严重，影响货车进出，希望修缮排水设施"),
        ("政策兑现", "高新技术企业奖励兑现", "去年认定高新技术企业，县级奖励资金尚未兑现"),
        ("账款拖欠", "工程款拖欠", "为政府投资项目供货的货款120万元逾期未付，影响资金周转"),
        ("科技创新", "研发平台认定", "申请市级企业技术中心认定，需要指导申报材料"),
        ("市场开拓", "参加展会补贴", "计划参加广交会，咨询展位费补贴政策"),
    ]

    /// A valid USCC for index `i` (GB 32100 check character).
    static func uscc(_ index: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        var body = Array("91371526")
        var n = index
        for _ in 0..<9 {
            body.append(alphabet[n % 31])
            n /= 31
        }
        let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
        let sum = zip(body, weights).map { alphabet.firstIndex(of: $0.0)! * $0.1 }.reduce(0, +)
        let check = (31 - sum % 31) % 31
        return String(body) + String(alphabet[check])
    }

    init(folder: String, cadres: Int, enterprises: Int, commits: Int, progress: (String) -> Void) throws {
        root = SigningKey.generate()
        coordinator = SigningKey.generate()
        let source = try Ledger.open(path: folder + "/registry-source.sqlite", root: root.publicKey, key: root)
        progress(
            "county: registry of \(Self.departments.count) departments, \(cadres) cadres, \(enterprises) enterprises"
        )
        try source.importRegistry(
            .departments,
            csv: "单位名称,类型\n" + Self.departments.map { "\($0),县直部门" }.joined(separator: "\n"),
            name: "departments.csv"
        )
        let cadreNames = (0..<cadres).map { "干部\(String(format: "%03d", $0))" }
        self.cadreNames = cadreNames
        try source.importRegistry(
            .cadres,
            csv: "姓名,职务,单位\n"
                + cadreNames.enumerated().map {
                    "\($0.element),副局长,\(Self.departments[$0.offset % Self.departments.count])"
                }
                .joined(separator: "\n"),
            name: "cadres.csv"
        )
        let enterpriseNames = (0..<enterprises).map {
            "高唐县\(Self.industries[$0 % Self.industries.count])企业\(String(format: "%04d", $0))有限公司"
        }
        try source.importRegistry(
            .enterprises,
            csv: "企业名称,统一社会信用代码,所属镇街/园区,联系人,联系电话\n"
                + enterpriseNames.enumerated().map {
                    "\($0.element),\(Self.uscc($0.offset)),\(Self.townships[$0.offset % Self.townships.count]),联系人\($0.offset),138\(String(format: "%08d", $0.offset))"
                }.joined(separator: "\n"),
            name: "enterprises.csv"
        )
        try source.importRegistry(
            .linkages,
            csv: "包联领导,企业名称,包联角色\n"
                + enterpriseNames.enumerated().map { "\(cadreNames[$0.offset % cadres]),\($0.element),主包" }
                .joined(separator: "\n"),
            name: "linkages.csv"
        )
        var cadreKeys: [SigningKey] = []
        for name in cadreNames {
            let key = SigningKey.generate()
            _ = try source.enroll(publicKey: key.publicKey, role: .cadre, cadre: name)
            cadreKeys.append(key)
        }
        self.cadreKeys = cadreKeys
        var departmentKeys: [SigningKey] = []
        for name in Self.departments {
            let key = SigningKey.generate()
            _ = try source.enroll(publicKey: key.publicKey, role: .department, department: name)
            departmentKeys.append(key)
        }
        _ = try source.enroll(publicKey: coordinator.publicKey, role: .coordinator, label: "县营商办")
        var registry: [[UInt8]] = []
        try source.replica.exportRecords { registry.append($0) }
        self.registry = registry
        let enterpriseIDs = try enterpriseNames.map { try source.enterprise(named: $0) }
        self.enterpriseIDs = enterpriseIDs
        let departmentIDs = try Self.departments.map { try source.department(named: $0) }
        let cadreIDs = try cadreNames.map { try source.cadre(named: $0) }

        progress("county: \(commits) signed commits (visits, demands, workflow events)")
        bundlePath = folder + "/county.bundle"
        let writer = try CommitBundle.Writer(path: bundlePath)
        for record in registry { try writer.append(record) }
        let registrySequence = UInt64(registry.count)
        var feeds: [String: (sequence: UInt64, previous: CommitID)] = [:]
        // The commits spread over the 90 days before yesterday (never ahead of any clock).
        let start = UInt64(Date().timeIntervalSince1970 * 1000) - 91 * 86_400_000
        firstMilliseconds = start
        let step = max(1, 90 * 86_400_000 / UInt64(max(commits, 1)))
        var random = SplitMix64(seed: 20_261_129)
        struct OpenDemand {
            var id: UUID
            var scope: String
            var enterprise: Int
            var stage: Int
            var parent: UUID?
            var lead: Int
        }
        var open: [OpenDemand] = []
        var demands = 0
        var made = 0
        func commit(_ key: SigningKey, scope: String, changes: [Change], at milliseconds: UInt64) throws {
            let feedKey = key.publicKey.hex + scope
            let feed = feeds[feedKey] ?? (0, CommitID.zero)
            let signed = try SignedCommit(
                signing: Commit(
                    author: key.publicKey,
                    scope: scope,
                    sequence: feed.sequence + 1,
                    previous: feed.previous,
                    timestamp: Timestamp(milliseconds: milliseconds, counter: 0),
                    schemaVersion: LedgerSchema.current.version,
                    registrySequence: registrySequence,
                    changes: changes
                ),
                with: key
            )
            feeds[feedKey] = (feed.sequence + 1, signed.id)
            try writer.append(signed.wire)
            made += 1
            if made % 20_000 == 0 { progress("  \(made) commits made") }
        }
        func cells(_ table: String, _ row: UUID, _ values: [String: Value]) -> [Change] {
            values.map { Change(table: table, row: row, column: $0.key, value: $0.value) }
        }
        let stages: [(action: String, from: String, to: String)] = [
            ("submit", "DRAFT", "PENDING_INTAKE"), ("assign", "PENDING_INTAKE", "PENDING_SIGN"),
            ("sign", "PENDING_SIGN", "IN_PROGRESS"),
            ("reply", "IN_PROGRESS", "REPLIED"), ("accept-reply", "REPLIED", "PENDING_FOLLOWUP"),
            ("follow-up", "PENDING_FOLLOWUP", "CLOSED"),
        ]
        for index in 0..<commits {
            let milliseconds = start + UInt64(index) * step
            let iso = Timestamp(milliseconds: milliseconds, counter: 0).iso8601
            let roll = random.next() % 10
            if roll < 3 && !open.isEmpty {
                // Move a demand one step along its workflow.
                let pick = Int(random.next() % UInt64(open.count))
                var demand = open[pick]
                let stage = stages[demand.stage]
                let event = UUID.v7(milliseconds: milliseconds)
                var data: [String: String] = [:]
                let key: SigningKey
                switch stage.action {
                case "submit", "follow-up": key = cadreKeys[demand.enterprise % cadres]
                case "assign", "accept-reply": key = coordinator
                default: key = departmentKeys[demand.lead]
                }
                if stage.action == "assign" { data["lead"] = departmentIDs[demand.lead].lowercased }
                if stage.action == "reply" { data = ["outcome": "已办理", "reply": "已与企业对接并落实相关政策"] }
                if stage.action == "follow-up" {
                    data = ["resolved": "yes", "satisfaction": ["非常满意", "满意", "基本满意", "不满意"][Int(random.next() % 4)]]
                }
                let json = String(
                    decoding: try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]),
                    as: UTF8.self
                )
                try commit(
                    key,
                    scope: demand.scope,
                    changes: cells(
                        "demand_events",
                        event,
                        [
                            "demand_id": .blob(demand.id.bytes16),
                            "parent_id": demand.parent.map { .blob($0.bytes16) } ?? .null, "at": .text(iso),
                            "actor_key": .text(key.publicKey.hex), "actor_name": .text("bench"), "role": .text("bench"),
                            "action": .text(stage.action),
                            "from_state": .text(stage.from), "to_state": .text(stage.to), "data": .text(json),
                        ]
                    ),
                    at: milliseconds
                )
                demand.parent = event
                demand.stage += 1
                if demand.stage == stages.count { open.remove(at: pick) } else { open[pick] = demand }
            } else {
                let enterprise = Int(random.next() % UInt64(enterprises))
                let scope = RegistryIDs.scope(of: enterpriseIDs[enterprise])
                let cadre = enterprise % cadres
                let row = UUID.v7(milliseconds: milliseconds)
                let day = String(iso.prefix(10))
                if roll < 8 {
                    try commit(
                        cadreKeys[cadre],
                        scope: scope,
                        changes: cells(
                            "visits",
                            row,
                            [
                                "enterprise_id": .blob(enterpriseIDs[enterprise].bytes16),
                                "cadre_id": .blob(cadreIDs[cadre].bytes16), "visit_date": .text(day),
                                "participants": .text("\(cadreNames[cadre])、县人社局 赵雪"), "mode": .text("实地"),
                                "service_day": .integer(Int64(index % 2)),
                                "topics": .text("用工、融资、用地"), "notes": .text("订单饱满，二季度产能利用率约九成，新上两条生产线"),
                                "no_demands": .integer(1), "solved_on_spot": .text("现场解答社保补贴政策"),
                            ]
                        ),
                        at: milliseconds
                    )
                } else {
                    let text = Self.demandTexts[Int(random.next() % UInt64(Self.demandTexts.count))]
                    demands += 1
                    try commit(
                        cadreKeys[cadre],
                        scope: scope,
                        changes: cells(
                            "demands",
                            row,
                            [
                                "number": .text(
                                    "GT-2026-B\(String(format: "%03d", cadre))-\(String(format: "%05d", demands))"
                                ), "channel": .text("服务日走访"),
                                "enterprise_id": .blob(enterpriseIDs[enterprise].bytes16),
                                "cadre_id": .blob(cadreIDs[cadre].bytes16), "type": .text("服务求助"),
                                "category": .text(text.category), "title": .text(text.title),
                                "content": .text(text.content), "urgency": .text("一般"),
                                "state": .text("DRAFT"), "registered_at": .text(iso),
                            ]
                        ),
                        at: milliseconds
                    )
                    open.append(
                        OpenDemand(
                            id: row,
                            scope: scope,
                            enterprise: enterprise,
                            stage: 0,
                            parent: nil,
                            lead: Int(random.next() % UInt64(Self.departments.count))
                        )
                    )
                }
            }
        }
        try writer.finish()
        self.feeds = feeds
        commitCount = made
        demandCount = demands
    }
}

/// A small seeded generator (SplitMix64), so that every run builds the same county.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
