// fieldlog-bench: every path beside its physical limit measured in the same run (docs/performance.md).
//
// Usage: fieldlog-bench [--cadres N] [--enterprises N] [--commits N] [--writes N] [--devices N]
//                       [--repeat N] [--json FILE] [--smoke]
// --smoke runs every scenario on a small county once (make test runs it and checks the figures are sane).
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
    var cadres = 300
    var enterprises = 2000
    var commits = 100_000
    var writes = 2000
    var devices = 300
    /// Devices of the second burst of the load scenario, enrolled for the same cadres.
    var moreDevices = 1000
    /// Devices of the scale-out load: the same burst against one SQLite hub and three processes.
    var scaleDevices = 3000
    /// The federated city: counties, and each county's cadres and commits.
    var federationCounties = 10
    var federationCadres = 30
    var federationCommits = 20_000
    var repeats = 3
    var json: String?
    var smoke = false
    /// Run only these scenarios (write, merge, upgrade, sync, queries, ui, console, load, scaleout,
    /// federation); merge runs whenever a later one needs it.
    var only: Set<String>?

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        func number(_ flag: String) -> Int {
            guard let value = iterator.next().flatMap(Int.init), value > 0 else {
                usage("\(flag) takes a positive number")
            }
            return value
        }
        while let argument = iterator.next() {
            switch argument {
            case "--cadres": cadres = number(argument)
            case "--enterprises": enterprises = number(argument)
            case "--commits": commits = number(argument)
            case "--writes": writes = number(argument)
            case "--devices": devices = number(argument)
            case "--more-devices": moreDevices = number(argument)
            case "--scale-devices": scaleDevices = number(argument)
            case "--counties": federationCounties = number(argument)
            case "--county-commits": federationCommits = number(argument)
            case "--repeat": repeats = number(argument)
            case "--json": json = iterator.next()
            case "--only": only = Set((iterator.next() ?? "").split(separator: ",").map(String.init))
            case "--smoke":
                smoke = true
                (cadres, enterprises, commits, writes, devices, repeats) = (20, 100, 3000, 200, 20, 1)
                moreDevices = 40
                (scaleDevices, federationCounties, federationCadres, federationCommits) = (60, 2, 5, 300)
            default: usage("unknown option \(argument)")
            }
        }
        devices = min(devices, cadres)
    }
}

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(
        Data(
            "fieldlog-bench: \(message)\nusage: fieldlog-bench [--cadres N] [--enterprises N] [--commits N] [--writes N] [--devices N] [--more-devices N] [--scale-devices N] [--counties N] [--county-commits N] [--repeat N] [--json FILE] [--smoke] [--only write,merge,upgrade,sync,queries,ui,console,load,scaleout,federation]\n"
                .utf8
        )
    )
    exit(2)
}

func progress(_ text: String) {
    FileHandle.standardError.write(Data("\(text)\n".utf8))
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// This process's CPU time so far (user and system), in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// A process's peak resident set (VmHWM), in MB (Linux): this one's, or `pid`'s while it runs.
func peakMemoryMB(pid: Int32? = nil) -> Double {
    let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
    else { return .nan }
    return kilobytes / 1024
}

// One merge in a process of its own, so that its peak RSS is the merge's alone (`runMerge` starts it).
if CommandLine.arguments.dropFirst().first == "--merge-child" {
    try runMergeChild(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}

let options = Options(CommandLine.arguments)
let folder = NSTemporaryDirectory() + "fieldlog-bench-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

var report = BenchReport(options: options)
let county = try SyntheticCounty(
    folder: folder,
    cadres: options.cadres,
    enterprises: options.enterprises,
    commits: options.commits,
    progress: progress
)
report.county = [
    "cadres": Double(options.cadres), "enterprises": Double(options.enterprises), "commits": Double(county.commitCount),
    "registry_commits": Double(county.registry.count), "demands": Double(county.demandCount),
    "bundle_mb": Double((try? FileManager.default.attributesOfItem(atPath: county.bundlePath)[.size] as? Int) ?? 0)
        / 1e6,
]

func wanted(_ name: String) -> Bool { options.only?.contains(name) ?? true }
// 1. Local writes.
if wanted("write") { try runLocalWrites(county, options, &report) }
if !(options.only ?? []).isDisjoint(with: ["merge", "upgrade", "sync", "queries", "ui", "console", "load", "scaleout"])
    || options.only == nil
{
    // 2. Merge: the bundle into a fresh replica.
    let hubPath = try runMerge(county, options, &report)
    // The merged replica's folder goes whatever scenarios run (the load scenario also removes it).
    defer {
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: hubPath).deletingLastPathComponent().path)
    }
    // 8. The storage upgrade of the same county, in storage 2's layout.
    if wanted("upgrade") { try runStorageUpgrade(county, hubPath: hubPath, options, &report) }
    // 3 and 4. Initial sync over HTTP, and a sync with nothing new.
    if wanted("sync") { report = try await runInitialSync(county, hubPath: hubPath, options, report) }
    // 6. Ledger queries on the hub's replica (before the load adds to it).
    if wanted("queries") { try runLedgerQueries(hubPath: hubPath, county, options, &report) }
    // 7. The screens on the same replica (they add a visit per run).
    if wanted("ui") { report = try await runUIPages(hubPath: hubPath, county, options, report) }
    // 9. The hub's console on the same replica.
    if wanted("console") { report = try await runConsolePages(hubPath: hubPath, county, options, report) }
    // 5. The hub under load, as a separate process.
    // 10. The same burst against one SQLite hub and three processes on PostgreSQL behind haproxy
    // (before the load scenario, which removes the merged replica's folder).
    if wanted("scaleout") { report = try await runScaleOutLoad(county, hubPath: hubPath, options, report) }
    if wanted("load") { report = try await runHubLoad(county, hubPath: hubPath, options, report) }
}
// 11. A federated city catching up from empty with its counties.
if wanted("federation") { report = try await runFederatedCity(options, report) }

report.printTable()
if let json = options.json {
    try report.write(json)
    progress("wrote \(json)")
}
if options.smoke {
    let problems = report.sanityProblems()
    guard problems.isEmpty else {
        progress("SMOKE RUN NOT SANE:\n  " + problems.joined(separator: "\n  "))
        exit(1)
    }
    progress("smoke run: every scenario completed with sane figures")
}
