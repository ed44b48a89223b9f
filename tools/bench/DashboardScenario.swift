import AsyncHTTPClient
import FieldCrypto
import FieldDashboard
import FieldExport
import FieldLedger
import FieldStore
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// 9. The hub's console on the merged county, served over loopback HTTP with its guards, as a
/// supervisor logged in: 总览, one page of 50 of the unresolved 工作台账, and the whole unresolved
/// ledger exported as .xlsx (from the POST to the file downloaded, signed, with its rows checked
/// against the query's count); each beside a raw SQL read of the same rows.
func runConsolePages(
    hubPath: String,
    _ county: SyntheticCounty,
    _ options: Options,
    _ report: BenchReport
) async throws -> BenchReport {
    let ledger = try Ledger.open(path: hubPath, root: county.root.publicKey, key: county.root)
    var configuration = DashboardConfiguration(ledger: ledger, key: county.root)
    configuration.logger.logLevel = .critical
    configuration.accounts.bcryptCost = 4
    let password = "bench-password-1"
    _ = try? configuration.accounts.addUser(name: "基准督查", role: .supervisor, password: password, totp: false)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    configuration.onListening = { continuation.yield($0) }
    let app = try buildDashboard(configuration)
    var unresolved = DemandQuery()
    unresolved.unresolvedOnly = true
    let expectedRows = try ledger.ledgerIDs(unresolved, profile: ledger.profile).count
    var report = report
    var exportedRows = 0
    var exportBytes = 0
    let runs: [String: [Double]] = try await withThrowingTaskGroup(of: [String: [Double]]?.self) { group in
        group.addTask {
            try await app.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw BenchError("the console did not start") }
        let base = "http://127.0.0.1:\(port)"
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        var cookies: [String: String] = [:]
        func send(
            _ path: String,
            form: String? = nil
        ) async throws -> (status: UInt, headers: HTTPHeaders, body: ByteBuffer) {
            var request = HTTPClientRequest(url: base + path)
            if !cookies.isEmpty {
                request.headers.add(
                    name: "Cookie",
                    value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
                )
            }
            if let form {
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.headers.add(name: "Origin", value: base)
                request.body = .bytes(ByteBuffer(string: form))
            }
            let response = try await client.execute(request, timeout: .seconds(300))
            for field in response.headers["Set-Cookie"] {
                let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { cookies[pair[0]] = pair[1] }
            }
            return (response.status.code, response.headers, try await response.body.collect(upTo: 1 << 30))
        }
        func csrf(_ page: ByteBuffer) throws -> String {
            let text = String(buffer: page)
            guard let range = text.range(of: "name=\"csrf\" value=\"") else { throw BenchError("no CSRF token") }
            return String(text[range.upperBound...].prefix { $0 != "\"" })
        }
        func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        }
        func measure() async throws -> [String: [Double]] {
            let form = try await send("/login")
            let login = try await send(
                "/login",
                form: "csrf=\(try csrf(form.body))&name=\(encode("基准督查"))&password=\(password)"
            )
            guard login.status == 303 else { throw BenchError("the console's login answered \(login.status)") }
            let token = try csrf(try await send("/ledger").body)
            var results: [String: [Double]] = [:]
            func time(_ name: String, _ body: () async throws -> UInt, expect: UInt) async throws {
                let started = DispatchTime.now().uptimeNanoseconds
                let status = try await body()
                guard status == expect else { throw BenchError("\(name) answered \(status)") }
                results[name, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            }
            for run in 1...options.repeats {
                progress("console \(run)/\(options.repeats): 总览, 工作台账 page 2, the unresolved ledger as .xlsx")
                try await time("overview", { try await send("/").status }, expect: 200)
                try await time("ledger", { try await send("/ledger?page=2").status }, expect: 200)
                var exported: (file: [UInt8], signature: [UInt8]) = ([], [])
                try await time(
                    "export",
                    {
                        // Every column of the ledger, as a supervisor exports the whole of it.
                        let columns = (1..<Ledger.ledgerHeaders.count).map { "&col=\($0)" }.joined()
                        let started = try await send("/ledger/export", form: "csrf=\(token)&format=xlsx" + columns)
                        guard started.status == 303, let location = started.headers.first(name: "Location") else {
                            return started.status
                        }
                        // The export runs in the background; its page says when it is done.
                        while String(buffer: try await send(location).body).contains("正在导出") {
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        let file = try await send(location + "/file")
                        let signature = try await send(location + "/sig")
                        exported = ([UInt8](buffer: file.body), [UInt8](buffer: signature.body))
                        return file.status
                    },
                    expect: 200
                )
                // Checked apart from the timing: the signature, and the rows against the query's.
                _ = try ExportFile.verify(exported.file, signature: exported.signature, ledger: ledger)
                exportedRows = try XLSXReader.rows(exported.file).count - 1
                exportBytes = exported.file.count
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
    guard exportedRows == expectedRows else {
        throw BenchError("the export holds \(exportedRows) rows; the unresolved ledger has \(expectedRows)")
    }
    // The baselines: the rows each one shows, read with raw SQL.
    var raw: [String: [Double]] = [:]
    let unresolvedStates = DemandState.allCases.filter(\.isUnresolved).map { "'\($0.rawValue)'" }.joined(separator: ",")
    let select = """
        SELECT d.*, e.name, e.uscc, e.township, e.contact_name, e.contact_phone, c.name, s.status
        FROM demands d LEFT JOIN enterprises e ON e.id = d.enterprise_id LEFT JOIN cadres c ON c.id = d.cadre_id
        LEFT JOIN _status_cache s ON s.demand_id = d.id
        WHERE d.deleted = 0 AND COALESCE(s.state, 'DRAFT') IN (\(unresolvedStates))
        """
    for _ in 1...options.repeats {
        raw["overview", default: []].append(
            try seconds {
                try ledger.replica.database.read { db in
                    _ = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT d.*, e.name, e.township, c.name, s.status FROM demands d
                            LEFT JOIN enterprises e ON e.id = d.enterprise_id LEFT JOIN cadres c ON c.id = d.cadre_id
                            LEFT JOIN _status_cache s ON s.demand_id = d.id WHERE d.deleted = 0
                            """
                    )
                }
            }
        )
        raw["ledger", default: []].append(
            try seconds {
                try ledger.replica.database.read { db in
                    _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (\(select))")
                    _ = try Row.fetchAll(db, sql: select + " ORDER BY d.number LIMIT 50 OFFSET 50")
                }
            }
        )
        raw["export", default: []].append(
            try seconds { try ledger.replica.database.read { db in _ = try Row.fetchAll(db, sql: select) } }
        )
    }
    for (key, name, target, limit) in [
        ("overview", "console: 总览", "< 300 ms", 0.3),
        ("ledger", "console: 工作台账, a page of 50", "< 300 ms", 0.3),
        ("export", "console: unresolved ledger as .xlsx", "< 10 s", 10.0),
    ] {
        let times = runs[key] ?? []
        let baseline = raw[key] ?? []
        var figures = ["first call s": times.first ?? 0]
        if key == "export" {
            figures["rows"] = Double(exportedRows)
            figures["query rows"] = Double(expectedRows)
            figures["file MB"] = Double(exportBytes) / 1e6
        }
        report.add(
            ScenarioResult(
                name: name,
                unit: "s",
                runs: times,
                baselineName: "the same rows read, raw SQL",
                baselineRuns: baseline,
                ratio: FieldlogBench.median(times) / FieldlogBench.median(baseline),
                target: target,
                met: FieldlogBench.median(times) < limit,
                figures: figures
            )
        )
    }
    return report
}
