import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

/// `fieldlog registry readmit` (and `fieldlog hub readmit`): the operator's decision on a forked
/// feed, as a registry commit signed by the root key (docs/merge.md, "Readmission of a forked feed").
struct ReadmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readmit",
        abstract: "Decide which branch of a forked feed counts again, or none (operator only).",
        discussion:
            "A device key used on two laptops forks its feed in an enterprise: two commits with one number. The feed is excluded from there until this decision. Name the branch by its commit at the fork (see `fieldlog registry forks`), or `none` to keep it excluded with the decision on record. Deciding again replaces the decision."
    )
    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("key"), help: "The forked device's public key.") var publicKey: String
    @Option(help: "The feed's scope (ent:…), or the enterprise by name, USCC or id.") var scope: String
    @Option(help: "The commit id (at least 8 hex digits) at the fork whose branch counts, or none.") var branch: String
    @Option(help: "Why (kept with the decision).") var note: String?

    func run() throws {
        let key = try PublicKey(hex: publicKey)
        let ledger = try global.ledger(write: true)
        let decided = try ledger.readmit(publicKey: key, scope: scope, branch: branch, decidedBy: "命令行", note: note)
        if global.json {
            try global.printJSON(decided)
            return
        }
        let what = decided.chosen.map { "分支 \($0.prefix(12))" } ?? "不恢复任何分支"
        print(
            "已决定：设备 \(decided.device ?? key.fingerprint) 在 \(decided.enterprise ?? decided.scope) 的数据流，第 \(decided.sequence) 条处\(what)。"
        )
        print("现状：\(decided.standingText)。各终端同步后按此决定。")
    }
}

/// `fieldlog registry forks`: every forked feed held here, its evidence, and the decision on it.
struct ForksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forks",
        abstract: "List the forked feeds held here with their evidence, and the operator's decisions on them."
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let ledger = try global.ledger(write: false)
        let forks = try ledger.forks()
        let decisions = try ledger.readmissions()
        if global.json {
            struct Fork: Encodable {
                var publicKey: String
                var scope: String
                var sequence: UInt64
                var commits: [String]
                var excludedFrom: UInt64?
                var head: UInt64
            }
            struct Output: Encodable {
                var forks: [Fork]
                var readmissions: [Ledger.Readmission]
            }
            try global.printJSON(
                Output(
                    forks: forks.map {
                        Fork(
                            publicKey: $0.author,
                            scope: $0.scope,
                            sequence: $0.sequence,
                            commits: $0.commits.map(\.id),
                            excludedFrom: $0.excludedFrom,
                            head: $0.head
                        )
                    },
                    readmissions: decisions
                )
            )
            return
        }
        let profile = try global.profile()
        for fork in forks {
            let state = fork.excludedFrom.map { "自第 \($0) 条起排除" } ?? "已恢复，有效至第 \(fork.head) 条"
            print("设备 \(fork.author)  \(ledger.scopeLabel(fork.scope))  第 \(fork.sequence) 条处分叉，\(state)")
            for commit in fork.commits {
                print("    提交 \(commit.id)  \(ISOTime.local(Int64(commit.milliseconds), profile: profile))")
            }
            for decision in decisions where decision.publicKey == fork.author && decision.scope == fork.scope {
                print(
                    "    决定：第 \(decision.sequence) 条处\(decision.chosen.map { "恢复 \($0.prefix(12))" } ?? "不恢复")；\(decision.standingText)"
                )
            }
        }
        print("(共 \(forks.count) 个分叉)")
    }
}
