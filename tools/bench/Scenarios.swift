import AsyncHTTPClient
import FieldCore
import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Raw SQLite with the ledger's tables (no engine, no triggers) and the replica's settings (WAL,
/// synchronous NORMAL): the baseline of the write and merge scenarios.
func rawDatabase(_ path: String) throws -> DatabasePool {
    var configuration = Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    let pool = try DatabasePool(path: path, configuration: configuration)
    try pool.write { db in
        for migration in LedgerSchema.current.migrations { try db.execute(sql: migration.sql) }
    }
    return pool
}

func visitCells(_ index: Int, enterprise: UUID) -> [String: Value] {
    [
        "enterprise_id": .blob(enterprise.bytes16), "visit_date": .text("2026-03-\(10 + index % 18)"),
        "participants": .text("王强, 县人社局 赵雪"),
        "mode": .text("实地"), "service_day": .integer(1), "topics": .text("用工、融资、用地：第\(index)次走访"),
        "notes": .text("订单饱满，二季度产能利用率约九成，新上两条生产线急需熟练挡车工"), "no_demands": .integer(0),
        "solved_on_spot": .text("现场解答社保补贴政策"), "next_visit_date": .text("2026-04-15"),
    ]
}

/// 1. Single-record durable commits through the engine, beside raw inserts of the same rows.
func runLocalWrites(_ county: SyntheticCounty, _ options: Options, _ report: inout BenchReport) throws {
    var runs: [Double] = []
    var baseline: [Double] = []
    // CPU time per commit beside the rates: on this kind of disk the rates of both sides move by
    // a quarter between runs, the CPU a commit costs much less.
    var cpu: [Double] = []
    var rawCPU: [Double] = []
    let enterprise = county.enterpriseIDs[0]
    let scope = RegistryIDs.scope(of: enterprise)
    for run in 1...options.repeats {
        progress("local write \(run)/\(options.repeats): \(options.writes) single-visit commits, and the same rows raw")
        let path = NSTemporaryDirectory() + "fieldlog-bench-writes-\(UUID().uuidString)"
        defer {
            for suffix in ["", "-wal", "-shm", "-raw", "-raw-wal", "-raw-shm"] {
                try? FileManager.default.removeItem(atPath: path + suffix)
            }
        }
        let ledger = try Ledger.open(path: path, root: county.root.publicKey, key: county.root)
        _ = try ledger.replica.importRecords(county.registry)
        var cpuStart = cpuSeconds()
        runs.append(
            try seconds {
                for index in 0..<options.writes {
                    try ledger.replica.write(scope: scope, as: county.root) { batch in
                        batch.insert("visits", visitCells(index, enterprise: enterprise))
                    }
                }
            }
        )
        cpu.append((cpuSeconds() - cpuStart) / Double(options.writes) * 1e6)
        let raw = try rawDatabase(path + "-raw")
        let columns = visitCells(0, enterprise: enterprise).keys.sorted()
        let sql =
            "INSERT INTO visits(id, scope, deleted, " + columns.joined(separator: ", ") + ") VALUES (?, ?, 0, "
            + columns.map { _ in "?" }.joined(separator: ", ") + ")"
        cpuStart = cpuSeconds()
        baseline.append(
            try seconds {
                for index in 0..<options.writes {
                    let values = visitCells(index, enterprise: enterprise)
                    try raw.write { db in
                        try db.cachedStatement(sql: sql).execute(
                            arguments: StatementArguments(
                                [
                                    Data(UUID.v7(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000)).bytes16)
                                        .databaseValue, scope.databaseValue,
                                ]
                                    + columns.map { values[$0]!.databaseValue }
                            )
                        )
                    }
                }
            }
        )
        rawCPU.append((cpuSeconds() - cpuStart) / Double(options.writes) * 1e6)
    }
    // Rates, so that the ratio is "fieldlog / raw" in throughput: the target is at least 1/3.
    let rate = runs.map { Double(options.writes) / $0 }
    let rawRate = baseline.map { Double(options.writes) / $0 }
    let ratio = FieldlogBench.median(rate) / FieldlogBench.median(rawRate)
    report.add(
        ScenarioResult(
            name: "local write",
            unit: "commits/s",
            runs: rate,
            baselineName: "raw SQLite inserts, one transaction each",
            baselineRuns: rawRate,
            ratio: ratio,
            target: "≥ 1/3 of raw",
            met: ratio >= 1.0 / 3,
            figures: [
                "CPU µs per commit": FieldlogBench.median(cpu), "raw CPU µs per commit": FieldlogBench.median(rawCPU),
            ]
        )
    )
}

