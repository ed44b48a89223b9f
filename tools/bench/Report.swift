import Foundation
import GRDB

/// One scenario's figures: every run of fieldlog and of its baseline, their medians and ratio,
/// and the target with whether it was met.
struct ScenarioResult: Encodable {
    var name: String
    var unit: String
    var runs: [Double]
    var baselineName: String?
    var baselineRuns: [Double] = []
    /// fieldlog's median over the baseline's median (for times: how many times slower).
    var ratio: Double?
    var target: String
    var met: Bool?
    var figures: [String: Double] = [:]

    var median: Double { FieldlogBench.median(runs) }
    var baselineMedian: Double? { baselineRuns.isEmpty ? nil : FieldlogBench.median(baselineRuns) }
}

enum FieldlogBench {
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

struct BenchReport: Encodable {
    var date = ISO8601DateFormatter().string(from: Date())
    var machine: [String: String] = BenchReport.machine()
    var versions: [String: String] = BenchReport.versions()
    var options: [String: Double]
    var county: [String: Double] = [:]
    var scenarios: [ScenarioResult] = []

    init(options: Options) {
        self.options = [
            "cadres": Double(options.cadres), "enterprises": Double(options.enterprises),
            "commits": Double(options.commits),
            "writes": Double(options.writes), "devices": Double(options.devices), "repeat": Double(options.repeats),
            "smoke": options.smoke ? 1 : 0,
        ]
    }

    mutating func add(_ result: ScenarioResult) {
        scenarios.append(result)
        var line = String(format: "%@: %.3f %@", result.name, result.median, result.unit)
        if let baseline = result.baselineMedian {
            line += String(format: " (baseline %.3f), ratio %.2f", baseline, result.ratio ?? .nan)
        }
        if let met = result.met { line += met ? " — target met" : " — target MISSED" }
        progress(line)
    }

    func printTable() {
        print("")
        print("| scenario | fieldlog (median) | baseline (median) | ratio | target | met |")
        print("|---|---|---|---|---|---|")
        for result in scenarios {
            let baseline =
                result.baselineMedian.map { String(format: "%.3f %@ (%@)", $0, result.unit, result.baselineName ?? "") }
                ?? "—"
            let ratio = result.ratio.map { String(format: "%.2f", $0) } ?? "—"
            let met = result.met.map { $0 ? "yes" : "**no**" } ?? "—"
            print(
                "| \(result.name) | \(String(format: "%.3f", result.median)) \(result.unit) | \(baseline) | \(ratio) | \(result.target) | \(met) |"
            )
            for (key, value) in result.figures.sorted(by: { $0.key < $1.key }) {
                print("|   \(key) | \(String(format: "%.3f", value)) | | | | |")
            }
        }
    }

    func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }

    /// For the smoke run: every scenario ran and gave finite, positive figures.
    func sanityProblems() -> [String] {
        var problems: [String] = []
        let expected = [
            "local write", "merge", "initial sync over HTTP", "sync with nothing new",
            "ledger query: unresolved ledger",
            "ledger query: monthly report", "hub under load", "hub under load, more devices", "screen: 工作台",
            "screen: 诉求, a page of 50",
            "screen: 诉求详情", "screen: 新增走访 saved", "storage upgrade", "console: 总览", "console: 工作台账, a page of 50",
            "console: unresolved ledger as .xlsx",
        ]
        var required = expected + ["federated city catch-up"]
        if ProcessInfo.processInfo.environment["FIELDLOG_TEST_POSTGRES"] != nil {
            required.append("hub under load, 3 processes on PostgreSQL behind haproxy")
        }
        for name in required where !scenarios.contains(where: { $0.name == name }) {
            problems.append("\(name) did not run")
        }
        for result in scenarios {
            if !(result.median.isFinite && result.median > 0) {
                problems.append("\(result.name): median \(result.median)")
            }
            if let baseline = result.baselineMedian, !(baseline.isFinite && baseline > 0) {
                problems.append("\(result.name): baseline \(baseline)")
            }
            for (key, value) in result.figures where !value.isFinite || value < 0 {
                problems.append("\(result.name): \(key) = \(value)")
            }
        }
        if let ledger = scenarios.first(where: { $0.name == "ledger query: unresolved ledger" }),
            ledger.figures["disregarded workflow events"] != 0
        {
            problems.append(
                "ledger query: \(ledger.figures["disregarded workflow events"] ?? -1) workflow events disregarded in the synthetic county"
            )
        }
        for city in scenarios where city.name == "federated city catch-up" && city.met != true {
            problems.append(
                "federated city: \(city.figures["commits held"] ?? -1) commits held of \(city.figures["commits"] ?? -1), or a pull failed"
            )
        }
        for load in scenarios where load.name.hasPrefix("hub under load") && load.figures["errors"] != 0 {
            problems.append("\(load.name): \(load.figures["errors"] ?? -1) errors")
        }
        return problems
    }

    static func machine() -> [String: String] {
        var machine: [String: String] = ["cores": String(ProcessInfo.processInfo.activeProcessorCount)]
        machine["memory_gb"] = String(format: "%.1f", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824)
        if let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let model = cpu.split(separator: "\n").first(where: { $0.hasPrefix("model name") })
        {
            machine["cpu"] = model.split(separator: ":", maxSplits: 1).last.map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        }
        machine["os"] = ProcessInfo.processInfo.operatingSystemVersionString
        return machine
    }

    static func versions() -> [String: String] {
        var versions: [String: String] = [:]
        if let sqlite = try? DatabaseQueue().read({ try String.fetchOne($0, sql: "SELECT sqlite_version()") }) {
            versions["sqlite"] = sqlite
        }
        for package in ["libsodium23", "libsqlite3-0"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg-query")
            process.arguments = ["-W", "-f", "${Version}", package]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            if (try? process.run()) != nil {
                process.waitUntilExit()
                versions[package] = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            }
        }
        #if swift(>=6.3)
        versions["swift"] = "6.3 or later"
        #else
        versions["swift"] = "before 6.3"
        #endif
        return versions
    }
}
