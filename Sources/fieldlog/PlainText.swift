import FieldLedger
import FieldStore
import FieldSync
import Foundation

// What plain output says, in the county's words (`--json` keeps the English keys for scripts).

extension SyncSummary {
    /// One line for a cadre's terminal. "up to date" stays in it: scripts written before it was
    /// Chinese look for it.
    var chineseLine: String {
        if upToDate { return "已是最新 (up to date)，往返 \(requestBytes + responseBytes) 字节" }
        var parts = ["收到 \(received) 条提交", "发出 \(sent) 条"]
        let refused = refusedHere + refusedThere
        if !refused.isEmpty {
            parts.append("拒收 \(refused.count) 条：" + refused.prefix(3).map(\.reason).joined(separator: "；"))
        }
        if heldHere > 0 { parts.append("暂存 \(heldHere) 条（`fieldlog status` 说明原因）") }
        parts.append("未决字段冲突 \(conflicts) 处")
        if !divergentScopes.isEmpty { parts.append("数据不一致：\(divergentScopes.joined(separator: ", "))") }
        return parts.joined(separator: "，")
    }
}

extension ImportReport {
    /// One line for a terminal.
    var chineseSummary: String {
        var parts = ["新应用 \(applied) 条", "已有 \(skipped) 条", "暂存 \(held) 条", "拒收 \(refused.count) 条"]
        if excludedLater > 0 { parts.append("事后排除 \(excludedLater) 条") }
        return parts.joined(separator: "，")
    }
}

extension Role {
    /// `包联干部 (cadre)`: the county's word, with the code scripts and options use.
    var plain: String { "\(displayName) (\(rawValue))" }
}
