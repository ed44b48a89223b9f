import Foundation

/// Every number of the deadline rules, the overlays and the lists (docs/workflow.md). The default is
/// Shandong's "2115" for enterprise demands; a county changes it with a JSON file of the same keys
/// (`fieldlog export … --profile FILE`, or `profile.json` in the data folder).
public struct DeadlineProfile: Codable, Sendable, Equatable {
    public var name = "山东 2115"
    /// The county's offset from UTC, in minutes (China Standard Time: +480).
    public var utcOffsetMinutes = 480
    /// Office hours on a working day, in minutes after local midnight (08:30 to 17:30).
    public var officeOpensAt = 8 * 60 + 30
    public var officeClosesAt = 17 * 60 + 30
    /// "2": contact the enterprise within this many office hours of assignment.
    public var contactHours = 2
    /// The lead department signs within this many working days of assignment.
    public var signWorkdays = 1
    /// "1": a handling opinion within this many working days of signing.
    public var opinionWorkdays = 1
    /// "15": resolved, or service confirmed, within this many working days of signing.
    public var resolveWorkdays = 15
    /// Complex cases: extensions may carry the deadline to at most this many working days.
    public var maximumWorkdays = 30
    /// An extension is asked for at least this many working days before the deadline.
    public var extensionNoticeWorkdays = 1
    /// The yellow card shows this many working days before the deadline.
    public var yellowCardWorkdays = 1
    /// Escalation: 督办 past this many working days overdue (催办 from the first), 挂牌督办 past the second.
    public var superviseAfterOverdueWorkdays = 5
    public var listAfterOverdueWorkdays = 15
    /// Escalation by reopenings (重办): 督办 and 挂牌督办 at these counts (催办 from the first).
    public var superviseAfterReopenings = 2
    public var listAfterReopenings = 3
    /// Escalation by departments that returned the demand: 督办 and 挂牌督办 at these counts.
    public var superviseAfterReturningDepartments = 2
    public var listAfterReturningDepartments = 3
    /// 久拖不决: open past this many working days since submission, or overdue by more than the
    /// second number, or reopened at least the third number of times.
    public var dragOnOpenWorkdays = 30
    public var dragOnOverdueWorkdays = 5
    public var dragOnReopenings = 2
    /// 推诿扯皮: returned at least this many times, or this many departments involved with none signing.
    public var buckPassingReturns = 2
    public var buckPassingDepartments = 3

    public init() {}

    public static let shandong2115 = DeadlineProfile()

    /// Reads a profile from JSON; keys left out keep their default.
    public static func load(json data: Data) throws(LedgerError) -> DeadlineProfile {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LedgerError(.invalidField, "the deadline profile is not a JSON object")
        }
        let defaults =
            (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(DeadlineProfile()))) as? [String: Any] ?? [:]
        if let unknown = object.keys.first(where: { defaults[$0] == nil }) {
            throw LedgerError(
                .invalidField,
                "the deadline profile has an unknown key '\(unknown)'; known: \(defaults.keys.sorted().joined(separator: ", "))"
            )
        }
        let merged = defaults.merging(object) { _, new in new }
        do {
            let profile = try JSONDecoder().decode(
                DeadlineProfile.self,
                from: JSONSerialization.data(withJSONObject: merged)
            )
            guard profile.officeOpensAt < profile.officeClosesAt, profile.resolveWorkdays <= profile.maximumWorkdays,
                [profile.contactHours, profile.signWorkdays, profile.resolveWorkdays].allSatisfy({ $0 > 0 })
            else {
                throw LedgerError(
                    .invalidField,
                    "the deadline profile is inconsistent (office hours, or resolve days above the maximum)"
                )
            }
            return profile
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.invalidField, "the deadline profile has a value of the wrong type: \(error)")
        }
    }

    // MARK: Local time

    /// The county's local day of a UTC instant (milliseconds since 1970).
    public func localDay(_ milliseconds: Int64) -> Day {
        Day(ordinal: Int(floorDivide(milliseconds + Int64(utcOffsetMinutes) * 60_000, 86_400_000)))
    }

    /// Minutes after local midnight.
    public func localMinute(_ milliseconds: Int64) -> Int {
        Int(floorModulo(milliseconds + Int64(utcOffsetMinutes) * 60_000, 86_400_000) / 60_000)
    }

    /// The UTC instant of a local day's minute.
    public func instant(_ day: Day, minute: Int) -> Int64 {
        Int64(day.ordinal) * 86_400_000 + Int64(minute - utcOffsetMinutes) * 60_000
    }

    /// The contact deadline: `contactHours` of office time after `assigned`. Outside office hours
    /// the clock starts at the next opening of a working day.
    public func contactDeadline(assigned: Int64, calendar: WorkCalendar) -> Int64 {
        var day = localDay(assigned)
        var minute = localMinute(assigned)
        if !calendar.isWorkday(day) || minute >= officeClosesAt {
            day = calendar.workday(onOrAfter: day.adding(days: calendar.isWorkday(day) ? 1 : 0))
            minute = officeOpensAt
        }
        minute = max(minute, officeOpensAt)
        var remaining = contactHours * 60
        while minute + remaining > officeClosesAt {
            remaining -= officeClosesAt - minute
            day = calendar.workday(onOrAfter: day.adding(days: 1))
            minute = officeOpensAt
        }
        return instant(day, minute: minute + remaining)
    }
}