/// 2. The bundle into a fresh replica, every signature verified, beside raw upserts of the same
/// rows plus libsodium verifying the same signatures on one core. Returns the hub replica's path.
func runMerge(_ county: SyntheticCounty, _ options: Options, _ report: inout BenchReport) throws -> String {
    var runs: [Double] = []
    var memory: [Double] = []
    let hubFolder = NSTemporaryDirectory() + "fieldlog-bench-hub-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: hubFolder + "/keys", withIntermediateDirectories: true)
    let hubPath = hubFolder + "/replica.sqlite"
    for run in 1...options.repeats {
        progress("merge \(run)/\(options.repeats): \(county.commitCount) commits from the bundle into a fresh replica")
        let path =
            run == options.repeats ? hubPath : NSTemporaryDirectory() + "fieldlog-bench-merge-\(UUID().uuidString)"
        defer {
            if path != hubPath {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
        }
        // In a process of its own: its peak RSS is the merge's, not the bench's county besides.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--merge-child", county.bundlePath, path, county.root.publicKey.hex]
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        let fields = answer.split(separator: " ", maxSplits: 4).map(String.init)
        guard child.terminationStatus == 0, fields.count >= 4, fields[0] == "merge-child",
            let time = Double(fields[1]), let applied = Int(fields[2]), let peak = Double(fields[3])
        else { throw BenchError("the merge process failed (exit \(child.terminationStatus)): \(answer)") }
        guard applied == county.commitCount + county.registry.count else {
            throw BenchError(
                "the import applied \(applied) of \(county.commitCount + county.registry.count): \(fields.dropFirst(4))"
            )
        }
        runs.append(time)
        memory.append(peak)
    }
    progress(
        "merge baseline: the same rows upserted raw, 2,000 commits per transaction, and the same signatures verified"
    )
    var baseline: [Double] = []
    var verifyTimes: [Double] = []
    var upsertTimes: [Double] = []
    for _ in 1...options.repeats {
        let path = NSTemporaryDirectory() + "fieldlog-bench-raw-\(UUID().uuidString)"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let raw = try rawDatabase(path)
        var upsert = 0.0
        var chunk: [Commit] = []
        func flush() throws {
            let commits = chunk
            upsert += try seconds {
                try raw.write { db in
                    for commit in commits {
                        for (row, changes) in Dictionary(grouping: commit.changes, by: { $0.row }) {
                            let table = changes[0].table
                            let columns = changes.map(\.column)
                            let names: String = columns.map { "\"\($0)\"" }.joined(separator: ", ")
                            let marks: String = columns.map { _ in "?" }.joined(separator: ", ")
                            let updates: String = columns.map { "\"\($0)\" = excluded.\"\($0)\"" }.joined(
                                separator: ", "
                            )
                            let sql =
                                "INSERT INTO \"\(table)\"(id, scope, \(names)) VALUES (?, ?, \(marks)) ON CONFLICT(id) DO UPDATE SET \(updates)"
                            try db.cachedStatement(sql: sql).execute(
                                arguments: StatementArguments(
                                    [Data(row.bytes16).databaseValue, commit.scope.databaseValue]
                                        + changes.map(\.value.databaseValue)
                                )
                            )
                        }
                    }
                }
            }
            chunk.removeAll(keepingCapacity: true)
        }
        for record in try CommitBundle.open(county.bundlePath) {
            let length = Int(record[0]) << 24 | Int(record[1]) << 16 | Int(record[2]) << 8 | Int(record[3])
            chunk.append(try CommitCodec.decode(Array(record[4..<4 + length])))
            if chunk.count == 2000 { try flush() }
        }
        try flush()
        let verify = try seconds {
            for record in try CommitBundle.open(county.bundlePath) { _ = try WireRecord.decode(record) }
        }
        upsertTimes.append(upsert)
        verifyTimes.append(verify)
        baseline.append(upsert + verify)
    }
    let ratio = FieldlogBench.median(runs) / FieldlogBench.median(baseline)
    let peak = FieldlogBench.median(memory)
    report.add(
        ScenarioResult(
            name: "merge",
            unit: "s",
            runs: runs,
            baselineName: "raw upserts + libsodium verify",
            baselineRuns: baseline,
            ratio: ratio,
            target: "≤ 2× the limit, peak RSS < 200 MB",
            met: ratio <= 2 && peak < 200,
            figures: [
                "commits per second": Double(county.commitCount) / FieldlogBench.median(runs), "peak RSS MB": peak,
                "raw upserts s": FieldlogBench.median(upsertTimes),
                "decode + verify s (1 core)": FieldlogBench.median(verifyTimes),
                "merged replica MB": fileMB(hubPath),
            ]
        )
    )
    return hubPath
}

/// `fieldlog-bench --merge-child BUNDLE REPLICA ROOT`: merges the bundle into a fresh replica and
/// prints one line, `merge-child SECONDS APPLIED PEAK_RSS_MB [first refusals]`.
func runMergeChild(_ arguments: [String]) throws {
    guard arguments.count == 3, let root = try? PublicKey(hex: arguments[2]) else {
        throw BenchError("--merge-child takes BUNDLE REPLICA ROOT-KEY-HEX")
    }
    let target = try Ledger.open(path: arguments[1], root: root, key: SigningKey.generate())
    var imported = ImportReport()
    let time = try seconds {
        imported = try target.replica.importRecords(try CommitBundle.open(arguments[0])) { seen in
            if seen % 20_000 == 0 { progress("  \(seen) commits imported") }
        }
    }
    let refusals = imported.refused.prefix(3).map { "\($0.code.rawValue): \($0.reason)" }.joined(separator: "; ")
    print("merge-child \(time) \(imported.applied) \(peakMemoryMB()) \(refusals)")
}

/// Runs the hub on 127.0.0.1 in this process while `body` runs; returns the body's result.
func withHub<T: Sendable>(
    _ ledger: Ledger,
    key: SigningKey,
    _ body: @Sendable (String) async throws -> T
) async throws -> T {
    var configuration = HubConfiguration(ledger: ledger, hubKey: key)
    configuration.port = 0
    configuration.logger.logLevel = .critical  // the server logs its own shutdown at error level
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    configuration.onListening = { continuation.yield($0) }
    let app = buildHub(configuration)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await app.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw BenchError("the hub did not start") }
        let result = try await body("http://127.0.0.1:\(port)")
        group.cancelAll()
        return result
    }
}

