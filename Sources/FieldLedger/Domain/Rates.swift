import Foundation

/// A ratio with its parts, so that a report shows both and an empty denominator is "—", not 0 %.
public struct Ratio: Sendable, Equatable {
    public var numerator = 0
    public var denominator = 0

    public init(_ numerator: Int = 0, _ denominator: Int = 0) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The rate in [0, 1], or nil when nothing was counted.
    public var value: Double? { denominator == 0 ? nil : Double(numerator) / Double(denominator) }

    mutating func count(_ success: Bool) {
        denominator += 1
        if success { numerator += 1 }
    }

    /// Counts an item with a deadline, judged on `today`: done in time is a success, a deadline
    /// passed (before `today`) undone a failure; otherwise it is not yet due and not counted.
    /// - Returns: true when the item is counted as a failure.
    @discardableResult
    mutating func count(done: Bool, due: Day, today: Day) -> Bool {
        if done {
            count(true)
        } else if due < today {
            count(false)
            return true
        }
        return false
    }

    /// "87.5% (7/8)", or "—" with nothing to count.
    public var display: String {
        guard let value else { return "—" }
        return String(format: "%.1f%% (%d/%d)", value * 100, numerator, denominator)
    }
}

/// A period of county-local days, both ends included (a month, for the monthly report).
public struct Period: Sendable, Equatable, CustomStringConvertible {
    public var from: Day
    public var to: Day

    public init(from: Day, to: Day) {
        self.from = from
        self.to = to
    }

    /// The calendar month "YYYY-MM".
    public init?(month text: String) {
        guard let first = Day(text + "-01") else { return nil }
        let (year, month, _) = first.components
        from = first
        to = Day(year: year, month: month, day: Day.daysIn(year: year, month: month))!
    }

    public func contains(_ day: Day) -> Bool { from <= day && day <= to }

    /// The month before (for a month period).
    public var previousMonth: Period {
        let last = from.adding(days: -1)
        let (year, month, _) = last.components
        return Period(from: Day(year: year, month: month, day: 1)!, to: last)
    }

    public var description: String { "\(from)…\(to)" }
}

/// The rates of docs/rates.md over a set of demands, for one period. Demands not accepted
/// (不予受理) are left out before this is computed.
public struct Rates: Sendable, Equatable {
    /// 签收及时率: assignments signed by their sign deadline / assignments whose sign deadline is in the period.
    public var signOnTime = Ratio()
    /// 响应率: demands contacted by their response deadline / demands whose response deadline is in the period.
    public var response = Ratio()
    /// 按时办结率: demands replied by the deadline in force / demands whose deadline is in the period.
    public var onTime = Ratio()
    /// 解决率: follow-ups in the period that closed the demand as resolved / closing follow-ups that answered.
    public var resolution = Ratio()
    /// 满意率: follow-ups in the period answering 非常满意, 满意 or 基本满意 / follow-ups with a satisfaction answer.
    public var satisfaction = Ratio()
    /// 退回率: assignments made in the period that were returned / assignments made in the period.
    public var returned = Ratio()
    /// 重办率: follow-ups in the period that reopened the demand / all follow-ups in the period.
    public var reopened = Ratio()
    /// Demands whose deadline is in the period, has passed, and that were not replied by it.
    public var overdue = 0
    /// Demands whose deadline is in the period but not reached on the day the rates are judged,
    /// and not replied yet: in no rate, neither in time nor late.
    public var notYetDue = 0
    /// Mean working days from the first assignment to the reply, over demands replied in the period.
    public var handlingWorkdays: [Int] = []

    /// The rates with their names in the county's words, in the order of the reports.
    public var figures: [(label: String, ratio: Ratio)] {
        [
            ("签收及时率", signOnTime), ("响应率", response), ("按时办结率", onTime), ("解决率", resolution),
            ("满意率", satisfaction), ("退回率", returned), ("重办率", reopened),
        ]
    }

    public var meanHandlingWorkdays: Double? {
        handlingWorkdays.isEmpty ? nil : Double(handlingWorkdays.reduce(0, +)) / Double(handlingWorkdays.count)
    }

    public init() {}

    /// Adds another set's counts to these: the rates of the union of two disjoint sets of demands
    /// (the counties of a city), each ratio pooled, never averaged.
    public mutating func absorb(_ other: Rates) {
        for path in [
            \Rates.signOnTime, \.response, \.onTime, \.resolution, \.satisfaction, \.returned, \.reopened,
        ] {
            self[keyPath: path].numerator += other[keyPath: path].numerator
            self[keyPath: path].denominator += other[keyPath: path].denominator
        }
        overdue += other.overdue
        notYetDue += other.notYetDue
        handlingWorkdays += other.handlingWorkdays
    }

    /// Adds one demand's contributions, judged on `today`: a deadline in the period that has not
    /// passed yet counts only once it is met (on 12-01 a demand due 12-22 is not late, and the
    /// 月调度 read during December must not say so). `lead` restricts the per-assignment counts to
    /// one department (for the by-department table); nil counts them all.
    mutating func add(
        _ status: DemandStatus,
        in period: Period,
        today: Day,
        calendar: WorkCalendar,
        profile: DeadlineProfile,
        onlyLead lead: UUID? = nil
    ) {
        for assignment in status.assignments where lead == nil || assignment.lead == lead {
            if period.contains(assignment.signDeadline) {
                let signed = assignment.signedAt.map { profile.localDay($0) <= assignment.signDeadline } ?? false
                signOnTime.count(done: signed, due: assignment.signDeadline, today: today)
            }
            if period.contains(profile.localDay(assignment.assignedAt)) { returned.count(assignment.returned) }
        }
        let demandCounts = lead == nil || status.lead == lead
        guard demandCounts else { return }
        if let first = status.assignments.first, period.contains(profile.localDay(first.contactDeadline)) {
            let contacted = status.firstContactAt.map { $0 <= first.contactDeadline } ?? false
            response.count(done: contacted, due: profile.localDay(first.contactDeadline), today: today)
        }
        if let due = status.deadlineAtReply ?? status.deadline, !status.assignments.isEmpty, period.contains(due) {
            let replied = status.repliedAt.map { profile.localDay($0) <= due } ?? false
            if onTime.count(done: replied, due: due, today: today) {
                overdue += 1
            } else if !replied {
                notYetDue += 1
            }
        }
        if let repliedAt = status.repliedAt, let first = status.assignments.first,
            period.contains(profile.localDay(repliedAt))
        {
            handlingWorkdays.append(
                calendar.workdays(after: profile.localDay(first.assignedAt), through: profile.localDay(repliedAt))
            )
        }
        for followUp in status.followUps where period.contains(profile.localDay(followUp.at)) {
            reopened.count(followUp.reopened)
            if !followUp.reopened, let resolved = followUp.resolved { resolution.count(resolved) }
            if let answer = followUp.satisfaction { satisfaction.count(Vocabulary.satisfied.contains(answer)) }
        }
    }
}
