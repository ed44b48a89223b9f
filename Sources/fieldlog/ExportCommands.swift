import ArgumentParser
import FieldCrypto
import FieldExport
import FieldLedger
import FieldStore
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Supervisors' exports: the work ledger (工作台账) and the monthly report (月调度), as CSV, XLSX or JSON; signed on request.",
        subcommands: [LedgerExport.self, MonthlyExport.self, Verify.self]
    )

    /// Options every export takes: the file, and the signature on request.
    struct Output: ParsableArguments {
        @OptionGroup var file: ExportFileOptions
        @Flag(help: "Also write OUT.sig, a detached signature with this device's key.") var sign = false

        func day(_ ledger: Ledger, profile: DeadlineProfile) throws -> Day {
            try parsedDay(file.today) ?? ledger.localToday(profile: profile)
        }

        /// Writes the tables, and the signature when asked; prints what was written.
        func write(_ tables: [ReportTable], title: String, global: GlobalOptions) throws {
            let (out, format, bytes) = try file.write(tables, title: title)
            let rows = tables.map(\.rows.count).reduce(0, +)
            var lines = ["已写出 \(out)（\(format.rawValue)，\(tables.count) 张表，\(rows) 行，\(bytes.count) 字节）。"]
            if sign {
                let signature = try ExportFile.sign(
                    bytes,
                    name: URL(fileURLWithPath: out).lastPathComponent,
                    ledger: try global.ledger(write: true),
                    key: try global.signingKey()
                )
                try writeFile(try signature.encoded(), to: out + ".sig")
                lines.append(
                    "已签名：\(out).sig（BLAKE2b-256 \(signature.blake2b256.prefix(16))…，\(signature.heads.count) 个提交流进度）；核验：`fieldlog export verify \(out)`。"
                )
            }
            if global.json {
                try global.printJSON(["file": out, "format": format.rawValue, "rows": String(rows)])
            } else {
                for line in lines { print(line) }
            }
        }
    }

    struct LedgerExport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract: "The work ledger (工作台账): one row per demand."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: Output
        @Flag(help: "Only unresolved demands (every state before 已办结).") var unresolved = false
        @Option(help: "Only demands this department leads or co-handles.") var department: String?
        @Option(help: "Only demands of this cadre (包联领导 or the one who registered them).") var cadre: String?
        @Option(help: "Only this township or park (所属镇街/园区).") var township: String?
        @Option(help: "Only this category (诉求类别).") var category: String?
        @Flag(help: "Only overdue demands.") var overdue = false
        @Option(help: "Only demands registered in this month, YYYY-MM.") var month: String?
        @Option(help: "Only demands registered from this date (YYYY-MM-DD).") var from: String?
        @Option(help: "… to this date, included.") var to: String?

        func run() throws {
            let ledger = try global.ledger(write: false)
            let profile = try global.profile()
            var filter = LedgerFilter()
            filter.unresolvedOnly = unresolved
            filter.department = department
            filter.cadre = cadre
            filter.township = township
            filter.category = category.map { $0 }
            filter.overdueOnly = overdue
            filter.period = try period(month: month, from: from, to: to)
            let table = try ledger.workLedger(filter, today: try output.day(ledger, profile: profile), profile: profile)
            try output.write([table], title: "工作台账", global: global)
        }
    }

    struct MonthlyExport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "monthly",
            abstract:
                "The monthly report (月调度): totals and rates against last month, by department, cadre, category and township, and the 久拖不决 and 推诿扯皮 lists."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: Output
        @Option(help: "The month, YYYY-MM.") var month: String

        func run() throws {
            guard let period = try period(month: month, from: nil, to: nil) else {
                throw CLIError("give --month YYYY-MM")
            }
            let ledger = try global.ledger(write: false)
            let profile = try global.profile()
            let tables = try ledger.monthlyReport(
                period,
                today: try output.day(ledger, profile: profile),
                profile: profile
            )
            try output.write(tables, title: "月调度 \(month)", global: global)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check that an exported file is unaltered and signed by a device of this county; exit 1 otherwise."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The exported file.") var file: String
        @Option(help: "The signature file (default FILE.sig).") var signature: String?

        func run() throws {
            let signaturePath = signature ?? file + ".sig"
            guard let fileData = FileManager.default.contents(atPath: file) else {
                throw CLIError("cannot read \(file)")
            }
            guard let signatureData = FileManager.default.contents(atPath: signaturePath) else {
                throw CLIError("no signature \(signaturePath): the file is not signed (export it with --sign)")
            }
            let ledger = try global.ledger(write: false)
            let (who, parsed) = try ExportFile.verify(
                [UInt8](fileData),
                signature: [UInt8](signatureData),
                ledger: ledger
            )
            if global.json {
                try global.printJSON([
                    "file": file, "verified": "yes", "signer": who, "signedAt": parsed.signedAt, "key": parsed.signer,
                ])
                return
            }
            let profile = try global.profile()
            let signedAt = ISOTime.parse(parsed.signedAt).map { ISOTime.local($0, profile: profile) } ?? parsed.signedAt
            print("VERIFIED 已核验：\(file) 未被改动。")
            print("  签名人 \(who)（密钥指纹 \(try PublicKey(hex: parsed.signer).fingerprint)），签于 \(signedAt)")
            print("  依据 \(parsed.heads.count) 个提交流进度计算（摘要 \(parsed.headsDigest.prefix(16))…）")
        }
    }
}

