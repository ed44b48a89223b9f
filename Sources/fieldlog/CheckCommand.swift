import ArgumentParser
import FieldLedger
import FieldStore
import Foundation

/// `fieldlog check`: the operator's fsck of a replica (a laptop's or the hub's).
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Recompute every row from the signed log and compare it with what is stored; run SQLite's integrity check.",
        discussion: """
            Reads only. Every stored commit's id and signature are checked again, every row's state \
            is recomputed from the applied commits by the merge rule and compared with the stored \
            merge state, the visible rows and the open conflicts. Exits 0 when all agree; otherwise \
            exits 1 and names the first difference. See docs/operations.md.
            """
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let ledger = try global.ledger(write: false)
        let started = Date()
        let report = try ledger.check { step in
            if !global.json { FileHandle.standardError.write(Data("  \(step)…\n".utf8)) }
        }
        let seconds = Date().timeIntervalSince(started)
        if global.json {
            try global.printJSON(report)
        } else if report.isClean {
            print(
                "检查通过：\(report.commits) 个提交、\(report.rows) 行、\(report.cells) 个单元格与签名日志一致，SQLite 完整性检查正常（用时 \(String(format: "%.1f", seconds)) 秒）。"
            )
        } else {
            print("检查发现问题：\(report.differenceCount) 处与签名日志不一致，SQLite 完整性检查 \(report.integrity.count) 条。")
            for line in report.integrity.prefix(10) { print("  SQLite: \(line)") }
            for line in report.differences.prefix(20) { print("  \(line)") }
        }
        if !report.isClean {
            let first = report.integrity.first.map { "SQLite: \($0)" } ?? report.differences.first ?? ""
            Fieldlog.fail(
                "the replica differs from its signed log (\(first)); keep a copy of the folder and rebuild the replica from a bundle or the hub"
            )
        }
    }
}
