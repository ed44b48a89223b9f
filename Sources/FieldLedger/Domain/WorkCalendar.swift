import Foundation

/// A civil date (no time, no zone), counted as days since 1970-01-01 so that arithmetic and
/// weekdays need no calendar library and give the same answer on every machine.
public struct Day: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public let ordinal: Int

    public init(ordinal: Int) { self.ordinal = ordinal }

    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), (1...Self.daysIn(year: year, month: month)).contains(day) else { return nil }
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        ordinal = era * 146_097 + dayOfEra - 719_468
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public var components: (year: Int, month: Int, day: Int) {
        let z = ordinal + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public var year: Int { components.year }

    /// 1 = Monday … 7 = Sunday (ISO 8601).
    public var weekday: Int { ((ordinal + 3) % 7 + 7) % 7 + 1 }

    public var isWeekend: Bool { weekday >= 6 }

    public var description: String {
        let (year, month, day) = components
        return "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    public func adding(days: Int) -> Day { Day(ordinal: ordinal + days) }

    public static func < (lhs: Day, rhs: Day) -> Bool { lhs.ordinal < rhs.ordinal }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// The official working-day calendar: weekends are rest days and weekdays working days, except
/// where a loaded year says otherwise (statutory holidays, and the make-up working days on
/// Saturdays and Sundays). A year that is not loaded is counted on weekends only, and anything
/// computed across it is marked provisional.
public struct WorkCalendar: Sendable, Equatable {
    /// Dates that differ from the weekend rule: true = a working day, false = a holiday.
    public private(set) var exceptions: [Day: Bool] = [:]
    public private(set) var loadedYears: Set<Int> = []

    public init() {}

    /// Loads the lines of a calendar file (`date,kind[,note]`, kind `holiday` or `workday`, a header
    /// line allowed; a holiday on a weekend, as the State Council notices list them, is allowed). Every year the file mentions counts as loaded, and replaces what was loaded
    /// for that year before. Errors name the line.
    public mutating func load(csv text: String) throws(LedgerError) {
        var parsed: [Int: [Day: Bool]] = [:]
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || (index == 0 && line.lowercased().hasPrefix("date")) { continue }
            let fields = line.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 2, let day = Day(fields[0]) else {
                throw LedgerError(
                    .invalidField,
                    "calendar line \(index + 1): '\(line)' is not 'YYYY-MM-DD,holiday|workday[,note]'"
                )
            }
            let isWorkday: Bool
            switch fields[1].lowercased() {
            case "workday", "班", "上班": isWorkday = true
            case "holiday", "休", "休息": isWorkday = false
            default:
                throw LedgerError(
                    .invalidField,
                    "calendar line \(index + 1): kind '\(fields[1])' is not holiday or workday"
                )
            }
            if parsed[day.year, default: [:]].updateValue(isWorkday, forKey: day) != nil {
                throw LedgerError(.invalidField, "calendar line \(index + 1): \(day) is listed twice")
            }
        }
        guard !parsed.isEmpty else { throw LedgerError(.missingField, "the calendar file lists no dates") }
        for (year, days) in parsed {
            exceptions = exceptions.filter { $0.key.year != year }
            exceptions.merge(days) { _, new in new }
            loadedYears.insert(year)
        }
    }

    /// The calendar lines of one loaded year, the form stored in the registry.
    public func lines(of year: Int) -> String {
        exceptions.filter { $0.key.year == year }.sorted { $0.key < $1.key }
            .map { "\($0.key) \($0.value ? "workday" : "holiday")" }.joined(separator: "\n")
    }

    /// Loads one year from its stored lines ("YYYY-MM-DD holiday|workday").
    mutating func load(year: Int, lines: String) throws(LedgerError) {
        let csv = lines.split(whereSeparator: \.isNewline).map { $0.replacingOccurrences(of: " ", with: ",") }.joined(
            separator: "\n"
        )
        var single = WorkCalendar()
        if !csv.isEmpty { try single.load(csv: csv) }
        exceptions = exceptions.filter { $0.key.year != year }
        exceptions.merge(single.exceptions.filter { $0.key.year == year }) { _, new in new }
        loadedYears.insert(year)
    }

    public func isWorkday(_ day: Day) -> Bool { exceptions[day] ?? !day.isWeekend }

    public func isLoaded(_ year: Int) -> Bool { loadedYears.contains(year) }

    /// "Within N working days" of `day`: the day itself is not counted, day 1 is the next working
    /// day, and the result is the Nth. `provisional` when a day counted lies in a year not loaded.
    public func addingWorkdays(_ count: Int, to day: Day) -> (day: Day, provisional: Bool) {
        var current = day
        var remaining = count
        var provisional = false
        while remaining > 0 {
            current = current.adding(days: 1)
            if !isLoaded(current.year) { provisional = true }
            if isWorkday(current) { remaining -= 1 }
        }
        return (current, provisional)
    }

    /// Working days strictly after `start` up to and including `end` (0 when `end` <= `start`).
    public func workdays(after start: Day, through end: Day) -> Int {
        guard end > start else { return 0 }
        var count = 0
        var current = start.adding(days: 1)
        while current <= end {
            if isWorkday(current) { count += 1 }
            current = current.adding(days: 1)
        }
        return count
    }

    /// The first working day on or after `day`.
    public func workday(onOrAfter day: Day) -> Day {
        var current = day
        while !isWorkday(current) { current = current.adding(days: 1) }
        return current
    }

    /// The calendars this build ships (schema/calendar/*.csv: 2025 and 2026).
    public static var shipped: WorkCalendar {
        var calendar = WorkCalendar()
        for file in LedgerSchema.shippedCalendars {
            try! calendar.load(csv: file)  // checked by a test; a bad file is a build error
        }
        return calendar
    }
}
