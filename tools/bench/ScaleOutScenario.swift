import AsyncHTTPClient
import FieldCrypto
import FieldHub
import FieldLedger
import FieldStore
import Foundation
import GRDB
import NIOCore

// Issue 18's two measurements (docs/performance.md, docs/scale-out.md, docs/federation.md):
// - 10. the same burst of devices against the single SQLite hub and against three hub processes
//   on PostgreSQL behind haproxy, in the same run;
// - 11. a federated city catching up from empty with its counties.

/// The `fieldlog` binary built beside this one.
func fieldlogBinary() throws -> String {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("fieldlog").path
    guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw BenchError("\(binary) is missing: build the fieldlog product too")
    }
    return binary
}

let benchPassphrase = "bench passphrase"

/// Starts `fieldlog ARGUMENTS` (the key's passphrase given) and reads its standard output until a
/// line contains `marker`; returns the process, still running, and what it printed.
func startFieldlog(_ arguments: [String], until marker: String = "listening on") throws -> (Process, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try fieldlogBinary())
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging([
        "FIELDLOG_PASSPHRASE": benchPassphrase, "FIELDLOG_LOG_LEVEL": "error",
    ]) { $1 }
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    var text = ""
    while !(text.contains(marker) && text.hasSuffix("\n")) {
        let chunk = output.fileHandleForReading.availableData
        guard !chunk.isEmpty else {
            throw BenchError(
                "fieldlog \(arguments.prefix(2).joined(separator: " ")) stopped before saying \(marker): \(text)"
            )
        }
        text += String(decoding: chunk, as: UTF8.self)
    }
    return (process, text)
}

/// The address a server's "listening on http://…" line names.
func listeningURL(_ text: String) throws -> String {
    guard
        let line = text.split(separator: "\n").first(where: { $0.contains("listening on") }),
        let url = line.split(separator: " ").last.map(String.init), url.hasPrefix("http://")
    else { throw BenchError("the server did not say where it listens: \(text)") }
    return url
}

func stop(_ process: Process) {
    guard process.isRunning else { return }
    process.terminate()
    process.waitUntilExit()
}

/// Runs a program to its end; throws with its output when it fails.
@discardableResult
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchError("\(path) \(arguments.prefix(3).joined(separator: " ")) failed: \(text)")
    }
    return text
}

/// A loopback port free now (the kernel's choice, released at once).
func freePort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw BenchError("no socket for a free port") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
        }
    }
    guard bound else { throw BenchError("no free loopback port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A data folder for a hub: the county root's key file, and a copy of `replica` if given.
func hubFolder(_ county: SyntheticCounty, copying replica: Ledger?) throws -> String {
    let folder = NSTemporaryDirectory() + "fieldlog-bench-scale-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder + "/keys", withIntermediateDirectories: true)
    try KeyFile.write(county.root, passphrase: benchPassphrase, to: folder + "/keys/device.key", parameters: .minimum)
    if let replica {
        try replica.replica.database.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [folder + "/replica.sqlite"])
        }
    }
    return folder
}

