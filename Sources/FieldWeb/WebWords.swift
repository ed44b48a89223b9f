import FieldLedger
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
}
