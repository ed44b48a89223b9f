// fieldlog-bench: the replica's write and import paths beside raw SQLite doing the same rows in
// the same run, and a fresh device pulling the same commits from a hub over loopback HTTP beside
// importing them from a file. Usage: fieldlog-bench [--writes N] [--commits N] [--json FILE]
import AsyncHTTPClient
import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import GRDB
import Hummingbird
import Logging

struct Options {
    var writes = 2000
    var commits = 100_000
    var json: String?

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--writes": writes = Int(iterator.next() ?? "") ?? writes
            case "--commits": commits = Int(iterator.next() ?? "") ?? commits
            case "--json": json = iterator.next()
            default:
                FileHandle.standardError.write(Data("usage: fieldlog-bench [--writes N] [--commits N] [--json FILE]\n".utf8))
                exit(2)
            }
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func progress(_ text: String) {
    FileHandle.standardError.write(Data("\(text)\n".utf8))
}

let options = Options(CommandLine.arguments)
let folder = NSTemporaryDirectory() + "fieldlog-bench-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

let columns = ["visit_date", "participants", "mode", "service_day", "topics", "notes", "no_demands", "solved_on_spot", "next_visit_date"]
func visitValues(_ index: Int) -> [String: Value] {
    [
        "visit_date": .text("2026-03-\(10 + index % 18)"), "participants": .text("王强, 县人社局 赵雪"), "mode": .text("实地"),
        "service_day": .integer(1), "topics": .text("用工、融资、用地：第\(index)次走访"),
        "notes": .text("订单饱满，二季度产能利用率约九成，新上两条生产线急需熟练挡车工"), "no_demands": .integer(0),
        "solved_on_spot": .text("现场解答社保补贴政策"), "next_visit_date": .text("2026-04-15"),
    ]
}

/// Raw SQLite with the same settings as a replica (WAL, synchronous NORMAL).
func rawDatabase(_ name: String) throws -> DatabasePool {
    var configuration = Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    let pool = try DatabasePool(path: folder + "/" + name, configuration: configuration)
    try pool.write { db in
        try db.execute(sql: "CREATE TABLE visits(id BLOB PRIMARY KEY, scope TEXT, deleted INTEGER, enterprise_id BLOB, cadre_id BLOB, " + columns.map { "\($0)" }.joined(separator: ", ") + ")")
    }
    return pool
}

var results: [String: Double] = [:]

// 1. Single-record local writes, one durable transaction each.
progress("local writes: \(options.writes) single-visit commits, and the same rows raw")
let root = SigningKey.generate()
let ledger = try Ledger.open(path: folder + "/writes.sqlite", root: root.publicKey, key: root)
try ledger.addDepartments([DepartmentInput(name: "县工业和信息化局")])
try ledger.addEnterprises([EnterpriseInput(name: "山东高唐纺织有限公司", uscc: "91371082775260043P")])
let enterprise = try ledger.enterprise(named: "山东高唐纺织有限公司")
let scope = RegistryIDs.scope(of: enterprise)
let writeTime = try seconds {
    for index in 0..<options.writes {
        try ledger.replica.write(scope: scope, as: root) { batch in
            var values = visitValues(index)
            values["enterprise_id"] = .blob(enterprise.bytes16)
            batch.insert("visits", values)
        }
    }
}
let raw = try rawDatabase("raw-writes.sqlite")
let rawWriteTime = try seconds {
    for index in 0..<options.writes {
        try raw.write { db in
            let values = visitValues(index)
            try db.execute(
                sql: "INSERT INTO visits(id, scope, deleted, enterprise_id, " + columns.joined(separator: ", ") + ") VALUES (?, ?, 0, ?, " + columns.map { _ in "?" }.joined(separator: ", ") + ")",
                arguments: StatementArguments([Data(UUID.v7(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000)).bytes16).databaseValue, scope.databaseValue, Data(enterprise.bytes16).databaseValue] + columns.map { values[$0]!.databaseValue })
            )
        }
    }
}
results["local_write_commits_per_s"] = Double(options.writes) / writeTime
results["raw_insert_tx_per_s"] = Double(options.writes) / rawWriteTime