/// 10. The same devices push 10 commits and pull, all at once, against the single SQLite hub and
/// then against three `hub serve --store` processes behind haproxy (roundrobin, /healthz checks).
/// Needs `$FIELDLOG_TEST_POSTGRES` (tools/postgres/with-cluster.sh) and Debian's haproxy.
func runScaleOutLoad(
    _ county: SyntheticCounty,
    hubPath: String,
    _ options: Options,
    _ incoming: BenchReport
) async throws -> BenchReport {
    var report = incoming
    let environment = ProcessInfo.processInfo.environment
    guard let cluster = environment["FIELDLOG_TEST_POSTGRES"].flatMap({ $0.isEmpty ? nil : $0 }) else {
        if environment["FIELDLOG_REQUIRE_POSTGRES"] == "1" { throw BenchError("FIELDLOG_TEST_POSTGRES is unset") }
        progress("scale-out load skipped: no PostgreSQL (run the bench under tools/postgres/with-cluster.sh)")
        return report
    }
    let haproxy = "/usr/sbin/haproxy"
    guard FileManager.default.isExecutableFile(atPath: haproxy) else {
        throw BenchError("haproxy is missing: tools/install-test-deps.sh installs it from Debian")
    }
    let hub = try Ledger.open(path: hubPath, root: county.root.publicKey, key: county.root)
    let cadres = county.cadreKeys.count
    progress("scale-out load: enrolling \(options.scaleDevices) devices for the county's cadres")
    var keys: [(SigningKey, Int)] = []
    for index in 0..<options.scaleDevices {
        let key = SigningKey.generate()
        _ = try hub.enroll(publicKey: key.publicKey, role: .cadre, cadre: county.cadreNames[index % cadres])
        keys.append((key, index % cadres))
    }
    // After every enrollment: the devices' commits name the registry as it is then.
    let registry = try registrySequence(county, hub)
    let devices = try keys.map {
        try loadDevice(county, hub: hub, key: $0.0, cadre: $0.1, enterprise: $0.1, registrySequence: registry)
    }
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(
        idleTimeout: .seconds(60),
        concurrentHTTP1ConnectionsPerHostSoftLimit: options.scaleDevices
    )
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    defer { _ = http.shutdown() }

    // The single SQLite hub, on a copy of the county.
    let single = try hubFolder(county, copying: hub)
    defer { try? FileManager.default.removeItem(atPath: single) }
    let (lone, loneText) = try startFieldlog(["hub", "serve", "--data", single, "--port", "0", "--idle-timeout", "120"])
    let loneURL = try listeningURL(loneText)
    progress("scale-out load: \(devices.count) devices push 10 commits and pull, all at once, against one SQLite hub")
    let baseline = try await burst(devices, url: loneURL, hubKey: county.root.publicKey, http: http)
    let lonePeak = peakMemoryMB(pid: lone.processIdentifier)
    stop(lone)

    // The floor under any hub's p99: a pull that presents its push's checkpoint is answered only
    // once the replica holds the push, so the last pulls wait until one replica has verified and
    // integrated every commit of the burst. Timed here in process, on one thread, with no HTTP.
    let floorFolder = try hubFolder(county, copying: hub)
    defer { try? FileManager.default.removeItem(atPath: floorFolder) }
    let floorReplica = try Ledger.open(path: floorFolder + "/replica.sqlite", root: nil, key: county.root)
    let burstRecords = try devices.flatMap { try $0.pushes(now: UInt64(Date().timeIntervalSince1970 * 1000)) }
    let floorStart = DispatchTime.now().uptimeNanoseconds
    let floorReport = try floorReplica.importRecords(burstRecords)
    let floor = Double(DispatchTime.now().uptimeNanoseconds - floorStart) / 1e9
    guard floorReport.applied == burstRecords.count else {
        throw BenchError("the floor's replica applied \(floorReport.applied) of \(burstRecords.count) commits")
    }
    progress(
        "scale-out load: one replica verifies and integrates the burst's \(burstRecords.count) commits in \(String(format: "%.2f", floor)) s (the floor under any p99)"
    )

    // Three processes on PostgreSQL behind haproxy: a database of its own for this run.
    let database = "bench_\(UUID().uuidString.prefix(8).lowercased())"
    try runProgram("/usr/bin/psql", [cluster, "-q", "-c", "CREATE DATABASE \(database)"])
    defer { _ = try? runProgram("/usr/bin/psql", [cluster, "-q", "-c", "DROP DATABASE \(database) WITH (FORCE)"]) }
    guard var parts = URLComponents(string: cluster) else { throw BenchError("FIELDLOG_TEST_POSTGRES is not a URL") }
    parts.path = "/" + database
    let store = parts.string ?? cluster
    let proxyPort = try freePort()
    let proxyURL = "http://127.0.0.1:\(proxyPort)"
    var processes: [Process] = []
    var folders: [String] = []
    defer {
        for process in processes { stop(process) }
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
    }
    var ports: [Int] = []
    let started = DispatchTime.now().uptimeNanoseconds
    for index in 0..<3 {
        // The first holds the county and publishes it to the log; the others hold only the key
        // file, and follow the log from empty before they listen.
        let folder = try hubFolder(county, copying: index == 0 ? hub : nil)
        folders.append(folder)
        progress(
            "scale-out load: hub process \(index + 1) of 3 \(index == 0 ? "publishes the county" : "follows the log")"
        )
        let (process, text) = try startFieldlog([
            "hub", "serve", "--data", folder, "--port", "0", "--idle-timeout", "120", "--store", store, "--url",
            proxyURL,
        ])
        processes.append(process)
        guard let port = Int(try listeningURL(text).split(separator: ":").last ?? "") else {
            throw BenchError("hub process \(index + 1) named no port: \(text)")
        }
        ports.append(port)
    }
    let setUp = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    let configFile = folders[0] + "/haproxy.cfg"
    try haproxyConfiguration(port: proxyPort, servers: ports).write(
        toFile: configFile,
        atomically: true,
        encoding: .utf8
    )
    let proxy = Process()
    proxy.executableURL = URL(fileURLWithPath: haproxy)
    proxy.arguments = ["-f", configFile, "-db"]
    let proxyLog = folders[0] + "/haproxy.log"
    _ = FileManager.default.createFile(atPath: proxyLog, contents: nil)
    proxy.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: proxyLog))
    proxy.standardError = proxy.standardOutput
    try proxy.run()
    processes.append(proxy)
    let probe = HealthProbe(port: proxyPort)
    var ready = false
    for _ in 0..<200 where !ready {
        ready = probe.askOnce()
        if !ready { usleep(50_000) }
    }
    guard ready else {
        let log = (try? String(contentsOfFile: proxyLog, encoding: .utf8)) ?? ""
        throw BenchError("haproxy did not answer /healthz on port \(proxyPort): \(log.suffix(2000))")
    }
    progress("scale-out load: \(devices.count) devices, all at once, through haproxy to three hub processes")
    let shared = try await burst(devices, url: proxyURL, hubKey: county.root.publicKey, http: http)
    let peak = processes.prefix(3).map { peakMemoryMB(pid: $0.processIdentifier) }.max() ?? .nan
    var result = shared.result(
        name: "hub under load, 3 processes on PostgreSQL behind haproxy",
        target: "no errors, p99 < 1 s (\(devices.count) devices)",
        hubPeak: peak,
        met: { errors, p99, _ in errors == 0 && p99 < 1 }
    )
    result.baselineName = "one SQLite hub, the same devices"
    result.baselineRuns = [Double(baseline.requests) / baseline.wall]
    result.ratio = result.median / (result.baselineRuns.first ?? .nan)
    result.figures["one SQLite hub p99 latency s"] = baseline.percentile(0.99)
    result.figures["one SQLite hub p50 latency s"] = baseline.percentile(0.5)
    result.figures["one SQLite hub errors"] = Double(baseline.errors)
    result.figures["one SQLite hub peak RSS MB"] = lonePeak
    result.figures["processes started s"] = setUp
    result.figures["floor: one replica integrating the burst s"] = floor
    report.add(result)
    return report
}

