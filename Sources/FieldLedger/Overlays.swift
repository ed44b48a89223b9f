/// What a demand looks like on a given day: overdue or not, its card, its escalation level, and
/// whether it belongs on the 久拖不决 or 推诿扯皮 lists. Computed, never stored, for any "now", so
/// that reports can be asked about any date (docs/workflow.md gives every rule).
public struct Overlay: Sendable, Equatable {
    public enum Card: String, Sendable { case none = "", yellow = "黄牌", red = "红牌" }
    public enum Escalation: Int, Sendable, Comparable {
        case none = 0, urge = 1, supervise = 2, listed = 3

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
    public var dragOnReasons: [String] = []
    /// Why it is on the 推诿扯皮 list (empty: it is not).
    public var buckPassingReasons: [String] = []
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
        if overlay.card == .red && overlay.overdueWorkdays > profile.superviseAfterOverdueWorkdays { level = max(level, .supervise) }
        if overlay.card == .red && overlay.overdueWorkdays > profile.listAfterOverdueWorkdays { level = max(level, .listed) }
        if reopenings >= 1 { level = max(level, .urge) }
        if reopenings >= profile.superviseAfterReopenings { level = max(level, .supervise) }
        if reopenings >= profile.listAfterReopenings { level = max(level, .listed) }
        if returningDepartments.count >= profile.superviseAfterReturningDepartments { level = max(level, .supervise) }
        if returningDepartments.count >= profile.listAfterReturningDepartments { level = max(level, .listed) }
        overlay.escalation = level

        if let submittedAt, calendar.workdays(after: profile.localDay(submittedAt), through: today) > profile.dragOnOpenWorkdays {
            overlay.dragOnReasons.append("open more than \(profile.dragOnOpenWorkdays) working days")
        }
        if overlay.card == .red && overlay.overdueWorkdays > profile.dragOnOverdueWorkdays {
            overlay.dragOnReasons.append("overdue \(overlay.overdueWorkdays) working days")
        }
        if reopenings >= profile.dragOnReopenings { overlay.dragOnReasons.append("reopened \(reopenings) times") }
        if state == .longTerm, let last = milestoneDays.last, today > last {
            overlay.dragOnReasons.append("long-term plan past its last milestone \(last)")
        }
        if returns >= profile.buckPassingReturns { overlay.buckPassingReasons.append("returned \(returns) times") }
        if departmentsInvolved.count >= profile.buckPassingDepartments && !everSigned {
            overlay.buckPassingReasons.append("\(departmentsInvolved.count) departments involved, none signed")
        }
        return overlay
    }

    /// The dates of the long-term plan's milestones, in order.
    public var milestoneDays: [Day] {
        (milestones ?? "").split(separator: ";").compactMap { Day($0.trimmingCharacters(in: .whitespaces).prefix(10)) }.sorted()
    }
}

import Foundation
