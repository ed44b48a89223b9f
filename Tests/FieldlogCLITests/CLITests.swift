import FieldCrypto
import Foundation
import Testing

/// The CLI end to end through the built binary, as the demo does, with assertions.
@Suite(.serialized) struct CLITests {
    static let demoData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/demo-data").path

    /// A county of three replicas in a temporary folder, removed when the test lets go of it.
    final class County {
        let folder = CLI.temporaryFolder("county")
        deinit { try? FileManager.default.removeItem(atPath: folder) }
        var op: CLI { CLI(home: folder + "/operator") }
        var a: CLI { CLI(home: folder + "/a") }
        var b: CLI { CLI(home: folder + "/b") }
        var rootFingerprint = ""

        init() async throws {
            try await op.ok(["init"])
            let created = try await op.ok(["county", "create", "--name", "高唐县", "--json"])
            rootFingerprint = (created.json as? [String: String])?["rootFingerprint"] ?? ""
            for kind in ["departments", "cadres", "enterprises", "linkages"] {
                try await op.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
            }
            let keyA = try await publicKey(a)
            let keyB = try await publicKey(b)
            try await op.ok(["registry", "enroll", "--key", keyA, "--role", "cadre", "--cadre", "王强"])
            try await op.ok(["registry", "enroll", "--key", keyB, "--role", "cadre", "--cadre", "李娜"])
            try await op.ok(["registry", "export-enrollment", "--out", folder + "/enroll.bundle"])
            try await a.ok(["join", folder + "/enroll.bundle", "--root-fingerprint", rootFingerprint])
            try await b.ok(["join", folder + "/enroll.bundle", "--root-fingerprint", rootFingerprint])
        }

        func publicKey(_ cli: CLI) async throws -> String {
            let result = try await cli.ok(["init", "--json"])
            return (result.json as? [String: String])?["publicKey"] ?? ""
        }

        /// Carries what `to` may read from `from` to `to`, by a bundle file made for `to`'s key.
        func exchange(_ from: CLI, _ to: CLI) async throws {
            let file = folder + "/x-\(UUID().uuidString).bundle"
            let recipient = try await to.ok(["status", "--json"]).json as? [String: Any]
            try await from.ok(["bundle", "export", "--out", file, "--for", recipient?["publicKey"] as? String ?? "?"])
            try await to.ok(["bundle", "import", file])
        }

        func digests(_ cli: CLI) async throws -> [String: String] {
            let status = try await cli.ok(["status", "--json"]).json as? [String: Any]
            return status?["digests"] as? [String: String] ?? [:]
        }
    }