// 2. Import a bundle of N commits of 10 cells each into a fresh replica.
progress("import: making a bundle of \(options.commits) commits of 10 cells")
let source = try Ledger.open(path: folder + "/source.sqlite", root: root.publicKey, key: root)
try source.addDepartments([DepartmentInput(name: "县工业和信息化局")])
try source.addEnterprises([EnterpriseInput(name: "山东高唐纺织有限公司", uscc: "91371082775260043P")])
let sourceEnterprise = try source.enterprise(named: "山东高唐纺织有限公司")
let sourceScope = RegistryIDs.scope(of: sourceEnterprise)
// Commits are made directly (signed, chained) rather than through local writes, to build the bundle quickly.
let bundlePath = folder + "/big.bundle"
var registry: [[UInt8]] = []
try source.replica.exportRecords { registry.append($0) }
do {
    _ = FileManager.default.createFile(atPath: bundlePath, contents: nil)
    let handle = FileHandle(forWritingAtPath: bundlePath)!
    let hasher = BLAKE2b.Hasher()
    var buffer = Array("FLBUNDL1".utf8)
    var previous = CommitID.zero
    func append(_ record: [UInt8]) {
        let length = UInt32(record.count)
        buffer += [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
        buffer += record
        if buffer.count > 1 << 20 {
            hasher.update(buffer)
            handle.write(Data(buffer))
            buffer.removeAll(keepingCapacity: true)
        }
    }
    for record in registry { append(record) }
    let registrySequence = UInt64(registry.count)
    let start = UInt64(Date().timeIntervalSince1970 * 1000) - UInt64(options.commits) - 1000
    for index in 0..<options.commits {
        let row = UUID.v7(milliseconds: start + UInt64(index))
        var changes = visitValues(index).map { Change(table: "visits", row: row, column: $0.key, value: $0.value) }
        changes.append(Change(table: "visits", row: row, column: "enterprise_id", value: .blob(sourceEnterprise.bytes16)))
        let commit = Commit(
            author: root.publicKey, scope: sourceScope, sequence: UInt64(index + 1), previous: previous,
            timestamp: Timestamp(milliseconds: start + UInt64(index), counter: 0), schemaVersion: LedgerSchema.current.version,
            registrySequence: registrySequence, changes: changes
        )
        let signed = try SignedCommit(signing: commit, with: root)
        previous = signed.id
        append(signed.wire)
        if (index + 1) % 20_000 == 0 { progress("  \(index + 1) commits made") }
    }
    let count = UInt64(registry.count + options.commits)
    buffer += [0, 0, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: count >> (56 - 8 * UInt64($0))) }
    hasher.update(buffer)
    handle.write(Data(buffer))
    handle.write(Data(hasher.finalize()))
    try handle.close()
}
progress("import: into a fresh replica")
let target = try Ledger.open(path: folder + "/target.sqlite", root: root.publicKey, key: SigningKey.generate())
var report = ImportReport()
let importTime = try seconds {
    report = try target.replica.importRecords(try CommitBundle.open(bundlePath)) { seen in
        if seen % 20_000 == 0 { progress("  \(seen) commits imported") }
    }
}
precondition(report.applied == options.commits + registry.count, "import applied \(report.applied): \(report.refused.prefix(3))")
progress("import: the same cells into raw SQLite, 2,000 rows per transaction, and the same signatures verified")
let rawImport = try rawDatabase("raw-import.sqlite")
let rawImportTime = try seconds {
    var index = 0
    while index < options.commits {
        try rawImport.write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT INTO visits(id, scope, deleted, enterprise_id, " + columns.joined(separator: ", ") + ") VALUES (?, ?, 0, ?, " + columns.map { _ in "?" }.joined(separator: ", ") + ") ON CONFLICT(id) DO UPDATE SET topics = excluded.topics"
            )
            for _ in 0..<min(2000, options.commits - index) {
                let values = visitValues(index)
                try statement.execute(arguments: StatementArguments([Data(UUID.v7(milliseconds: 1_780_000_000_000 + UInt64(index)).bytes16).databaseValue, sourceScope.databaseValue, Data(sourceEnterprise.bytes16).databaseValue] + columns.map { values[$0]!.databaseValue }))
                index += 1
            }
        }
    }
}
let verifyTime = try seconds {
    for record in try CommitBundle.open(bundlePath) { _ = try WireRecord.decode(record) }
}
// 3. A fresh device pulls the same commits from a hub on loopback (the imported replica, served
// with the county key), then syncs again with nothing new.
progress("initial sync: a fresh supervisor device pulls \(options.commits) commits from a hub on 127.0.0.1")
let hubLedger = try Ledger.open(path: folder + "/target.sqlite", root: root.publicKey, key: root)
let deviceKey = SigningKey.generate()
_ = try hubLedger.enroll(publicKey: deviceKey.publicKey, role: .supervisor, label: "bench")
let device = try Ledger.open(path: folder + "/device.sqlite", root: root.publicKey, key: deviceKey)
var hubConfiguration = HubConfiguration(ledger: hubLedger, hubKey: root)
hubConfiguration.port = 0
hubConfiguration.logger.logLevel = .critical  // the server logs its own shutdown at error level
let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
hubConfiguration.onListening = { portContinuation.yield($0) }
let hubApp = buildHub(hubConfiguration)
var initialSummary: SyncSummary?
var nothingNewSummary: SyncSummary?
var syncTime = 0.0
var nothingNewTime = 0.0
try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await hubApp.run() }
    var ports = portStream.makeAsyncIterator()
    guard let port = await ports.next() else { fatalError("the hub did not start") }
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    let url = "http://127.0.0.1:\(port)"
    let transport = HTTPTransport(baseURL: url, key: deviceKey, hubKey: root.publicKey, client: http)
    let client = SyncClient(replica: device.replica, peer: url)
    var start = DispatchTime.now().uptimeNanoseconds
    initialSummary = try await client.sync(over: transport) { @Sendable step in
        if step.commits % 20_000 == 0 { FileHandle.standardError.write(Data("  \(step.commits) commits received\n".utf8)) }
    }
    syncTime = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    start = DispatchTime.now().uptimeNanoseconds
    nothingNewSummary = try await client.sync(over: transport)
    nothingNewTime = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    try await http.shutdown()
    group.cancelAll()
}
guard let initialSync = initialSummary, let nothingNew = nothingNewSummary else { fatalError("the syncs did not finish") }
precondition(initialSync.received >= options.commits, "the device received \(initialSync.received) commits")
precondition(nothingNew.upToDate && nothingNew.received == 0 && nothingNew.sent == 0, "a second sync was not empty: \(nothingNew)")
results["initial_sync_seconds"] = syncTime
results["initial_sync_commits_per_s"] = Double(initialSync.received) / syncTime
results["initial_sync_vs_import"] = syncTime / importTime
results["initial_sync_response_bytes"] = Double(initialSync.responseBytes)
results["nothing_new_bytes"] = Double(nothingNew.requestBytes + nothingNew.responseBytes)
results["nothing_new_ms"] = nothingNewTime * 1000