/// haproxy in front of the hub processes: HTTP, round robin, each process checked on /healthz
/// (8,000 connections: each takes two descriptors, and the bench's limit may be 20,000)
/// (a process not ready, lagging the log, gets nothing), long timeouts for the largest pulls.
func haproxyConfiguration(port: Int, servers: [Int]) -> String {
    """
    global
        maxconn 8000
    defaults
        mode http
        timeout connect 5s
        timeout client 180s
        timeout server 180s
        timeout http-request 60s
    frontend devices
        bind 127.0.0.1:\(port)
        maxconn 8000
        default_backend hubs
    backend hubs
        balance roundrobin
        option httpchk
        http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    \(servers.enumerated().map { "    server hub\($0.offset + 1) 127.0.0.1:\($0.element) check inter 1s maxconn 5000" }.joined(separator: "\n"))

    """
}

/// 11. A federated city catches up from empty: `--counties` synthetic counties, each served by its
/// own `fieldlog hub serve`; the city joins each with a `federation` code without pulling, and
/// `hub serve --federate` pulls them all in its first round. The baseline: the same commits
/// merged from each county's bundle into a fresh replica, one county after another.
func runFederatedCity(_ options: Options, _ incoming: BenchReport) async throws -> BenchReport {
    var report = incoming
    let base = NSTemporaryDirectory() + "fieldlog-bench-city-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: base) }
    let city = SigningKey.generate()
    let cityFolder = base + "/city"
    try KeyFile.write(city, passphrase: benchPassphrase, to: cityFolder + "/keys/device.key", parameters: .minimum)
    var servers: [Process] = []
    defer { for server in servers { stop(server) } }
    var merged = 0.0
    var commits = 0
    for index in 0..<options.federationCounties {
        let folder = base + "/county-\(index)"
        try FileManager.default.createDirectory(atPath: folder + "/hub/keys", withIntermediateDirectories: true)
        progress("federated city: county \(index + 1) of \(options.federationCounties)")
        let county = try SyntheticCounty(
            folder: folder,
            cadres: options.federationCadres,
            enterprises: options.federationCadres * 7,
            commits: options.federationCommits,
            progress: { _ in }
        )
        let hubPath = folder + "/hub/replica.sqlite"
        let answer = try runProgram(
            CommandLine.arguments[0],
            ["--merge-child", county.bundlePath, hubPath, county.root.publicKey.hex]
        )
        guard
            let time = answer.split(separator: "\n").last(where: { $0.hasPrefix("merge-child ") })
                .flatMap({ Double($0.split(separator: " ")[1]) })
        else { throw BenchError("the merge of county \(index + 1) failed: \(answer)") }
        merged += time
        commits += county.commitCount + county.registry.count
        let hub = try Ledger.open(path: hubPath, root: county.root.publicKey, key: county.root)
        // The city joins with a code, as a county's operator gives it: the join takes the registry
        // alone, and the county's commits come with the city hub's first round.
        let code = try EnrollmentCodes(ledger: hub).create(
            role: .federation,
            label: "聊城市枢纽",
            now: Int64(Date().timeIntervalSince1970)
        )
        commits += 1  // the city's enrollment
        try KeyFile.write(
            county.root,
            passphrase: benchPassphrase,
            to: folder + "/hub/keys/device.key",
            parameters: .minimum
        )
        let (server, text) = try startFieldlog(["hub", "serve", "--data", folder + "/hub", "--port", "0"])
        servers.append(server)
        try runProgram(
            try fieldlogBinary(),
            [
                "federation", "join", "--data", cityFolder, "--hub", try listeningURL(text), "--root-fingerprint",
                county.root.publicKey.fingerprint, "--name", "县\(index + 1)", "--code", code, "--no-pull",
            ],
            environment: ["FIELDLOG_PASSPHRASE": benchPassphrase]
        )
    }
    progress("federated city: \(commits) commits of \(options.federationCounties) counties, pulled from empty")
    let start = DispatchTime.now().uptimeNanoseconds
    let (federated, text) = try startFieldlog(
        ["hub", "serve", "--federate", "--data", cityFolder, "--port", "0", "--pull-interval", "3600"],
        until: "第一轮拉取完成"
    )
    let catchUp = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let peak = peakMemoryMB(pid: federated.processIdentifier)
    stop(federated)
    let status = try runProgram(
        try fieldlogBinary(),
        ["federation", "status", "--data", cityFolder, "--json"],
        environment: ["FIELDLOG_PASSPHRASE": benchPassphrase]
    )
    let held = ((try? JSONSerialization.jsonObject(with: Data(status.utf8))) as? [[String: Any]] ?? [])
        .map { $0["commits"] as? Int ?? 0 }.reduce(0, +)
    let failedAll = !text.contains("失败 0 个")
    report.add(
        ScenarioResult(
            name: "federated city catch-up",
            unit: "s",
            runs: [catchUp],
            baselineName: "the same commits merged from bundles, county after county",
            baselineRuns: [merged],
            ratio: catchUp / merged,
            target: "reported: \(options.federationCounties) counties from empty, every commit held",
            met: !failedAll && held == commits,
            figures: [
                "commits": Double(commits), "commits held": Double(held),
                "commits per second": Double(commits) / catchUp, "city peak RSS MB": peak,
            ]
        )
    )
    return report
}