struct RatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rates",
        abstract: "The rates of docs/rates.md for any period, overall or broken down."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "A month, YYYY-MM (or give --from and --to).") var month: String?
    @Option(help: "First day, YYYY-MM-DD.") var from: String?
    @Option(help: "Last day, included.") var to: String?
    @Option(help: "department, cadre, category or township.") var by: String?
    @Option(
        help:
            "Judge deadlines as of this date, YYYY-MM-DD (default today): one not reached yet is counted only once met."
    )
    var today: String?

    func run() throws {
        guard month != nil || (from != nil && to != nil), let period = try period(month: month, from: from, to: to)
        else {
            throw CLIError("give --month YYYY-MM, or --from and --to as dates like 2026-03-15 (--from not after --to)")
        }
        let ledger = try global.ledger(write: false)
        let profile = try global.profile()
        let day =
            try today.map { text throws(CLIError) in
                guard let day = Day(text) else { throw CLIError("--today '\(text)' is not a date like 2026-03-15") }
                return day
            } ?? ledger.localToday(profile: profile)
        var groups: [(String, Rates)]
        if let by {
            guard let grouping = Ledger.RateGrouping(rawValue: by) else {
                throw CLIError("--by takes department, cadre, category or township")
            }
            groups = try ledger.rates(for: period, by: grouping, today: day, profile: profile).sorted {
                $0.key < $1.key
            }
        } else {
            groups = [("全县", try ledger.rates(for: period, today: day, profile: profile))]
        }
        func figures(_ rates: Rates) -> [(String, Ratio)] { rates.figures.map { ($0.label, $0.ratio) } }
        if global.json {
            var out: [String: [String: String]] = [:]
            for (name, rates) in groups {
                var entry = Dictionary(
                    uniqueKeysWithValues: figures(rates).map { ($0.0, "\($0.1.numerator)/\($0.1.denominator)") }
                )
                entry["超期"] = String(rates.overdue)
                entry["未到期"] = String(rates.notYetDue)
                entry["平均办理工作日"] = rates.meanHandlingWorkdays.map { String(format: "%.1f", $0) } ?? ""
                out[name] = entry
            }
            try global.printJSON(out)
            return
        }
        print("\(period.from) 至 \(period.to) 的指标（截至 \(day)）：")
        for (name, rates) in groups {
            print("  \(name)")
            for (label, ratio) in figures(rates) { print("    \(label)  \(ratio.display)") }
            print(
                "    超期  \(rates.overdue)    未到期  \(rates.notYetDue)    平均办理工作日  \(rates.meanHandlingWorkdays.map { String(format: "%.1f", $0) } ?? "—")"
            )
        }
    }
}

/// `--out`, `--format` and `--today`: the file an export writes, and the day it judges by.
struct ExportFileOptions: ParsableArguments {
    @Option(help: "The file to write; .csv, .xlsx or .json (the format follows the name unless --format is given).")
    var out: String
    @Option(help: "csv, xlsx or json.") var format: String?
    @Option(help: "Judge overdue, cards and lists as of this date, YYYY-MM-DD (default today).") var today: String?

    /// The format of `--format`, or else of the name of `--out`.
    func resolvedFormat() throws -> ExportFormat {
        if let format {
            guard let parsed = ExportFormat(rawValue: format.lowercased()) else {
                throw CLIError("--format takes csv, xlsx or json")
            }
            return parsed
        }
        guard let parsed = ExportFormat(path: out) else {
            throw CLIError("\(out): give the file a .csv, .xlsx or .json name, or pass --format")
        }
        return parsed
    }

    /// Writes the tables to `--out` in its format; returns what was written.
    func write(_ tables: [ReportTable], title: String) throws -> (out: String, format: ExportFormat, bytes: [UInt8]) {
        let format = try resolvedFormat()
        let bytes = try ExportFile.bytes(tables, format: format, title: title)
        try writeFile(bytes, to: out)
        return (out, format, bytes)
    }
}

/// The day of `--today`, nil when it is not given.
func parsedDay(_ today: String?) throws -> Day? {
    guard let today else { return nil }
    guard let day = Day(today) else { throw CLIError("--today '\(today)' is not a date like 2026-03-15") }
    return day
}

/// The period of `--month`, or of `--from`/`--to` (an end left out is open); nil when none is given.
func period(month: String?, from: String?, to: String?) throws -> Period? {
    if let month {
        guard let period = Period(month: month) else { throw CLIError("--month '\(month)' is not like 2026-03") }
        return period
    }
    guard from != nil || to != nil else { return nil }
    guard let start = Day(from ?? "2000-01-01"), let end = Day(to ?? "2100-12-31"), start <= end else {
        throw CLIError("--from and --to take dates like 2026-03-15, --from not after --to")
    }
    return Period(from: start, to: end)
}
