/// A hybrid logical clock reading: 48 bits of Unix milliseconds and a 16-bit counter, ordered as one integer.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The packed value: `milliseconds << 16 | counter`.
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(milliseconds: UInt64, counter: UInt16) {
        rawValue = (milliseconds & 0xFFFF_FFFF_FFFF) << 16 | UInt64(counter)
    }

    /// Unix time in milliseconds.
    public var milliseconds: UInt64 { rawValue >> 16 }
    /// The logical counter within one millisecond.
    public var counter: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    /// ISO 8601 UTC with milliseconds, e.g. `2026-11-29T08:15:00.123Z`.
    public var iso8601: String { Timestamp.format(milliseconds: milliseconds) }

    public var description: String { "\(iso8601)#\(counter)" }

    static func format(milliseconds: UInt64) -> String {
        let seconds = Int64(milliseconds / 1000)
        let millis = Int(milliseconds % 1000)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondsOfDay = Int(seconds - days * 86400)
        let (year, month, day) = civilFromDays(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):"
            + "\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
    static func civilFromDays(_ days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(y + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }
}

/// The hybrid logical clock's rules, as pure functions (the replica persists the state).
public enum HybridClock {
    /// The reading for a new local event, given the last reading and the wall clock.
    /// It is strictly greater than `last`, and never behind the wall clock.
    public static func tick(last: Timestamp, wallMilliseconds: UInt64) -> Timestamp {
        if wallMilliseconds > last.milliseconds {
            return Timestamp(milliseconds: wallMilliseconds, counter: 0)
        }
        if last.counter == UInt16.max {
            return Timestamp(milliseconds: last.milliseconds + 1, counter: 0)
        }
        return Timestamp(rawValue: last.rawValue + 1)
    }

    /// The state after seeing a remote reading: never behind it, so the next local tick is after it.
    public static func observe(last: Timestamp, remote: Timestamp) -> Timestamp {
        max(last, remote)
    }
}