/// 3 and 4. A fresh supervisor device pulls everything from a hub on loopback, then syncs again
/// with nothing new.
func runInitialSync(
    _ county: SyntheticCounty,
    hubPath: String,
    _ options: Options,
    _ incoming: BenchReport
) async throws -> BenchReport {
    var report = incoming
    let hub = try Ledger.open(path: hubPath, root: county.root.publicKey, key: county.root)
    var devices: [SigningKey] = []
    for _ in 1...options.repeats {
        let key = SigningKey.generate()
        _ = try hub.enroll(publicKey: key.publicKey, role: .supervisor, label: "bench")
        devices.append(key)
    }
    let root = county.root
    let keys = devices
    let runs = try await withHub(hub, key: root) { url in
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var results: [(Double, Int, Double, Int)] = []
        for (run, key) in keys.enumerated() {
            progress(
                "initial sync \(run + 1)/\(keys.count): a fresh device pulls every commit from the hub over loopback HTTP"
            )
            let path = NSTemporaryDirectory() + "fieldlog-bench-device-\(UUID().uuidString)"
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            let device = try Ledger.open(path: path, root: root.publicKey, key: key)
            let transport = HTTPTransport(baseURL: url, key: key, hubKey: root.publicKey, client: http)
            let client = SyncClient(replica: device.replica, peer: url)
            var start = DispatchTime.now().uptimeNanoseconds
            let first = try await client.sync(over: transport) { @Sendable step in
                if step.commits % 20_000 == 0 {
                    FileHandle.standardError.write(Data("  \(step.commits) commits received\n".utf8))
                }
            }
            let initial = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            start = DispatchTime.now().uptimeNanoseconds
            let again = try await client.sync(over: transport)
            let nothing = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3
            guard again.upToDate, again.received == 0 else { throw BenchError("a second sync was not empty: \(again)") }
            results.append((initial, first.received, nothing / 1000, again.requestBytes + again.responseBytes))
        }
        try await http.shutdown()
        return results
    }
    let merge = report.scenarios.first { $0.name == "merge" }!
    let ratio = FieldlogBench.median(runs.map(\.0)) / merge.median
    report.add(
        ScenarioResult(
            name: "initial sync over HTTP",
            unit: "s",
            runs: runs.map(\.0),
            baselineName: "merge from a file",
            baselineRuns: merge.runs,
            ratio: ratio,
            target: "≤ 1.3× the merge",
            met: ratio <= 1.3,
            figures: ["commits received": Double(runs[0].1)]
        )
    )
    let bytes = FieldlogBench.median(runs.map { Double($0.3) })
    let milliseconds = FieldlogBench.median(runs.map(\.2))
    report.add(
        ScenarioResult(
            name: "sync with nothing new",
            unit: "ms",
            runs: runs.map(\.2),
            target: "< 2 KB of bodies and < 50 ms",
            met: bytes < 2048 && milliseconds < 50,
            figures: ["bytes of bodies": bytes]
        )
    )
    return report
}

