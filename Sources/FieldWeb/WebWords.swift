import FieldExport
import FieldLedger
import FieldStore
import FieldSync
import Foundation

/// What the screens say, in the county's words: the values a person fills in, and the workflow's
/// refusals (the ledger's typed reasons, worded here; the CLI words them in its own way).
enum WebWords {
    /// The label of a value a form asks for.
    static func label(_ field: LedgerError.Field) -> String {
        switch field {
        case .keep: "保留的分支"
        case .comment: "意见"
        case .lead: "牵头单位"
        case .coDepartments: "协办单位"
        case .suggest: "建议牵头单位"
        case .until: "延期至"
        case .days: "延长工作日数"
        case .reply: "答复内容"
        case .outcome: "办理结果"
        case .resolved: "企业是否认可已解决"
        case .satisfaction: "满意度"
        case .milestones: "节点计划"
        case .contacted: "首次联系企业时间"
        case .cadre: "包联领导"
        case .department: "单位"
        case .enterprise: "企业"
        case .visitDate: "走访日期"
        case .nextVisit: "下次走访"
        case .visit: "走访记录"
        case .pick: "选择"
        case .allowDuplicateNames, .allowDuplicateName: "仍然添加同名"
        case .replaceLead: "更换主包"
        case .reinstate: "恢复"
        case .value: "值"
        case .title: "诉求标题"
        case .content: "诉求内容"
        case .type: "诉求类型"
        case .category: "诉求类别"
        case .urgency: "紧急程度"
        case .channel: "来源渠道"
        case .mode: "走访方式"
        case .noDemands: "本次无诉求"
        }
    }

    /// A refused form's value, said beside its field: what is wrong with it and what to do.
    static func fieldProblem(_ error: LedgerError) -> String? {
        guard let field = error.field else { return nil }
        let chosen: Set<LedgerError.Field> = [.enterprise, .type, .category, .urgency, .mode, .channel]
        if error.code == .missingField {
            return chosen.contains(field) ? "请选择“\(label(field))”。" : "请填写“\(label(field))”。"
        }
        switch field {
        case .visitDate: return "请填写走访当天或之前的日期（走访后再登记；计划中的走访填在“下次计划走访”）。"
        case .nextVisit: return "请填写有效日期，且不早于本次走访。"
        case .noDemands: return "已勾选“本次无诉求”，却填写了诉求：请取消勾选，或清空诉求。"
        case .type, .category, .urgency, .mode, .channel: return "请从列表中选择“\(label(field))”。"
        case .enterprise: return "请选择您包联的、在册的企业。"
        default: return "“\(label(field))”填写有误。"
        }
    }

    /// Why the ledger refused, in Chinese: a workflow reason worded here, a missing value named by
    /// its label, else the ledger's sentence with the values named by their labels.
    static func refusal(_ error: LedgerError, demand number: String) -> String {
        if let refusal = error.refusal { return self.refusal(refusal, demand: number) }
        switch error.code {
        case .missingField where error.field != nil: return "请填写“\(label(error.field!))”。"
        case .notPermitted: return "本机无权这样做：" + error.message(naming: label)
        default: return "未能保存：" + error.message(naming: label)
        }
    }

    static func refusal(_ refusal: WorkflowRefusal, demand number: String) -> String {
        switch refusal {
        case .conflict: "诉求 \(number) 有并发的流转操作，需先由营商办裁定保留哪一支。"
        case .notAllowed(let action, let state): "诉求 \(number) 当前为“\(state.chinese)”，不能“\(action.chinese)”。"
        case .notForRole(let action, _, let state): "本机的角色不能在“\(state.chinese)”时“\(action.chinese)”。"
        case .notLead(let action): "只有诉求 \(number) 的牵头单位才能“\(action.chinese)”。"
        case .mayNotReturnAgain: "营商办已裁定由本单位继续牵头，不能再次申请退回。"
        case .needsComment(let action): "“\(action.chinese)”需要填写意见。"
        case .settleNotCoordinator: "只有营商办能裁定流转冲突。"
        case .noConflictToSettle: "诉求 \(number) 没有需要裁定的流转冲突。"
        case .notABranch: "所选事件不是冲突分支的第一步，请从列表中选择。"
        case .noDeadline: "该诉求还没有办理时限，无法延期。"
        case .extensionNeedsDate: "请填写“延期至”日期或“延长工作日数”。"
        case .extensionNotAfter(let until, let deadline): "延期日期 \(until) 不晚于当前时限 \(deadline)。"
        case .extensionBeyondCap(let until, let start, let cap, let days):
            "延期最多到自 \(start) 起 \(days) 个工作日，即 \(cap)（所填 \(until)）。"
        case .extensionTooLate(let deadline, let notice): "申请延期须在时限 \(deadline) 前至少 \(notice) 个工作日提出，现已太晚。"
        case .replyNeedsOutcome: "请填写“办理结果”。"
        case .badMilestone(let part): "节点“\(part)”没有以日期开头（如 2026-06-30）。"
        }
    }

