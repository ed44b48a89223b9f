import Foundation

/// What a demand looks like on a given day: overdue or not, its card, its escalation level, and
/// whether it belongs on the 久拖不决 or 推诿扯皮 lists. Computed, never stored, for any "now", so
/// that reports can be asked about any date (docs/workflow.md gives every rule).
public struct Overlay: Sendable, Equatable {
    public enum Card: String, Sendable {
        case none = ""
        case yellow = "黄牌"
        case red = "红牌"
    }
    public enum Escalation: Int, Sendable, Comparable {
        case none = 0
        case urge = 1
        case supervise = 2
        case listed = 3

        public var chinese: String {
            switch self {
            case .none: ""
            case .urge: "催办"
            case .supervise: "督办"
            case .listed: "挂牌督办"
            }
        }

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Replied after the deadline, or still not replied and past it.
    public var isOverdue = false
    /// Working days past the deadline (up to the reply, or to today when not replied).
    public var overdueWorkdays = 0
    public var card = Card.none
    public var escalation = Escalation.none
    /// Why it is on the 久拖不决 list (empty: it is not).
    public var dragOn: [ListReason] = []
    /// Why it is on the 推诿扯皮 list (empty: it is not).
    public var buckPassing: [ListReason] = []

    /// The 久拖不决 reasons in English (`--json`, scripts).
    public var dragOnReasons: [String] { dragOn.map(\.english) }
    /// The 推诿扯皮 reasons in English (`--json`, scripts).
    public var buckPassingReasons: [String] { buckPassing.map(\.english) }

    /// Why a demand is on the 久拖不决 or 推诿扯皮 list: in the county's words for people (`chinese`,
    /// what `demand show` and the 月调度 print), in English for scripts.
    public enum ListReason: Sendable, Equatable {
        case openLongerThan(workdays: Int)
        case overdue(workdays: Int)
        case reopened(times: Int)
        case pastLastMilestone(Day)
        case returned(times: Int)
        case departmentsNoneSigned(count: Int)

        public var english: String {
            switch self {
            case .openLongerThan(let days): "open more than \(days) working days"
            case .overdue(let days): "overdue \(days) working days"
            case .reopened(let times): "reopened \(times) times"
            case .pastLastMilestone(let day): "long-term plan past its last milestone \(day)"
            case .returned(let times): "returned \(times) times"
            case .departmentsNoneSigned(let count): "\(count) departments involved, none signed"
            }
        }

        public var chinese: String {
            switch self {
            case .openLongerThan(let days): "办理超过 \(days) 个工作日未办结"
            case .overdue(let days): "超期 \(days) 个工作日"
            case .reopened(let times): "重办 \(times) 次"
            case .pastLastMilestone(let day): "长期跟踪已过最后节点 \(day)"
            case .returned(let times): "退回 \(times) 次"
            case .departmentsNoneSigned(let count): "涉及 \(count) 个单位，均未签收"
            }
        }
    }
}

extension DemandStatus {
    /// Still waiting for the lead's answer: the handling clock runs.
    var awaitsReply: Bool { [.pendingSign, .inProgress, .returnRequested].contains(state) }

    /// The overlays of this demand on `today` (a county-local day).
    public func overlay(on today: Day, calendar: WorkCalendar, profile: DeadlineProfile) -> Overlay {
        var overlay = Overlay()
        if let deadline {
            if awaitsReply {
                if today > deadline {
                    overlay.isOverdue = true
                    overlay.overdueWorkdays = max(1, calendar.workdays(after: deadline, through: today))
                    overlay.card = .red
                } else if calendar.workdays(after: today, through: deadline) <= profile.yellowCardWorkdays {
                    overlay.card = .yellow
                }
            } else if let repliedAt, let due = deadlineAtReply ?? self.deadline {
                let replyDay = profile.localDay(repliedAt)
                if replyDay > due {
                    overlay.isOverdue = true
                    overlay.overdueWorkdays = max(1, calendar.workdays(after: due, through: replyDay))
                }
            }
        }
        guard state.isUnresolved else { return overlay }

        var level = Overlay.Escalation.none
        if overlay.card == .red { level = max(level, .urge) }
        if overlay.card == .red && overlay.overdueWorkdays > profile.superviseAfterOverdueWorkdays {
            level = max(level, .supervise)
        }
        if overlay.card == .red && overlay.overdueWorkdays > profile.listAfterOverdueWorkdays {
            level = max(level, .listed)
        }
        if reopenings >= 1 { level = max(level, .urge) }
        if reopenings >= profile.superviseAfterReopenings { level = max(level, .supervise) }
        if reopenings >= profile.listAfterReopenings { level = max(level, .listed) }
        if returningDepartments.count >= profile.superviseAfterReturningDepartments { level = max(level, .supervise) }
        if returningDepartments.count >= profile.listAfterReturningDepartments { level = max(level, .listed) }
        overlay.escalation = level

        if let submittedAt,
            calendar.workdays(after: profile.localDay(submittedAt), through: today) > profile.dragOnOpenWorkdays
        {
            overlay.dragOn.append(.openLongerThan(workdays: profile.dragOnOpenWorkdays))
        }
        if overlay.card == .red && overlay.overdueWorkdays > profile.dragOnOverdueWorkdays {
            overlay.dragOn.append(.overdue(workdays: overlay.overdueWorkdays))
        }
        if reopenings >= profile.dragOnReopenings { overlay.dragOn.append(.reopened(times: reopenings)) }
        if state == .longTerm, let last = milestoneDays.last, today > last {
            overlay.dragOn.append(.pastLastMilestone(last))
        }
        if returns >= profile.buckPassingReturns { overlay.buckPassing.append(.returned(times: returns)) }
        if departmentsInvolved.count >= profile.buckPassingDepartments && !everSigned {
            overlay.buckPassing.append(.departmentsNoneSigned(count: departmentsInvolved.count))
        }
        return overlay
    }

    /// The dates of the long-term plan's milestones, in order.
    public var milestoneDays: [Day] {
        (milestones ?? "").split(separator: ";").compactMap { Day($0.trimmingCharacters(in: .whitespaces).prefix(10)) }
            .sorted()
    }
}