/// 6. The unresolved work ledger and the monthly report on the whole county, beside the same SQL
/// (the rows those reports read) run raw.
func runLedgerQueries(
    hubPath: String,
    _ county: SyntheticCounty,
    _ options: Options,
    _ report: inout BenchReport
) throws {
    let ledger = try Ledger.open(path: hubPath, root: county.root.publicKey, key: county.root)
    let today = DeadlineProfile.shandong2115.localDay(Int64(Date().timeIntervalSince1970 * 1000))
    let month = Period(month: String(today.adding(days: -30).description.prefix(7)))!
    var filter = LedgerFilter()
    filter.unresolvedOnly = true
    var ledgerRuns: [Double] = []
    var monthlyRuns: [Double] = []
    var rawRuns: [Double] = []
    var rows = 0
    for run in 1...options.repeats {
        progress(
            "ledger queries \(run)/\(options.repeats): the unresolved ledger and the monthly report of \(month.from.description.prefix(7))"
        )
        ledgerRuns.append(try seconds { rows = try ledger.workLedger(filter, today: today).rows.count })
        monthlyRuns.append(try seconds { _ = try ledger.monthlyReport(month, today: today) })
        rawRuns.append(
            try seconds {
                try ledger.replica.database.read { db in
                    _ = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT d.*, e.name, e.uscc, e.township, e.contact_name, e.contact_phone, c.name
                            FROM demands d LEFT JOIN enterprises e ON e.id = d.enterprise_id LEFT JOIN cadres c ON c.id = d.cadre_id WHERE d.deleted = 0
                            """
                    )
                    _ = try Row.fetchAll(db, sql: "SELECT * FROM demand_events WHERE deleted = 0 ORDER BY demand_id")
                }
            }
        )
    }
    // Every synthetic step is taken by a device whose registry role may take it; one disregarded
    // would mean the generator (or the workflow's admission rule) went wrong.
    let disregarded = try ledger.allStatuses().values.reduce(0) { $0 + $1.disregarded.count }
    for (name, runs) in [
        ("ledger query: unresolved ledger", ledgerRuns), ("ledger query: monthly report", monthlyRuns),
    ] {
        let ratio = FieldlogBench.median(runs) / FieldlogBench.median(rawRuns)
        report.add(
            ScenarioResult(
                name: name,
                unit: "s",
                runs: runs,
                baselineName: "the rows it reads, raw SQL",
                baselineRuns: rawRuns,
                ratio: ratio,
                target: "< 200 ms",
                met: FieldlogBench.median(runs) < 0.2,
                // The first call after the merge derives every status and fills the status cache.
                figures: name.contains("unresolved")
                    ? [
                        "rows": Double(rows), "first call s (fills the status cache)": runs[0],
                        "disregarded workflow events": Double(disregarded),
                    ]
                    : ["first call s": runs[0]]
            )
        )
    }
}

/// 5. `devices` cadre devices, each with its own key, push 10 commits and pull, all at once, to a
/// hub running as its own process (`fieldlog hub serve`), so that its memory is its own. Then
/// `moreDevices` further devices, enrolled for the same cadres before the hub starts (several
/// laptops per cadre), do the same against the same hub: the p99 and errors of a county far
/// larger than the target's are reported beside it.
func runHubLoad(
    _ county: SyntheticCounty,
    hubPath: String,
    _ options: Options,
    _ incoming: BenchReport
) async throws -> BenchReport {
    var report = incoming
    let hubFolder = URL(fileURLWithPath: hubPath).deletingLastPathComponent().path
    defer { try? FileManager.default.removeItem(atPath: hubFolder) }
    try KeyFile.write(
        county.root,
        passphrase: benchPassphrase,
        to: hubFolder + "/keys/device.key",
        parameters: .minimum
    )
    let hub = try Ledger.open(path: hubPath, root: county.root.publicKey, key: county.root)
    let cadres = county.cadreKeys.count
    if options.moreDevices > 0 {
        progress("hub under load: enrolling \(options.moreDevices) more devices for the same cadres")
    }
    var more: [SigningKey] = []
    for index in 0..<options.moreDevices {
        let key = SigningKey.generate()
        _ = try hub.enroll(publicKey: key.publicKey, role: .cadre, cadre: county.cadreNames[index % cadres])
        more.append(key)
    }
    let registry = try registrySequence(county, hub)
    let first = try (0..<options.devices).map {
        try loadDevice(
            county,
            hub: hub,
            key: county.cadreKeys[$0],
            cadre: $0,
            enterprise: $0,
            registrySequence: registry
        )
    }
    let second = try more.enumerated().map {
        try loadDevice(
            county,
            hub: hub,
            key: $0.element,
            cadre: $0.offset % cadres,
            enterprise: $0.offset % cadres,
            registrySequence: registry
        )
    }

    let (process, announced) = try startFieldlog([
        "hub", "serve", "--data", hubFolder, "--port", "0", "--idle-timeout", "120",
    ])
    defer { stop(process) }
    let url = try listeningURL(announced)

    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(
        idleTimeout: .seconds(60),
        concurrentHTTP1ConnectionsPerHostSoftLimit: max(options.devices, options.moreDevices)
    )
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    progress("hub under load: \(first.count) devices push 10 commits and pull, all at once, against \(url)")
    let target = try await burst(first, url: url, hubKey: county.root.publicKey, http: http)
    report.add(
        target.result(
            name: "hub under load",
            target: "no errors, p99 < 1 s, hub RSS < 300 MB",
            hubPeak: peakMemoryMB(pid: process.processIdentifier),
            met: { errors, p99, peak in errors == 0 && p99 < 1 && peak < 300 }
        )
    )
    if !second.isEmpty {
        progress("hub under load: \(second.count) more devices push 10 commits and pull, all at once")
        let larger = try await burst(second, url: url, hubKey: county.root.publicKey, http: http)
        report.add(
            larger.result(
                name: "hub under load, more devices",
                target: "reported: \(second.count) devices, p99 and errors",
                hubPeak: peakMemoryMB(pid: process.processIdentifier),
                met: { errors, _, _ in errors == 0 }
            )
        )
    }
    try await http.shutdown()
    return report
}

/// The head of the county's registry feed, which a device's new commits name.
func registrySequence(_ county: SyntheticCounty, _ hub: Ledger) throws -> UInt64 {
    try hub.syncEngine.heads(of: county.root.publicKey)[Commit.registryScope] ?? 0
}

/// A device of the load scenarios: its key, the enterprise it writes in (one its cadre is linked
/// to), and the heads of its cadre's scopes, which its pull starts from.
func loadDevice(
    _ county: SyntheticCounty,
    hub: Ledger,
    key: SigningKey,
    cadre: Int,
    enterprise: Int,
    registrySequence: UInt64
) throws
    -> LoadDevice
{
    let cadres = county.cadreKeys.count
    let scopes = Set(
        stride(from: cadre, to: county.enterpriseIDs.count, by: cadres).map {
            RegistryIDs.scope(of: county.enterpriseIDs[$0])
        }
    )
    return LoadDevice(
        key: key,
        enterprise: county.enterpriseIDs[enterprise],
        heads: try hub.syncEngine.heads(scopes: scopes),
        start: county.feeds[key.publicKey.hex + RegistryIDs.scope(of: county.enterpriseIDs[enterprise])]
            ?? (0, CommitID.zero),
        registrySequence: registrySequence
    )
}

/// One device of the load scenario.
struct LoadDevice: Sendable {
    var key: SigningKey
    var enterprise: UUID
    var heads: [FeedHead]
    /// Its feed in the enterprise's scope before the load: head sequence and commit id.
    var start: (UInt64, CommitID)
    var registrySequence: UInt64

    /// Its 10 new visits, continuing its feed.
    func pushes(now: UInt64) throws -> [[UInt8]] {
        let scope = RegistryIDs.scope(of: enterprise)
        var (sequence, previous) = start
        var records: [[UInt8]] = []
        for index in 0..<10 {
            sequence += 1
            let visit = UUID.v7(milliseconds: now + UInt64(index))
            let signed = try SignedCommit(
                signing: Commit(
                    author: key.publicKey,
                    scope: scope,
                    sequence: sequence,
                    previous: previous,
                    timestamp: Timestamp(milliseconds: now + UInt64(index), counter: 0),
                    schemaVersion: LedgerSchema.current.version,
                    registrySequence: registrySequence,
                    changes: visitCells(index, enterprise: enterprise).map {
                        Change(table: "visits", row: visit, column: $0.key, value: $0.value)
                    }
                ),
                with: key
            )
            previous = signed.id
            records.append(signed.wire)
        }
        return records
    }
}

/// What one burst of the load scenario measured.
struct Burst {
    var latencies: [Double]
    /// The push writer's groups during the burst, and its time on them (from the hub's metrics).
    var groups: Double
    var writerBusy: Double
    var errors: Int
    var requests: Int
    var wall: Double
    var probes: [Double]
    var devices: Int

    func percentile(_ p: Double) -> Double {
        latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
    }

    func result(
        name: String,
        target: String,
        hubPeak: Double,
        met: (Int, Double, Double) -> Bool
    ) -> ScenarioResult {
        ScenarioResult(
            name: name,
            unit: "requests/s",
            runs: [Double(requests) / wall],
            target: target,
            met: met(errors, percentile(0.99), hubPeak),
            figures: [
                "commits pushed per second": Double(10 * devices) / wall, "p50 latency s": percentile(0.5),
                "p99 latency s": percentile(0.99), "errors": Double(errors), "hub peak RSS MB": hubPeak,
                "wall s": wall, "push groups": groups, "push writer busy s": writerBusy,
                "healthz probes": Double(probes.count), "healthz max latency s": probes.last ?? .nan,
                "healthz median latency s": probes.isEmpty ? .nan : probes[probes.count / 2],
            ]
        )
    }
}

/// Every device pushes its 10 commits, then pulls, all at once; an operator's health check
/// (a load balancer's probe) asks /healthz every 100 ms meanwhile, from a thread of its own with a
/// plain socket, so that nothing of this process's own load delays it. /healthz does no database
/// work: its latency shows whether the burst leaves the hub's threads free to answer.
func burst(_ devices: [LoadDevice], url: String, hubKey: PublicKey, http: HTTPClient) async throws -> Burst {
    let now = UInt64(Date().timeIntervalSince1970 * 1000)
    let pushes = try devices.map { try $0.pushes(now: now) }
    let writerBefore = try await writerFigures(url: url, http: http)
    let start = DispatchTime.now().uptimeNanoseconds
    let probe = HealthProbe(port: Int(url.split(separator: ":").last ?? "") ?? 0)
    let failures = FailureSamples()
    probe.start()
    let outcomes = await withTaskGroup(of: [Double?].self) { group in
        for (device, records) in zip(devices, pushes) {
            group.addTask {
                var transport = HTTPTransport(baseURL: url, key: device.key, hubKey: hubKey, client: http)
                transport.timeout = .seconds(120)
                var latencies: [Double?] = []
                for request in [
                    SyncRequest.push(records),
                    .pull(PullRequest(after: device.heads, maxCommits: 2000, maxBytes: 4 << 20)),
                ] {
                    let begin = DispatchTime.now().uptimeNanoseconds
                    do {
                        _ = try await transport.exchange(request)
                        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9)
                    } catch {
                        latencies.append(nil)
                        failures.note(error)
                    }
                }
                return latencies
            }
        }
        var all: [Double?] = []
        for await latencies in group { all += latencies }
        return all
    }
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    for (message, count) in failures.counts.sorted(by: { $0.value > $1.value }).prefix(5) {
        progress("  \(count) requests failed: \(message)")
    }
    let writerAfter = try await writerFigures(url: url, http: http)
    let latencies = outcomes.compactMap { $0 }.sorted()
    return Burst(
        latencies: latencies,
        groups: writerAfter.groups - writerBefore.groups,
        writerBusy: writerAfter.busy - writerBefore.busy,
        errors: outcomes.count - latencies.count,
        requests: outcomes.count,
        wall: wall,
        probes: probe.stop().sorted(),
        devices: devices.count
    )
}

/// How many requests of a burst failed, by what their error said (the sentence a person sees).
final class FailureSamples: Sendable {
    private let state = Mutex<[String: Int]>([:])

    func note(_ error: any Error) {
        let message = (error as? any FieldlogError)?.message ?? "\(type(of: error))"
        state.withLock { $0[message, default: 0] += 1 }
    }

    var counts: [String: Int] { state.withLock { $0 } }
}

/// The push writer's groups so far and its seconds on them, read from the hub's `GET /metrics`.
func writerFigures(url: String, http: HTTPClient) async throws -> (groups: Double, busy: Double) {
    let response = try await http.execute(HTTPClientRequest(url: url + HubRoutes.metrics), timeout: .seconds(30))
    let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
    func value(_ series: String) -> Double {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }
    return (value("fieldlog_hub_push_groups_total"), value("fieldlog_hub_push_group_duration_seconds_sum"))
}

/// Asks GET /healthz on 127.0.0.1:`port` every 100 ms on a thread of its own, over a new
/// connection each time, and keeps each answer's latency (failed probes are left out).
final class HealthProbe: Sendable {
    let port: Int
    let state = Mutex<(running: Bool, latencies: [Double])>((true, []))
    let finished = DispatchSemaphore(value: 0)

    init(port: Int) { self.port = port }

    func start() {
        Thread { [self] in
            while state.withLock({ $0.running }) {
                let begin = DispatchTime.now().uptimeNanoseconds
                if askOnce() {
                    state.withLock { $0.latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9) }
                }
                usleep(100_000)
            }
            finished.signal()
        }.start()
    }

    /// Stops the probing and returns the latencies.
    func stop() -> [Double] {
        state.withLock { $0.running = false }
        finished.wait()
        return state.withLock { $0.latencies }
    }

    func askOnce() -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return received.starts(with: Array("HTTP/1.1 200".utf8))
    }
}