func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
func floorModulo(_ a: Int64, _ b: Int64) -> Int64 { a - floorDivide(a, b) * b }

/// ISO 8601 UTC times as the ledger stores them ("2026-03-15T08:30:00.000Z"), to and from
/// milliseconds since 1970.
public enum ISOTime {
    public static func parse(_ text: String) -> Int64? {
        if let canonical = parseCanonical(text) { return canonical }
        // YYYY-MM-DDTHH:MM[:SS[.sss]](Z|+HH:MM)
        let scalars = Array(text.utf8)
        guard scalars.count >= 16, let day = Day(String(decoding: scalars[0..<10], as: UTF8.self)),
            scalars[10] == UInt8(ascii: "T") || scalars[10] == UInt8(ascii: " ")
        else { return nil }
        var rest = String(decoding: scalars[11...], as: UTF8.self)
        var offset = 0
        if rest.hasSuffix("Z") {
            rest.removeLast()
        } else if rest.count >= 6, let sign = rest.dropLast(5).last, sign == "+" || sign == "-" {
            let zone = rest.suffix(5).split(separator: ":")
            guard zone.count == 2, let hours = Int(zone[0]), let minutes = Int(zone[1]) else { return nil }
            offset = (sign == "+" ? 1 : -1) * (hours * 60 + minutes)
            rest = String(rest.dropLast(6))
        } else {
            return nil
        }
        let parts = rest.split(separator: ":")
        guard (2...3).contains(parts.count), let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        var milliseconds = 0
        if parts.count == 3 {
            guard let seconds = Double(parts[2]), (0..<61).contains(seconds) else { return nil }
            milliseconds = Int((seconds * 1000).rounded())
        }
        return Int64(day.ordinal) * 86_400_000 + Int64((hour * 60 + minute - offset) * 60_000 + milliseconds)
    }

    /// The form `format` writes, `YYYY-MM-DDTHH:MM:SS.sssZ` (or without the milliseconds), read
    /// digit by digit: the reports parse every event's time. Anything else returns nil.
    static func parseCanonical(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { bytes -> Int64? in
            guard bytes.count == 24 || bytes.count == 20, bytes[bytes.count - 1] == UInt8(ascii: "Z") else {
                return nil
            }
            func number(_ from: Int, _ count: Int) -> Int? {
                var value = 0
                for index in from..<(from + count) {
                    let digit = Int(bytes[index]) - 48
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
                bytes[13] == UInt8(ascii: ":"),
                bytes[16] == UInt8(ascii: ":"), bytes.count == 20 || bytes[19] == UInt8(ascii: "."),
                let year = number(0, 4), let month = number(5, 2), let dayOfMonth = number(8, 2),
                let hour = number(11, 2),
                let minute = number(14, 2), let second = number(17, 2), hour < 24, minute < 60, second < 61,
                let day = Day(year: year, month: month, day: dayOfMonth)
            else { return nil }
            let millisecond = bytes.count == 24 ? number(20, 3) : 0
            guard let millisecond else { return nil }
            return Int64(day.ordinal) * 86_400_000 + Int64(((hour * 60 + minute) * 60 + second) * 1000 + millisecond)
        }
    }

    public static func format(_ milliseconds: Int64) -> String {
        let day = Day(ordinal: Int(floorDivide(milliseconds, 86_400_000)))
        let ms = floorModulo(milliseconds, 86_400_000)
        return day.description
            + String(
                format: "T%02d:%02d:%02d.%03dZ",
                Int(ms / 3_600_000),
                Int(ms / 60_000 % 60),
                Int(ms / 1000 % 60),
                Int(ms % 1000)
            )
    }

    /// "YYYY-MM-DD HH:MM" in the county's local time, for people and spreadsheets.
    public static func local(_ milliseconds: Int64, profile: DeadlineProfile) -> String {
        let minute = profile.localMinute(milliseconds)
        return profile.localDay(milliseconds).description + String(format: " %02d:%02d", minute / 60, minute % 60)
    }
}
