import ArgumentParser
import AsyncHTTPClient
import FieldCore
import FieldCrypto
import FieldExport
import FieldFederation
import FieldHub
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import Hummingbird
import Logging

struct FederationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation",
        abstract:
            "A city or province hub over county hubs: join counties, pull them, and export across them (docs/scale-out.md).",
        subcommands: [Join.self, Pull.self, Status.self, Export.self]
    )

    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Join a county with the one-time code its operator made (`fieldlog hub enroll-code --role federation`), then pull it."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The county hub's address, e.g. http://10.1.2.3:8080.") var hub: String
        @Option(
            help:
                "The one-time code the county's operator gave you (leave it out if the operator enrolled this hub's key with `registry enroll --key … --role federation`)."
        )
        var code: String?
        @Option(help: "The county root fingerprint the county's operator told you (required: it is pinned).")
        var rootFingerprint: String
        @Option(help: "The county's name, e.g. 高唐县.") var name: String
        @Flag(
            help:
                "With --code: keep the registry alone and do not pull the county now (`hub serve --federate` pulls it in its first round)."
        )
        var noPull = false

        func run() async throws {
            let key = try global.signingKey()
            let county = try await withClient { client in
                let county = try await Federation.join(
                    folder: global.folder,
                    key: key,
                    hub: hub,
                    code: code,
                    rootFingerprint: rootFingerprint,
                    name: name,
                    client: client,
                    profile: try global.profile()
                )
                if !noPull { _ = try await pullShowingProgress(county, key: key, client: client) }
                return county
            }
            if global.json {
                try global.printJSON(["county": county.name, "rootFingerprint": county.fingerprint, "hub": hub])
                return
            }
            print("已加入 \(county.name)（根密钥指纹 \(county.fingerprint)）\(noPull ? "，尚未拉取" : "，并已从 \(hub) 拉取")。")
            print("下一步：fieldlog hub serve --federate（定时拉取各县），或 fieldlog federation export …")
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pull every county (or one) from its hub now; each commit is verified again as it is taken in."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this county: its name or root fingerprint.") var county: String?

        func run() async throws {
            let key = try global.signingKey()
            let federation = try global.federation()
            let counties = try county.map { [try federation.county(named: $0)] } ?? federation.counties
            guard !counties.isEmpty else {
                throw CLIError("no county is joined yet; join one with `fieldlog federation join`")
            }
            var failed: [String] = []
            var results: [String: String] = [:]
            try await withClient { client in
                for county in counties {
                    do {
                        let summary = try await pullShowingProgress(county, key: key, client: client)
                        results[county.name] = summary.line
                        if !global.json { print("\(county.name)：\(summary.chineseLine)") }
                    } catch {
                        let message = (error as? any FieldlogError)?.message ?? "\(error)"
                        failed.append(county.name)
                        results[county.name] = "failed: " + message
                        if !global.json { print("\(county.name)：拉取失败：\(message)") }
                    }
                }
            }
            if global.json { try global.printJSON(results) }
            guard failed.isEmpty else {
                throw CLIError(
                    "\(failed.joined(separator: ", ")) could not be pulled; what each said is above: fix that, then pull again"
                )
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The counties joined: their roots, hubs, last pull and the commits held."
        )
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let federation = try global.federation()
            struct Row: Encodable {
                var name, rootFingerprint, hub: String
                var lastPull: String?
                var commits, refused: Int
            }
            let rows = try federation.counties.map { county in
                let counts = try county.ledger.syncEngine.commitCounts()
                return Row(
                    name: county.name,
                    rootFingerprint: county.fingerprint,
                    hub: try county.ledger.rememberedHub() ?? "",
                    lastPull: try county.ledger.lastSync()?.at,
                    commits: counts.applied + counts.pending,
                    refused: counts.excluded
                )
            }
            if global.json {
                try global.printJSON(rows)
                return
            }
            guard !rows.isEmpty else {
                print("尚未加入任何县。加入：fieldlog federation join --hub URL --code CODE --root-fingerprint … --name 县名")
                return
            }
            let profile = try global.profile()
            for row in rows {
                let last =
                    row.lastPull.flatMap(ISOTime.parse).map { ISOTime.local($0, profile: profile) } ?? "从未拉取"
                print("\(row.name)  根密钥指纹 \(row.rootFingerprint)  \(row.hub)")
                print("  最近拉取 \(last)，提交 \(row.commits) 条，拒收 \(row.refused) 条")
            }
        }
    }
}

extension FederationCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Supervisors' tables across counties, with a county column: the work ledger, a supervision list, or the rates by county.",
            subcommands: [LedgerTable.self, ListTable.self, RatesTable.self]
        )
    }

    struct LedgerTable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract: "The work ledger (工作台账) of every county, one row per demand."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: ExportFileOptions
        @Flag(help: "Only unresolved demands (every state before 已办结).") var unresolved = false
        @Flag(help: "Only overdue demands.") var overdue = false
        @Option(help: "Only demands registered in this month, YYYY-MM.") var month: String?

        func run() throws {
            let (federation, profile, day) = try output.judging(global)
            var filter = LedgerFilter()
            filter.unresolvedOnly = unresolved
            filter.overdueOnly = overdue
            filter.period = try period(month: month, from: nil, to: nil)
            let table = try federation.workLedger(filter, today: day, profile: profile)
            try output.write(table, title: "各县工作台账", global: global)
        }
    }

    struct ListTable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "A supervision list across counties: dragOn (久拖不决), buckPassing (推诿扯皮) or escalated (督办)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: ExportFileOptions
        @Argument(help: "dragOn, buckPassing or escalated.") var list: String

        func run() throws {
            guard let chosen = SupervisionList(rawValue: list) else {
                throw CLIError("the list is one of dragOn (久拖不决), buckPassing (推诿扯皮), escalated (督办)")
            }
            let (federation, profile, day) = try output.judging(global)
            let table = try federation.supervisionList(chosen, today: day, profile: profile)
            try output.write(table, title: "各县\(chosen.chinese)清单", global: global)
        }
    }

    struct RatesTable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rates",
            abstract: "The rates of docs/rates.md by county for a month, with all counties together in the last row."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: ExportFileOptions
        @Option(help: "The month, YYYY-MM.") var month: String

        func run() throws {
            guard let period = try period(month: month, from: nil, to: nil) else {
                throw CLIError("give --month YYYY-MM")
            }
            let (federation, profile, day) = try output.judging(global)
            let table = try federation.ratesByCounty(period, today: day, profile: profile)
            try output.write(table, title: "分县指标 \(month)", global: global)
        }
    }
}