    @Test func demoFlowConvergesWithAConflictAndHistory() async throws {
        let county = try await County()
        let visit = try await county.a.ok([
            "visit", "add", "--enterprise", "山东高唐纺织有限公司", "--service-day", "--topics", "用工", "--json",
        ])
        let visitID = (visit.json as? [String: String])?["id"] ?? ""
        let demand = try await county.a.ok([
            "demand", "add", "--enterprise", "山东高唐纺织有限公司", "--visit", visitID, "--title", "招工难", "--content",
            "急需挡车工50名",
            "--category", "用工", "--json",
        ])
        let number = (demand.json as? [String: String])?["number"] ?? ""
        #expect(number.hasSuffix("-D001-0001"))
        try await county.exchange(county.a, county.b)
        try await county.a.ok(["demand", "edit", number, "--title", "招工难（50名）"])
        try await county.b.ok(["demand", "edit", number, "--title", "用工缺口"])
        try await county.exchange(county.a, county.b)
        try await county.exchange(county.b, county.a)
        try await county.exchange(county.a, county.op)
        let list = try await county.op.ok(["demand", "list", "--json"]).json as? [[String: Any]]
        #expect(list?.count == 1)
        let conflicts = try await county.op.ok(["conflicts", "--json"]).json as? [[String: Any]]
        #expect(conflicts?.count == 1)
        let heads = (conflicts?.first?["heads"] as? [[String: Any]])?.compactMap { $0["value"] as? String }
        #expect(Set(heads ?? []) == ["招工难（50名）", "用工缺口"])
        let history = try await county.op.ok(["history", number, "--json"]).json as? [[String: Any]]
        #expect(
            history?.contains {
                ($0["author"] as? String)?.contains("李娜") == true && ($0["field"] as? String) == "title"
            } == true
        )
        let human = try await county.op.ok(["history", number])
        #expect(human.stdout.contains("王强 (D001)"))
        // Same commits, same digests.
        #expect(try await county.digests(county.a) == county.digests(county.op))
        // Resolve and converge.
        let row = conflicts?.first?["row"] as? String ?? ""
        try await county.b.ok(["conflicts", "resolve", "--row", row, "--column", "title", "--value", "用工缺口（已核实）"])
        try await county.exchange(county.b, county.a)
        try await county.exchange(county.b, county.op)
        #expect((try await county.op.ok(["conflicts", "--json"]).json as? [Any])?.isEmpty == true)
        #expect(try await county.digests(county.a) == county.digests(county.op))
        let shown = try await county.op.ok(["demand", "show", number, "--json"]).json as? [String: Any]
        #expect((shown?["demand"] as? [String: Any])?["title"] as? String == "用工缺口（已核实）")
        // Created, two edits, and the resolution (issue 13: a resolution is an entry of the 流转日志).
        let shownEvents = shown?["events"] as? [[String: Any]]
        #expect(shownEvents?.count == 4)
        #expect(shownEvents?.last?["comment"] as? String == "解决冲突 title")
        // Importing a bundle twice changes nothing.
        let file = county.folder + "/again.bundle"
        try await county.b.ok(["bundle", "export", "--out", file, "--all"])
        let again = try await county.op.ok(["bundle", "import", file, "--json"]).json as? [String: Any]
        #expect(again?["applied"] as? Int == 0)
    }

    /// A demand's workflow through the CLI on three replicas, then the supervisor's exports: the
    /// ledger as a signed workbook that verifies, and fails once a byte changes.
    @Test func workflowAndSignedExports() async throws {
        let county = try await County()
        let department = CLI(home: county.folder + "/dept")
        let departmentKey = try await county.publicKey(department)
        try await county.op.ok([
            "registry", "enroll", "--key", departmentKey, "--role", "department", "--department", "县人力资源社会保障局",
        ])
        try await county.op.ok(["registry", "export-enrollment", "--out", county.folder + "/enroll2.bundle"])
        try await department.ok([
            "join", county.folder + "/enroll2.bundle", "--root-fingerprint", county.rootFingerprint,
        ])

        let demand = try await county.a.ok([
            "demand", "add", "--enterprise", "山东高唐纺织有限公司", "--title", "招工难", "--content", "急需挡车工50名", "--category",
            "用工", "--json",
        ])
        let number = (demand.json as? [String: String])?["number"] ?? ""
        try await county.a.ok(["demand", "submit", number])
        let refused = try await county.a.run(["demand", "assign", number, "--lead", "县人力资源社会保障局"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("may not assign"))
        try await county.exchange(county.a, county.op)
        let assigned = try await county.op.ok(["demand", "assign", number, "--lead", "县人力资源社会保障局", "--co", "县市场监管局"])
        #expect(assigned.stdout.contains("PENDING_SIGN"))
        try await county.exchange(county.op, department)
        try await department.ok(["demand", "sign", number])
        try await department.ok(["demand", "reply", number, "--outcome", "已对接", "--reply", "组织专场招聘会"])
        try await county.exchange(department, county.op)
        try await county.op.ok(["demand", "accept-reply", number])
        let missing = try await county.op.run(["demand", "follow-up", number, "--satisfaction", "满意"])
        #expect(missing.status == 1 && missing.stderr.contains("--resolved"))
        try await county.op.ok(["demand", "follow-up", number, "--resolved", "yes", "--satisfaction", "满意"])
        let shown = try await county.op.ok(["demand", "show", number])
        #expect(shown.stdout.contains("已办结"))
        #expect(shown.stdout.contains("牵头单位: 县人力资源社会保障局"))

        let workbook = county.folder + "/台账.xlsx"
        try await county.op.ok(["export", "ledger", "--out", workbook, "--sign"])
        let verified = try await county.op.ok(["export", "verify", workbook])
        #expect(verified.stdout.hasPrefix("VERIFIED"))
        // Another replica of the county verifies it too.
        try await county.exchange(county.op, county.b)
        #expect(try await county.b.ok(["export", "verify", workbook]).stdout.contains("运维"))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: workbook))
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: workbook))
        let altered = try await county.op.run(["export", "verify", workbook])
        #expect(altered.status == 1)
        #expect(altered.stderr.contains("ALTERED"))

        let csv = county.folder + "/unresolved.csv"
        try await county.a.ok(["export", "ledger", "--unresolved", "--out", csv])
        let csvBytes = try Data(contentsOf: URL(fileURLWithPath: csv))
        #expect(Array(csvBytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(String(decoding: csvBytes.dropFirst(3), as: UTF8.self).hasPrefix("序号,诉求编号,登记日期"))
        let month = String(ISO8601DateFormatter().string(from: Date()).prefix(7))
        let report = try await county.op.ok([
            "export", "monthly", "--month", month, "--out", county.folder + "/monthly.json", "--json",
        ])
        #expect((report.json as? [String: String])?["format"] == "json")
        let badMonth = try await county.op.run([
            "export", "monthly", "--month", "2026-13", "--out", county.folder + "/m.csv",
        ])
        #expect(badMonth.status == 1 && badMonth.stderr.contains("--month"))
        #expect(try await county.op.ok(["calendar", "deadline", "2025-09-26", "15"]).stdout.contains("2025-10-23"))
        let rates =
            try await county.op.ok([
                "rates", "--from", "2000-01-01", "--to", "2099-12-31", "--by", "department", "--json",
            ]).json as? [String: [String: String]]
        #expect(rates?["县人力资源社会保障局"]?["签收及时率"] == "1/1")
    }

    @Test func refusalsAreOneSentenceAndNonZero() async throws {
        let county = try await County()
        // Not linked to this enterprise.
        let notLinked = try await county.a.run(["visit", "add", "--enterprise", "山东泉林新材料有限公司"])
        #expect(notLinked.status == 1)
        #expect(notLinked.stderr.contains("not linked"))
        // A cadre cannot change the registry.
        let registry = try await county.a.run([
            "registry", "import", "departments", CLITests.demoData + "/departments.csv",
        ])
        #expect(registry.status == 1)
        #expect(registry.stderr.contains("only the county operator"))
        // Wrong passphrase, and none at all.
        let wrong = try await county.a.run(["visit", "add", "--enterprise", "山东高唐纺织有限公司"], passphrase: "wrong")
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("passphrase does not open"))
        let none = try await county.a.run(["visit", "add", "--enterprise", "山东高唐纺织有限公司"], passphrase: nil)
        #expect(none.status == 1)
        #expect(none.stderr.contains("FIELDLOG_PASSPHRASE"))
        // A registry file that is not UTF-8: refused with the way out, and nothing stored.
        let before = try await county.op.ok(["registry", "list", "departments", "--json"]).stdout
        let latin = county.folder + "/departments-gbk.csv"
        try Data([0xB5, 0xA5, 0xCE, 0xBB, 0x0A, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: latin))
        let notUTF8 = try await county.op.run(["registry", "import", "departments", latin])
        #expect(notUTF8.status == 1)
        #expect(notUTF8.stderr.contains("not UTF-8"))
        #expect(try await county.op.ok(["registry", "list", "departments", "--json"]).stdout == before)
        // Not a bundle, and a truncated bundle: nothing applied.
        let junk = county.folder + "/junk.bundle"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: junk))
        let notBundle = try await county.op.run(["bundle", "import", junk])
        #expect(notBundle.status == 1)
        #expect(notBundle.stderr.contains("not a fieldlog bundle"))
        try await county.a.ok(["demand", "add", "--enterprise", "山东高唐纺织有限公司", "--title", "t", "--content", "c"])
        let full = county.folder + "/full.bundle"
        try await county.a.ok(["bundle", "export", "--out", full, "--all"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: full))
        let cut = county.folder + "/cut.bundle"
        try bytes.prefix(bytes.count - 40).write(to: URL(fileURLWithPath: cut))
        let truncated = try await county.op.run(["bundle", "import", cut])
        #expect(truncated.status == 1)
        #expect(truncated.stderr.contains("truncated"))
        #expect((try await county.op.ok(["demand", "list", "--json"]).json as? [Any])?.isEmpty == true)
        // Bad CSVs: invalid USCC with its line, and a missing column; nothing stored.
        let badCSV = county.folder + "/bad.csv"
        try "企业名称,统一社会信用代码\n好,91110000600037341L\n坏,91350100M000100Y4Z\n".write(
            toFile: badCSV,
            atomically: true,
            encoding: .utf8
        )
        let invalid = try await county.op.run(["registry", "import", "enterprises", badCSV])
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("line 3"))
        try "名字,统一社会信用代码\n好,91110000600037341L\n".write(toFile: badCSV, atomically: true, encoding: .utf8)
        let missing = try await county.op.run(["registry", "import", "enterprises", badCSV])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no column 企业名称"))
        let enterprises = try await county.op.ok(["registry", "list", "enterprises", "--json"]).json as? [Any]
        #expect(enterprises?.count == 7)
        // Unknown subcommand or option: a usage error, non-zero.
        #expect(try await county.op.run(["demand", "frobnicate"]).status != 0)
        // A join with the wrong root fingerprint stops.
        let stranger = CLI(home: county.folder + "/stranger")
        try await stranger.ok(["init"])
        let join = try await stranger.run([
            "join", county.folder + "/enroll.bundle", "--root-fingerprint", "0000-0000-0000-0000-0000",
        ])
        #expect(join.status == 1)
        #expect(join.stderr.contains("do not use this bundle"))
    }

    /// A bundle names who it is for and carries only what that device may read (the hub's rule);
    /// `--all` is the explicit way to carry everything. Recipients are named by device code,
    /// fingerprint, key or holder; unknown and revoked ones are refused with nothing written.
    @Test func bundlesCarryOnlyWhatTheRecipientMayRead() async throws {
        let county = try await County()
        try await county.op.ok(["visit", "add", "--enterprise", "高唐县金源机械制造有限公司", "--topics", "李娜's only"])
        try await county.op.ok(["visit", "add", "--enterprise", "山东泉林新材料有限公司", "--topics", "neither's"])
        try await county.op.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "both"])
        func topics(_ cli: CLI) async throws -> Set<String> {
            let visits = try await cli.ok(["visit", "list", "--json"]).json as? [[String: Any]] ?? []
            return Set(visits.compactMap { $0["topics"] as? String })
        }
        func carry(_ arguments: [String], to cli: CLI) async throws -> [String: Any] {
            let file = county.folder + "/\(UUID().uuidString).bundle"
            let written =
                try await county.op.ok(["bundle", "export", "--out", file, "--json"] + arguments).json as? [String: Any]
            try await cli.ok(["bundle", "import", file])
            return written ?? [:]
        }
        // By device code: 王强's laptop (D001) is linked to 纺织 and 鑫盛.
        let forA = try await carry(["--for", "d001"], to: county.a)
        #expect(forA["enterprises"] as? Int == 2)
        #expect(try await topics(county.a) == ["both"])
        // By holder name, then by fingerprint: 李娜 is linked to 纺织 and 金源.
        let forB = try await carry(["--for", "李娜"], to: county.b)
        #expect(try await topics(county.b) == ["both", "李娜's only"])
        let status = try await county.b.ok(["status", "--json"]).json as? [String: Any]
        let fingerprint = status?["fingerprint"] as? String ?? ""
        #expect(forB["recipient"] as? String == fingerprint)
        let byFingerprint = try await carry(
            ["--for", fingerprint.replacingOccurrences(of: "-", with: "")],
            to: county.b
        )
        #expect(byFingerprint["commits"] as? Int == forB["commits"] as? Int)
        // --all carries everything; the receiving replica then holds it (the sender's choice).
        let everything = try await carry(["--all"], to: county.a)
        #expect((everything["commits"] as? Int ?? 0) > (forA["commits"] as? Int ?? 0))
        #expect(everything["recipient"] == nil)
        #expect(try await topics(county.a) == ["both", "李娜's only", "neither's"])

        // By label, for a device held by no cadre or department.
        let supervisor = try await county.publicKey(CLI(home: county.folder + "/supervisor"))
        try await county.op.ok(["registry", "enroll", "--key", supervisor, "--role", "supervisor", "--label", "督查室"])
        let forSupervisor =
            try await county.op.ok(["bundle", "export", "--out", county.folder + "/s.bundle", "--for", "督查室", "--json"])
            .json as? [String: Any]
        #expect(forSupervisor?["recipient"] as? String == (try PublicKey(hex: supervisor)).fingerprint)

        // Refusals: one sentence each, and no file written.
        let out = county.folder + "/refused.bundle"
        let empty = try await county.op.run(["bundle", "export", "--out", out, "--for", " "])
        #expect(empty.status == 1 && empty.stderr.contains("name the device"), "\(empty.stderr)")
        let unnamed = try await county.op.run(["bundle", "export", "--out", out])
        #expect(unnamed.status == 64)
        #expect(unnamed.stderr.contains("--for DEVICE"), "\(unnamed.stderr)")
        let both = try await county.op.run(["bundle", "export", "--out", out, "--all", "--for", "D001"])
        #expect(both.status == 64)
        let unknown = try await county.op.run(["bundle", "export", "--out", out, "--for", "D099"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no enrolled device is D099"), "\(unknown.stderr)")
        let keyB = status?["publicKey"] as? String ?? ""
        try await county.op.ok(["registry", "revoke", "--key", keyB])
        for name in ["D002", keyB, "李娜"] {
            let revoked = try await county.op.run(["bundle", "export", "--out", out, "--for", name])
            #expect(revoked.status == 1)
            #expect(revoked.stderr.contains("revoked"), "\(name): \(revoked.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func phonesAreMaskedForCadres() async throws {
        let county = try await County()
        let listed = try await county.a.ok(["registry", "list", "enterprises", "--json"]).json as? [[String: String]]
        #expect(listed?.first { $0["name"] == "山东高唐纺织有限公司" }?["contact_phone"] == "138****0001")
        #expect(try await county.a.run(["registry", "list", "enterprises", "--show-personal-data"]).status == 1)
        let operatorView =
            try await county.op.ok(["registry", "list", "enterprises", "--show-personal-data", "--json"]).json
            as? [[String: String]]
        #expect(operatorView?.first { $0["name"] == "山东高唐纺织有限公司" }?["contact_phone"] == "13805390001")
    }

    @Test func keyFilesWithLoosePermissionsAreRefused() async throws {
        let county = try await County()
        chmod(county.a.home + "/keys/device.key", 0o644)
        let result = try await county.a.run(["visit", "add", "--enterprise", "山东高唐纺织有限公司"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("chmod 600"))
    }
}

/// Issue 13: a cadre names visits and conflicts by numbers and short handles, and reads plain
/// output in the county's words; a department's device lists only what was assigned to it.
@Suite(.serialized) struct PlainOutputCLITests {
    @Test func visitsAndConflictsAreNamedByNumbersAndHandles() async throws {
        let county = try await CLITests.County()
        let visit =
            try await county.a.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "用工", "--json"]).json
            as? [String: String]
        let handle = try #require(visit?["handle"])
        #expect(handle.count == 8 && visit?["id"]?.replacingOccurrences(of: "-", with: "").hasSuffix(handle) == true)
        let listed = try await county.a.ok(["visit", "list"]).stdout
        #expect(listed.contains(handle) && !listed.contains(visit?["id"] ?? "?"))
        let number =
            try #require(
                try await county.a.ok([
                    "demand", "add", "--enterprise", "山东高唐纺织有限公司", "--visit", handle, "--title", "招工难", "--content",
                    "缺挡车工", "--json",
                ]).json as? [String: String]
            )["number"] ?? ""
        try await county.exchange(county.a, county.b)
        try await county.a.ok(["demand", "edit", number, "--title", "招工难（50名）"])
        try await county.b.ok(["demand", "edit", number, "--title", "用工缺口"])
        try await county.exchange(county.b, county.a)
        let conflicts = try await county.a.ok(["conflicts", "--json"]).json as? [[String: Any]]
        #expect(conflicts?.first?["record"] as? String == number)
        let plain = try await county.a.ok(["conflicts"]).stdout
        #expect(plain.contains("诉求 \(number) · 标题 (title)"))
        #expect(plain.contains("--row \(number) --column title"))
        #expect(!plain.contains(conflicts?.first?["row"] as? String ?? "?"), "no UUID where a number exists")
        // A row that names no open conflict, or a pick past the values, is refused; nothing is written.
        let commitsBefore = try await county.a.ok(["status", "--json"]).json as? [String: Any]
        let noSuchRow = try await county.a.run([
            "conflicts", "resolve", "--row", "GT-2026-D001-9999", "--column", "title", "--pick", "1",
        ])
        #expect(noSuchRow.status == 1 && noSuchRow.stderr.contains("no open conflict on title"))
        let badPick = try await county.a.run([
            "conflicts", "resolve", "--row", number, "--column", "title", "--pick", "3",
        ])
        #expect(badPick.status == 1 && badPick.stderr.contains("--pick takes 1 to 2"))
        let commitsAfter = try await county.a.ok(["status", "--json"]).json as? [String: Any]
        #expect((commitsAfter?["commits"] as? [String: Int]) == (commitsBefore?["commits"] as? [String: Int]))
        #expect((try await county.a.ok(["conflicts", "--json"]).json as? [Any])?.count == 1)
        let resolved = try await county.a.ok([
            "conflicts", "resolve", "--row", number, "--column", "title", "--pick", "1",
        ]).stdout
        #expect(resolved.contains("已裁定 诉求 \(number) · 标题 (title)"))
        #expect((try await county.a.ok(["conflicts", "--json"]).json as? [Any])?.isEmpty == true)
        let history = try await county.a.ok(["history", handle]).stdout
        #expect(history.hasPrefix("走访记录 \(handle) 的签名修改记录"))
        // A handle that names no visit is refused in one sentence, with where to look.
        let missing = try await county.a.run([
            "demand", "add", "--enterprise", "山东高唐纺织有限公司", "--visit", "0000abcd", "--title", "x", "--content", "y",
        ])
        #expect(missing.status == 1 && missing.stderr.contains("fieldlog visit list"))
        #expect((try await county.a.ok(["demand", "list", "--json"]).json as? [Any])?.count == 1, "nothing stored")
        // Both --until and --days: refused before anything is opened.
        let both = try await county.a.run([
            "demand", "extend", number, "--until", "2026-12-30", "--days", "3", "--comment", "x",
        ])
        #expect(both.status == 1 && both.stderr.contains("not both"))
    }

    @Test func statusSyncAndListingsSpeakTheCountysWords() async throws {
        let county = try await CLITests.County()
        let status = try await county.a.ok(["status"]).stdout
        #expect(status.contains("角色：包联干部 (cadre)"))
        #expect(status.contains("未决字段冲突：0 处"))
        #expect(!status.contains("open conflicts"))
        let devices = try await county.op.ok(["registry", "list", "devices"]).stdout
        // Enrolled at a local time (2026-12-01 18:00), not an ISO UTC stamp (…T10:00:00.000Z).
        #expect(devices.range(of: #"\d{4}-\d\d-\d\dT\d\d:"#, options: .regularExpression) == nil)
        #expect(devices.range(of: #"登记时间: \d{4}-\d\d-\d\d \d\d:\d\d"#, options: .regularExpression) != nil)
        #expect(devices.contains("包联干部"))
        let imported = try await county.b.ok(["bundle", "import", county.folder + "/enroll.bundle"]).stdout
        #expect(imported.contains("新应用 0 条"))
    }

    /// One cadre key on two laptops (a copy of the replica folder) forks its feed; the operator
    /// lists the fork, readmits one branch by a prefix of its commit id, and its visit counts again.
    @Test func theOperatorReadmitsABranchOfAForkedFeed() async throws {
        let county = try await CLITests.County()
        try await county.a.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "共同"])
        let copy = CLI(home: county.folder + "/a-copy")
        try FileManager.default.copyItem(atPath: county.a.home, toPath: copy.home)
        try await county.a.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "原机"])
        try await copy.ok(["visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "复制机"])
        try await county.exchange(county.a, county.op)
        try await county.exchange(copy, county.op)
        func topics() async throws -> [String] {
            let visits = try await county.op.ok(["visit", "list", "--json"]).json as? [[String: Any]] ?? []
            return visits.compactMap { $0["topics"] as? String }.sorted()
        }
        #expect(try await topics() == ["共同"])
        let forks = try await county.op.ok(["registry", "forks", "--json"]).json as? [String: Any]
        let fork = (forks?["forks"] as? [[String: Any]])?.first
        let commits = fork?["commits"] as? [String] ?? []
        #expect(commits.count == 2)
        let key = fork?["publicKey"] as? String ?? ""
        let listed = try await county.op.ok(["registry", "forks"]).stdout
        #expect(listed.contains("处分叉") && listed.contains("(共 1 个分叉)"), "\(listed)")

        let bad = try await county.op.run([
            "registry", "readmit", "--key", key, "--scope", "山东高唐纺织有限公司", "--branch", "xyz",
        ])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("at least 8 hex digits"), "\(bad.stderr)")
        let notOperator = try await county.b.run([
            "registry", "readmit", "--key", key, "--scope", "山东高唐纺织有限公司", "--branch", "none",
        ])
        #expect(notOperator.status == 1)
        #expect(notOperator.stderr.contains("only the county operator"), "\(notOperator.stderr)")

        // Which of the two is the copy's: the one whose branch, readmitted, shows 复制机.
        var readmitted: [String] = []
        for commit in commits {
            let decided =
                try await county.op.ok([
                    "registry", "readmit", "--key", key, "--scope", "山东高唐纺织有限公司", "--branch", String(commit.prefix(10)),
                    "--note", "核实后保留", "--json",
                ]).json as? [String: Any]
            #expect(decided?["standing"] as? String == "readmitted")
            #expect(decided?["decidedBy"] as? String == "命令行")
            readmitted.append(contentsOf: try await topics())
        }
        #expect(readmitted.sorted() == ["共同", "共同", "原机", "复制机"])
        let human = try await county.op.ok([
            "registry", "readmit", "--key", key, "--scope", "山东高唐纺织有限公司", "--branch", "none",
        ]).stdout
        #expect(human.contains("不恢复任何分支"), "\(human)")
        #expect(try await topics() == ["共同"])
    }
}
