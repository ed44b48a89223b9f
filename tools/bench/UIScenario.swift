import AsyncHTTPClient
import FieldCrypto
import FieldLedger
import FieldStore
import FieldWeb
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// 7. The screens on the merged county, as the operator's `fieldlog ui` serves them over loopback
/// HTTP (pages rendered, headers and guards included): 工作台, a page of 50 of 诉求, a 诉求详情, and a
/// visit saved from 新增走访; each beside a raw SQL read (or write) of the same rows.
func runUIPages(
    hubPath: String,
    _ county: SyntheticCounty,
    _ options: Options,
    _ report: BenchReport
) async throws
    -> BenchReport
{
    let ledger = try Ledger.open(path: hubPath, root: county.root.publicKey, key: county.root)
    var configuration = WebConfiguration(ledger: ledger, checkPassphrase: { _ in true })
    configuration.logger.logLevel = .critical
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    configuration.onListening = { continuation.yield($0) }
    let sessions = configuration.sessions
    let app = buildWebApp(configuration)
    let page = try ledger.demandPage(DemandQuery(), offset: 0, size: 1)
    let total = page.total
    guard let number = page.rows.first?.summary.number else { throw BenchError("the county has no demand") }
    let listPage = max(1, min(2, (total + 49) / 50))
    guard let enterprise = try ledger.writableEnterprises().first else { throw BenchError("no enterprise") }
    var report = report
    let runs: [String: [Double]] = try await withThrowingTaskGroup(of: [String: [Double]]?.self) { group in
        group.addTask {
            try await app.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw BenchError("the screens did not start") }
        let base = "http://127.0.0.1:\(port)"
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        func send(
            _ path: String,
            cookie: String? = nil,
            form: String? = nil
        ) async throws -> (status: UInt, headers: HTTPHeaders, body: String) {
            var request = HTTPClientRequest(url: base + path)
            if let cookie { request.headers.add(name: "Cookie", value: cookie) }
            if let form {
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.headers.add(name: "Origin", value: base)
                request.body = .bytes(ByteBuffer(string: form))
            }
            let response = try await client.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 64 << 20)
            return (response.status.code, response.headers, String(buffer: body))
        }
        func measure() async throws -> [String: [Double]] {
            let login = try await send("/login?token=\(sessions.issueLoginToken())")
            guard let setCookie = login.headers.first(name: "Set-Cookie") else { throw BenchError("no session cookie") }
            let cookie = String(setCookie.split(separator: ";")[0])
            let visitForm = try await send("/visits/new", cookie: cookie).body
            guard let range = visitForm.range(of: "name=\"csrf\" value=\"") else { throw BenchError("no CSRF token") }
            let csrf = String(visitForm[range.upperBound...].prefix { $0 != "\"" })
            func encode(_ text: String) -> String {
                text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            }
            var results: [String: [Double]] = [:]
            func time(_ name: String, _ body: () async throws -> UInt, expect: UInt) async throws {
                let started = DispatchTime.now().uptimeNanoseconds
                let status = try await body()
                guard status == expect else { throw BenchError("\(name) answered \(status)") }
                results[name, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            }
            for run in 1...options.repeats {
                progress("screens \(run)/\(options.repeats): 工作台, 诉求 page \(listPage), 诉求详情 \(number), 新增走访 saved")
                try await time("home", { try await send("/", cookie: cookie).status }, expect: 200)
                try await time(
                    "list",
                    { try await send("/demands?page=\(listPage)", cookie: cookie).status },
                    expect: 200
                )
                try await time("detail", { try await send("/demands/\(number)", cookie: cookie).status }, expect: 200)
                let form = [
                    "csrf=\(csrf)", "enterprise=\(encode(enterprise))", "date=\(ledger.today())",
                    "mode=\(encode(Vocabulary.visitModes[0]))",
                    "topics=\(encode("基准测试"))", "noDemands=on",
                ].joined(separator: "&")
                try await time("visit", { try await send("/visits", cookie: cookie, form: form).status }, expect: 303)
            }
            return results
        }
        let results: [String: [Double]]
        do {
            results = try await measure()
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
        group.cancelAll()
        return results
    }
    // The baselines: the same rows, read (or one visit written) with raw SQL.
    var raw: [String: [Double]] = [:]
    let select = """
        SELECT d.*, e.name, e.uscc, e.township, c.name FROM demands d
        LEFT JOIN enterprises e ON e.id = d.enterprise_id LEFT JOIN cadres c ON c.id = d.cadre_id
        WHERE d.deleted = 0
        """
    let rawPath = URL(fileURLWithPath: hubPath).deletingLastPathComponent().appendingPathComponent("raw-ui.sqlite").path
    let rawPool = try rawDatabase(rawPath)
    defer { try? FileManager.default.removeItem(atPath: rawPath) }
    let enterpriseID = try ledger.enterprise(named: enterprise)
    for index in 1...options.repeats {
        raw["home", default: []].append(
            try seconds {
                try ledger.replica.database.read { db in
                    _ = try Row.fetchAll(db, sql: select + " ORDER BY d.number LIMIT 50")
                    _ = try Row.fetchAll(db, sql: "SELECT demand_id, status FROM _status_cache")
                }
            }
        )
        raw["list", default: []].append(
            try seconds {
                try ledger.replica.database.read { db in
                    _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM demands WHERE deleted = 0")
                    _ = try Row.fetchAll(
                        db,
                        sql: select + " ORDER BY d.number LIMIT 50 OFFSET ?",
                        arguments: [(listPage - 1) * 50]
                    )
                }
            }
        )
        raw["detail", default: []].append(
            try seconds {
                try ledger.replica.database.read { db in
                    let row = try Row.fetchOne(db, sql: select + " AND d.number = ?", arguments: [number])
                    let id: Data? = row?["id"]
                    _ = try Row.fetchAll(
                        db,
                        sql: "SELECT * FROM demand_events WHERE demand_id = ? ORDER BY at",
                        arguments: [id]
                    )
                }
            }
        )
        raw["visit", default: []].append(
            try seconds {
                try rawPool.write { db in
                    let cells = visitCells(1_000_000 + index, enterprise: enterpriseID)
                    let columns = cells.keys.sorted()
                    try db.execute(
                        sql: "INSERT INTO visits(id, scope, deleted, " + columns.joined(separator: ", ")
                            + ") VALUES (?, ?, 0, "
                            + columns.map { _ in "?" }.joined(separator: ", ") + ")",
                        arguments: StatementArguments(
                            [
                                Data(UUID.v7(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000)).bytes16)
                                    .databaseValue, RegistryIDs.scope(of: enterpriseID).databaseValue,
                            ] + columns.map { cells[$0]!.databaseValue }
                        )
                    )
                }
            }
        )
    }
    for (key, name, target, limit) in [
        ("home", "screen: 工作台", "< 200 ms", 0.2), ("list", "screen: 诉求, a page of 50", "< 200 ms", 0.2),
        ("detail", "screen: 诉求详情", "< 200 ms", 0.2), ("visit", "screen: 新增走访 saved", "< 100 ms", 0.1),
    ] {
        let times = runs[key] ?? []
        let baseline = raw[key] ?? []
        report.add(
            ScenarioResult(
                name: name,
                unit: "s",
                runs: times,
                baselineName: key == "visit" ? "one visit row inserted, raw SQL" : "the same rows read, raw SQL",
                baselineRuns: baseline,
                ratio: FieldlogBench.median(times) / FieldlogBench.median(baseline),
                target: target,
                met: FieldlogBench.median(times) < limit,
                figures: key == "list"
                    ? ["demands": Double(total), "first call s": times.first ?? 0] : ["first call s": times.first ?? 0]
            )
        )
    }
    return report
}
