import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Carry commits between replicas as a file (USB stick).",
        subcommands: [Export.self, Import.self]
    )

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write commits to a bundle file: only what one device may read (--for), or everything (--all).",
            discussion: """
                A bundle carries records to another replica, so by default it must name who it is for: \
                --for writes the registry and the enterprises both that device and this one may read, as \
                a laptop serving that device would (a cadre's linked enterprises, a department's assigned \
                ones, everything for coordinators, supervisors and the operator). --all writes every \
                commit this replica holds, for a backup or for your own other replica.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The bundle file to write.") var out: String
        @Option(
            name: .customLong("for"),
            help:
                "The device the bundle is for: its device code (D002), fingerprint, public key, or its holder (cadre, department or label), as `fieldlog registry list devices` shows them."
        )
        var recipient: String?
        @Flag(help: "Write every commit this replica holds (a backup, or your own other replica).") var all = false

        func validate() throws {
            if recipient == nil && !all {
                throw ValidationError(
                    "say who the bundle is for: --for DEVICE writes only what that device may read (`fieldlog registry list devices` lists them); --all writes everything this replica holds"
                )
            }
            if recipient != nil && all { throw ValidationError("give --for or --all, not both") }
        }

        struct Output: Encodable {
            var commits: Int
            var file: String
            /// The recipient's fingerprint, and how many enterprise scopes the bundle may carry (those
            /// both devices may read); absent with --all.
            var recipient: String?
            var enterprises: Int?
        }

        func run() throws {
            let ledger = try global.ledger(write: false)
            var output = Output(commits: 0, file: out)
            var scopes: Set<String>?
            if let recipient {
                let (key, readable) = try ledger.bundleScopes(for: recipient)
                scopes = readable
                output.recipient = key.fingerprint
                output.enterprises = readable.filter { $0 != Commit.registryScope }.count
            }
            output.commits = try ledger.writeBundle(scopes: scopes, to: out)
            if global.json {
                try global.printJSON(output)
                return
            }
            if let recipient, let fingerprint = output.recipient, let enterprises = output.enterprises {
                let named =
                    recipient.lowercased().replacingOccurrences(of: "-", with: "")
                        == fingerprint.replacingOccurrences(of: "-", with: "")
                    ? fingerprint : "\(recipient) (\(fingerprint))"
                print("已写出 \(output.commits) 条提交到 \(out)，给 \(named)：登记册和双方都可读的 \(enterprises) 家企业。")
            } else {
                print("已写出 \(output.commits) 条提交到 \(out)：本副本持有的全部。")
            }
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
            let ledger = try global.ledger(
                write: false,
                batchSize: ProcessInfo.processInfo.environment["FIELDLOG_BATCH_SIZE"].flatMap(Int.init)
            )
            let records = try CommitBundle.open(file)
            let started = Date()
            let showProgress = records.count >= 10_000 && isatty(STDERR_FILENO) == 1
            let report = try ledger.importRecords(records) { seen in
                if progress { FileHandle.standardError.write(Data("progress \(seen)/\(records.count)\n".utf8)) }
                guard showProgress else { return }
                let elapsed = Date().timeIntervalSince(started)
                let rate = Double(seen) / max(elapsed, 0.001)
                let left = Double(records.count - seen) / max(rate, 1)
                FileHandle.standardError.write(
                    Data(
                        String(format: "\r%d/%d commits, %.0f/s, %.0f s left   ", seen, records.count, rate, left).utf8
                    )
                )
            }
            if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
            if global.json {
                try global.printJSON(report)
                return
            }
            print("导入 \(file)：共 \(records.count) 条提交；\(report.chineseSummary)。")
            for refusal in report.refused.prefix(20) {
                print("  拒收：\(refusal.reason)")
            }
            if report.refused.count > 20 { print("  ……另有 \(report.refused.count - 20) 条（--json 列出全部）") }
            if report.held > 0 { print("  \(report.held) 条暂存，`fieldlog status` 说明原因。") }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "This replica: identity, counts, held commits, conflicts, scope digests."
    )
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
        /// Demands (by number) with a workflow conflict for the coordinator to settle.
        var workflowConflicts: [String]
        var quarantinedFeeds: [FeedState]
        var held: [Held]
        var digests: [String: String]
        /// The last successful sync with the hub (its address and time), and the commits this
        /// device wrote since (as the screens' 同步 shows them).
        var lastSync: SyncRecord?
        var waitingCommits: Int
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
        let counts = try ledger.commitCounts()
        let unapplied = try ledger.unappliedCommits(limit: 50)
        let digests = try ledger.scopeDigests()
        let standing = try ledger.syncStanding()
        let output = Output(
            folder: global.folder,
            publicKey: ledger.publicKey.hex,
            fingerprint: ledger.publicKey.fingerprint,
            role: try ledger.enrolledRole()?.rawValue,
            county: try ledger.countyName(),
            rootFingerprint: ledger.rootKey.fingerprint,
            records: try ledger.counts(),
            commits: ["applied": counts.applied, "held": counts.pending, "excluded": counts.excluded],
            conflicts: try ledger.openConflicts().count,
            workflowConflicts: try ledger.workflowConflicts(profile: try global.profile()).map(\.number),
            quarantinedFeeds: try ledger.quarantinedFeeds(),
            held: unapplied.map {
                Held(
                    commit: $0.id.hex,
                    scope: $0.scope,
                    sequence: $0.sequence,
                    status: $0.status == .pending ? "held" : "excluded",
                    reason: $0.reason ?? ""
                )
            },
            digests: digests,
            lastSync: standing.last,
            waitingCommits: standing.waiting
        )
        if global.json {
            try global.printJSON(output)
            return
        }
        print("fieldlog 副本：\(output.folder)")
        print("  本机设备：\(output.fingerprint)  角色：\(try ledger.enrolledRole()?.plain ?? "尚未登记 (not enrolled)")")
        print("  县：\(output.county ?? "-")  根密钥指纹：\(output.rootFingerprint)")
        print(
            "  记录："
                + output.records.sorted { $0.key < $1.key }.map {
                    "\(RecordNames.tables[$0.key] ?? $0.key) \($0.value)"
                }.joined(separator: "，")
        )
        print("  提交：已应用 \(counts.applied)，暂存 \(counts.pending)，已排除 \(counts.excluded)")
        if let last = standing.last {
            let profile = try global.profile()
            let at = ISOTime.parse(last.at).map { ISOTime.local($0, profile: profile) } ?? last.at
            print("  上次与县级平台同步：\(at)（\(last.target)）；之后本机新写的提交 \(standing.waiting) 条待同步")
        } else {
            print("  尚未与县级平台同步过；本机写的提交 \(standing.waiting) 条待同步")
        }
        print("  未决字段冲突：\(output.conflicts) 处\(output.conflicts == 0 ? "" : "（`fieldlog conflicts` 列出）")")
        if !output.workflowConflicts.isEmpty {
            print("  流转冲突待协调人裁定：\(output.workflowConflicts.joined(separator: "、"))")
        }
        for feed in output.quarantinedFeeds {
            print(
                "  已隔离：设备 \(String(feed.author.prefix(16)))… 在\(ledger.scopeLabel(feed.scope))的提交自第 \(feed.forkedAt ?? 0) 条起分叉（同一序号两份不同提交）"
            )
        }
        for held in output.held.prefix(10) {
            print(
                "  \(held.status == "held" ? "暂存" : "已排除")：第 \(held.sequence) 条，\(ledger.scopeLabel(held.scope))：\(held.reason)"
            )
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
