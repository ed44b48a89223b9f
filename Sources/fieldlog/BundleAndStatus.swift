import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Carry commits between replicas as a file (USB stick).", subcommands: [Export.self, Import.self]
    )

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write every commit this replica holds to a bundle file.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The bundle file to write.") var out: String

        func run() throws {
            let ledger = try global.ledger(write: false)
            let count = try CommitBundle.write(from: ledger.replica, to: out)
            if global.json { try global.printJSON(["commits": count]) } else { print("Wrote \(count) commits to \(out).") }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take the commits of a bundle file; importing the same bundle twice changes nothing."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The bundle file.") var file: String
        @Flag(help: "Print a progress line after every batch (one SQLite transaction).") var progress = false

        func run() throws {
            let ledger = try global.ledger(write: false, batchSize: ProcessInfo.processInfo.environment["FIELDLOG_BATCH_SIZE"].flatMap(Int.init))
            let records = try CommitBundle.open(file)
            let started = Date()
            let showProgress = records.count >= 10_000 && isatty(STDERR_FILENO) == 1
            let report = try ledger.replica.importRecords(records) { seen in
                if progress { FileHandle.standardError.write(Data("progress \(seen)/\(records.count)\n".utf8)) }
                guard showProgress else { return }
                let elapsed = Date().timeIntervalSince(started)
                let rate = Double(seen) / max(elapsed, 0.001)
                let left = Double(records.count - seen) / max(rate, 1)
                FileHandle.standardError.write(Data(String(format: "\r%d/%d commits, %.0f/s, %.0f s left   ", seen, records.count, rate, left).utf8))
            }
            if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
            if global.json { try global.printJSON(report); return }
            print("Bundle \(file): \(records.count) commits; \(report.summary).")
            for refusal in report.refused.prefix(20) {
                print("  refused: \(refusal.reason)")
            }
            if report.refused.count > 20 { print("  ... and \(report.refused.count - 20) more (use --json for all)") }
            if report.held > 0 { print("  \(report.held) commits are held; `fieldlog status` says why.") }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "This replica: identity, counts, held commits, conflicts, scope digests.")
    @OptionGroup var global: GlobalOptions

    struct Output: Encodable {
        var folder: String
        var publicKey: String
        var fingerprint: String
        var role: String?
        var county: String?
        var rootFingerprint: String
        var records: [String: Int]
        var commits: [String: Int]
        var conflicts: Int
        var quarantinedFeeds: [FeedState]
        var held: [Held]
        var digests: [String: String]
    }

    struct Held: Encodable {
        var commit: String
        var scope: String
        var sequence: UInt64
        var status: String
        var reason: String
    }

    func run() throws {
        let ledger = try global.ledger(write: false)
        let counts = try ledger.replica.commitCounts()
        let unapplied = try ledger.replica.unappliedCommits(limit: 50)
        var digests: [String: String] = [:]
        for scope in try ledger.replica.scopes() { digests[scope] = try ledger.replica.digest(scope: scope) }
        let output = Output(
            folder: global.folder, publicKey: ledger.publicKey.hex, fingerprint: ledger.publicKey.fingerprint,
            role: try ledger.enrolledRole()?.rawValue, county: try ledger.replica.metaValue("county"),
            rootFingerprint: ledger.replica.root.fingerprint, records: try ledger.counts(),
            commits: ["applied": counts.applied, "held": counts.pending, "excluded": counts.excluded],
            conflicts: try ledger.replica.conflicts().count,
            quarantinedFeeds: try ledger.replica.feeds().filter { $0.forkedAt != nil },
            held: unapplied.map {
                Held(commit: $0.id.hex, scope: $0.scope, sequence: $0.sequence, status: $0.status == .pending ? "held" : "excluded", reason: $0.reason ?? "")
            },
            digests: digests
        )
        if global.json { try global.printJSON(output); return }
        print("fieldlog replica in \(output.folder)")
        print("  device:  \(output.fingerprint)  role: \(output.role ?? "not enrolled")")
        print("  county:  \(output.county ?? "-")  root \(output.rootFingerprint)")
        print("  records: " + output.records.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        print("  commits: applied \(counts.applied), held \(counts.pending), excluded \(counts.excluded)")
        print("  open conflicts: \(output.conflicts)")
        for feed in output.quarantinedFeeds {
            print("  QUARANTINED: feed of \(String(feed.author.prefix(16))) in \(feed.scope) forked at #\(feed.forkedAt ?? 0)")
        }
        for held in output.held.prefix(10) { print("  \(held.status): #\(held.sequence) in \(held.scope): \(held.reason)") }
    }
}

#if canImport(Glibc)
import Glibc
#endif