results["import_seconds"] = importTime
results["import_commits_per_s"] = Double(options.commits) / importTime
results["raw_upsert_seconds"] = rawImportTime
results["decode_verify_seconds"] = verifyTime
results["import_vs_raw_plus_verify"] = importTime / (rawImportTime + verifyTime)
results["write_vs_raw"] = writeTime / rawWriteTime

print(String(format: "local write: %.0f commits/s (raw SQLite %.0f tx/s, ratio %.2f of raw)", results["local_write_commits_per_s"]!, results["raw_insert_tx_per_s"]!, rawWriteTime / writeTime))
print(String(format: "import %d commits x 10 cells: %.1f s (%.0f commits/s); raw SQLite upserts %.1f s + decode and verify %.1f s = %.1f s; ratio %.1fx", options.commits, importTime, results["import_commits_per_s"]!, rawImportTime, verifyTime, rawImportTime + verifyTime, results["import_vs_raw_plus_verify"]!))
print(String(format: "initial sync over loopback HTTP, %d commits: %.1f s (%.0f commits/s, %.1f MB received); ratio %.2fx the import from a bundle", initialSync.received, syncTime, results["initial_sync_commits_per_s"]!, Double(initialSync.responseBytes) / 1e6, syncTime / importTime))
print(String(format: "sync with nothing new on that database: %d bytes of bodies, %.1f ms", nothingNew.requestBytes + nothingNew.responseBytes, nothingNewTime * 1000))
if let json = options.json {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(results).write(to: URL(fileURLWithPath: json))
}