extension ExportFileOptions {
    /// The federation, the deadline profile, and the day its tables are judged on (`--today`).
    func judging(_ global: GlobalOptions) throws -> (Federation, DeadlineProfile, Day) {
        let federation = try global.federation()
        let profile = try global.profile()
        return (federation, profile, try parsedDay(today) ?? federation.today(profile: profile))
    }

    /// Writes one table across counties and says so (`--json`: the file, format and rows).
    func write(_ table: ReportTable, title: String, global: GlobalOptions) throws {
        let (out, format, bytes) = try write([table], title: title)
        if global.json {
            try global.printJSON(["file": out, "format": format.rawValue, "rows": String(table.rows.count)])
        } else {
            print("已写出 \(out)（\(format.rawValue)，\(table.rows.count) 行，\(bytes.count) 字节）。")
        }
    }
}

extension GlobalOptions {
    /// The federation of this data folder: its key's public half, and the counties joined.
    func federation() throws -> Federation {
        guard FileManager.default.fileExists(atPath: keyPath) else {
            throw CLIError("no key in \(folder); run `fieldlog init` there first (or pass --data)")
        }
        guard !hasReplica else {
            throw CLIError("\(folder) holds a county replica, not a federation; use another --data folder")
        }
        return try Federation(folder: folder, publicKey: try publicKey(), profile: try profile())
    }
}

/// Pulls one county, showing progress on a terminal.
private func pullShowingProgress(
    _ county: FederatedCounty,
    key: SigningKey,
    client: HTTPClient
) async throws -> SyncSummary {
    let showProgress = isatty(STDERR_FILENO) == 1
    let summary = try await Federation.pull(county, key: key, client: client) { progress in
        guard showProgress else { return }
        FileHandle.standardError.write(
            Data("\r\(county.name) \(progress.phase): \(progress.commits) commits   ".utf8)
        )
    }
    if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
    return summary
}

/// Runs `body` with an HTTP client, shut down after it whatever happens.
func withClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPTransport.makeClient()
    let result: Result<T, any Error>
    do { result = .success(try await body(client)) } catch { result = .failure(error) }
    try await client.shutdown()
    return try result.get()
}

/// `hub serve --federate`: a city or province hub pulling the counties joined in its data folder,
/// round after round, with `/healthz`, `/metrics` and `/v1/federation/status` on its port.
struct FederateOptions: ParsableArguments {
    @Flag(
        help:
            "Serve as a city or province hub: pull every county joined (`fieldlog federation join`) round after round."
    )
    var federate = false
    @Option(help: "With --federate: seconds between the end of a round of pulls and the next.") var pullInterval = 60
    @Option(help: "With --federate: how many counties are pulled at once.") var pullConcurrency = 2

    func serve(_ global: GlobalOptions, host: String, port: Int) async throws {
        guard (1...86_400).contains(pullInterval), (1...64).contains(pullConcurrency) else {
            throw CLIError("--pull-interval takes 1 to 86400 seconds, --pull-concurrency 1 to 64")
        }
        let federation = try global.federation()
        guard !federation.counties.isEmpty else {
            throw CLIError("no county is joined yet; join one first with `fieldlog federation join`")
        }
        let key = try global.signingKey()
        let base = serverConfiguration(
            ledger: federation.counties[0].ledger,
            key: key,
            host: host,
            port: port,
            role: "federation"
        )
        var configuration = FederationConfiguration(federation: federation, key: key)
        configuration.host = host
        configuration.port = port
        configuration.pullInterval = .seconds(pullInterval)
        configuration.concurrency = pullConcurrency
        configuration.logger = base.logger
        configuration.onListening = base.onListening
        let logger = base.logger
        configuration.onRound = { round in
            let failed = round.outcomes.values.filter { if case .failure = $0 { true } else { false } }.count
            if round.number == 1 {
                // Scripts and supervisors wait for this line: the replicas are as fresh as the counties.
                FileHandle.standardOutput.write(
                    Data(
                        "第一轮拉取完成：\(round.outcomes.count) 个县，失败 \(failed) 个，用时 \(round.duration.components.seconds) 秒。\n"
                            .utf8
                    )
                )
            }
            logger.info(
                "round of pulls",
                metadata: [
                    "round": "\(round.number)", "counties": "\(round.outcomes.count)", "failed": "\(failed)",
                    "seconds": "\(round.duration.components.seconds)",
                ]
            )
        }
        print(
            "Federating \(federation.counties.count) counties: \(federation.counties.map(\.name).joined(separator: "、"))."
        )
        try await listening(host: host, port: port) {
            try await buildFederation(configuration).runService()
        }
    }
}