    /// A sync's result, line by line: sent, received, refused with each reason, new conflicts.
    static func syncResult(_ summary: SyncSummary, newConflicts: Int, workflow: [String]) -> [String] {
        if summary.upToDate { return ["双方已是最新，没有需要收发的提交。"] }
        var lines = ["发出 \(summary.sent) 条提交，收到 \(summary.received) 条。"]
        if !summary.refusedThere.isEmpty {
            lines.append("对方拒收本机 \(summary.refusedThere.count) 条提交：")
            lines += summary.refusedThere.prefix(10).map { "  拒收原因：" + $0.reason }
        }
        if !summary.refusedHere.isEmpty {
            lines.append("本机拒收 \(summary.refusedHere.count) 条提交：")
            lines += summary.refusedHere.prefix(10).map { "  拒收原因：" + $0.reason }
        }
        if summary.heldHere > 0 { lines.append("暂存 \(summary.heldHere) 条（等待所依赖的提交到达）。") }
        lines.append(newConflicts > 0 ? "新出现字段冲突 \(newConflicts) 处，请到“冲突”页裁定。" : "没有新的字段冲突。")
        if !workflow.isEmpty { lines.append("流转冲突待营商办裁定：" + workflow.joined(separator: "、")) }
        if !summary.divergentScopes.isEmpty {
            lines.append("警告：双方提交相同但数据不一致（\(summary.divergentScopes.count) 个范围），请报告运维人员。")
        }
        return lines
    }

    /// Why a sync failed, in Chinese, with what to do next (the technical sentence after it).
    static func syncFailure(_ error: any Error) -> String {
        guard let error = error as? SyncError else { return "同步未完成：发生意外错误。请稍后重试；仍不行请联系运维人员。" }
        let advice: String =
            switch error.code {
            case .transport: "连不上对方或连接中断。请检查地址、端口和网络，确认对方正在运行后重试；已收到的内容都已保存。"
            case .refused: "对方拒绝了本机的请求（可能本机已被吊销或尚未登记）。请联系运维人员。"
            case .outOfScope: "对方不允许本机读取所请求的范围。请联系运维人员。"
            case .unsupportedVersion: "对方的 fieldlog 版本与本机不兼容。请升级后重试。"
            default: "同步未完成，请重试；已收到的内容都已保存。"
            }
        return advice + "（\(error.message)）"
    }

    /// What a failed check of an exported file found, in Chinese.
    static func verifyFailure(_ error: ExportError) -> String {
        switch error.kind {
        case .altered: "核验未通过：文件与签名不符，已被改动，不可信。"
        case .forged: "核验未通过：签名与其所列密钥不符（伪造），不可信。"
        case .unknownSigner: "核验未通过：签名密钥不属于本县登记的任何设备。"
        case .notASignature: "所选的签名文件不是 fieldlog 的签名文件（.sig）。"
        case .other: "核验未通过：" + error.message
        }
    }

    /// Why this device may not change a demand's facts, as a sentence.
    static func editBlock(_ block: EditBlock) -> String {
        switch block {
        case .notEnrolled: "本机尚未登记（或登记册尚未同步到本机），不能修改。"
        case .revoked: "本机已被吊销，不能再修改任何记录；请联系运维人员。"
        case .roleMayNot(let role): "本机角色为“\(role.displayName)”，只能查看和督办，不能修改诉求内容。"
        case .notLinked: "您未包联该企业（或包联关系已结束），不能修改其诉求。"
        case .finished(let state): "诉求已“\(state.chinese)”，内容保持办结时的样子；如企业不满意，可先“重办”。"
        }
    }

    /// The confirmations after a save, shown once on the page that follows.
    enum Saved {
        static let edit = "已保存修改，并已记入流转日志。"
        static let act = "已办理，并已记入流转日志。"
        static let visit = "走访记录已保存。"
        static let resolve = "已采用所选的值，冲突已裁定。"
    }
}
