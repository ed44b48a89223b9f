import FieldCrypto
import FieldStore
import Foundation
import Testing

@testable import FieldLedger

@Suite struct DeadlineTests {
    let calendar = WorkCalendar.shipped
    let profile = DeadlineProfile.shandong2115

    func day(_ text: String) -> Day { Day(text)! }

    @Test func daysAndWeekdays() {
        #expect(day("1970-01-01").ordinal == 0)
        #expect(day("1970-01-01").weekday == 4)
        #expect(day("2025-09-26").weekday == 5)
        #expect(day("2026-01-04").weekday == 7)
        #expect(day("2024-02-29").description == "2024-02-29")
        #expect(Day("2025-02-29") == nil)
        for ordinal in stride(from: -800_000, to: 800_000, by: 997) {
            let value = Day(ordinal: ordinal)
            #expect(Day(value.description)?.ordinal == ordinal || value.year < 1000)
        }
    }

    /// The digit-by-digit reader of the canonical form agrees with the general one, and both with
    /// `format`, on times from 1970 to 2100 (seeded; the seed is in the failure message).
    @Test func isoTimesRoundTrip() {
        let seed: UInt64 = 0x15_0714
        var state = seed
        for _ in 0..<5_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let milliseconds = Int64(state >> 22) % 4_102_444_800_000
            let text = ISOTime.format(milliseconds)
            #expect(ISOTime.parseCanonical(text) == milliseconds, "seed \(seed): \(text)")
            #expect(ISOTime.parse(text) == milliseconds, "seed \(seed): \(text)")
            // The same instant in other spellings takes the general path.
            let seconds = String(text.dropLast(5)) + "Z"
            #expect(ISOTime.parse(seconds) == milliseconds / 1000 * 1000, "seed \(seed): \(seconds)")
            let beijing = ISOTime.format(milliseconds + 8 * 3_600_000).dropLast() + "+08:00"
            #expect(ISOTime.parseCanonical(String(beijing)) == nil)
            #expect(ISOTime.parse(String(beijing)) == milliseconds, "seed \(seed): \(beijing)")
        }
        for bad in [
            "2025-02-29T10:00:00.000Z", "2025-09-26T24:00:00.000Z", "2025-09-26T10:60:00Z", "2025-09-26T1a:00:00.000Z",
            "2025-09-26 10:00:00.000", "２025-09-26T10:00:00Z",
        ] {
            #expect(ISOTime.parseCanonical(bad) == nil, "\(bad)")
            #expect(ISOTime.parse(bad) == nil, "\(bad)")
        }
    }

    /// The three worked examples of DOMAIN.md, the New Year into a loaded year, and a year with no
    /// calendar (provisional).
    @Test(arguments: [
        ("2025-09-26", 15, "2025-10-23", false),
        ("2025-12-31", 1, "2026-01-04", false),
        ("2026-02-13", 5, "2026-02-27", false),
        ("2025-12-26", 5, "2026-01-05", false),
        ("2026-12-25", 15, "2027-01-15", true),
    ])
    func workingDayDeadlines(start: String, days: Int, expected: String, provisional: Bool) {
        let result = calendar.addingWorkdays(days, to: day(start))
        #expect(result.day.description == expected)
        #expect(result.provisional == provisional)
    }

    @Test func contactClockRunsInOfficeHoursOnly() {
        func local(_ day: String, _ hour: Int, _ minute: Int) -> Int64 {
            profile.instant(Day(day)!, minute: hour * 60 + minute)
        }
        func deadline(_ assigned: Int64) -> String {
            ISOTime.local(profile.contactDeadline(assigned: assigned, calendar: calendar), profile: profile)
        }
        // In office hours: two hours later.
        #expect(deadline(local("2025-09-24", 9, 0)) == "2025-09-24 11:00")
        // Late in the afternoon: the rest runs from the next working day's opening.
        #expect(deadline(local("2025-09-24", 16, 30)) == "2025-09-25 09:30")
        // Friday evening: the clock starts Sunday 2025-09-28, a make-up working day.
        #expect(deadline(local("2025-09-26", 20, 0)) == "2025-09-28 10:30")
        // Early morning of a working day: from that day's opening.
        #expect(deadline(local("2025-09-29", 6, 0)) == "2025-09-29 10:30")
        // During the National Day holiday: from 2025-10-09, the first working day after it.
        #expect(deadline(local("2025-10-03", 10, 0)) == "2025-10-09 10:30")
    }

    @Test func calendarFilesAreCheckedLineByLine() throws {
        var calendar = WorkCalendar()
        let date = #expect(throws: LedgerError.self) {
            try calendar.load(csv: "date,kind\n2027-01-01,holiday\n2027-02-30,holiday\n")
        }
        #expect(date?.message.contains("line 3") == true)
        let kind = #expect(throws: LedgerError.self) { try calendar.load(csv: "2027-01-01,vacation\n") }
        #expect(kind?.message.contains("holiday or workday") == true)
        let twice = #expect(throws: LedgerError.self) {
            try calendar.load(csv: "2027-01-01,holiday\n2027-01-01,holiday\n")
        }
        #expect(twice?.message.contains("twice") == true)
        #expect(calendar.loadedYears.isEmpty, "nothing of a bad file is loaded")
        #expect(WorkCalendar.shipped.loadedYears == [2025, 2026])
    }

    @Test func anOperatorLoadsANewYearAndItReplicates() throws {
        let county = try County()
        let wang = try county.cadreLedger("王强")
        #expect(try wang.calendar().addingWorkdays(15, to: day("2026-12-25")).provisional)
        let years = try county.operatorLedger.loadCalendar(
            csv: "date,kind,note\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n",
            source: "test notice"
        )
        #expect(years == [2027])
        let refused = #expect(throws: LedgerError.self) {
            try wang.loadCalendar(csv: "2027-01-01,holiday\n", source: nil)
        }
        #expect(refused?.code == .notPermitted)
        try county.exchange(from: county.operatorLedger, to: wang)
        let after = try wang.calendar().addingWorkdays(15, to: day("2026-12-25"))
        #expect(!after.provisional)
        #expect(after.day.description == "2027-01-18", "1 January 2027, a Friday, is now a holiday")
        #expect(!(try wang.calendar().isWorkday(day("2027-01-01"))))
    }

    @Test func profilesLoadFromJSONWithDefaultsAndCheckedKeys() throws {
        let profile = try DeadlineProfile.load(json: Data(#"{"resolveWorkdays": 10, "name": "test"}"#.utf8))
        #expect(profile.resolveWorkdays == 10)
        #expect(profile.contactHours == 2)
        let unknown = #expect(throws: LedgerError.self) {
            try DeadlineProfile.load(json: Data(#"{"resolveDays": 10}"#.utf8))
        }
        #expect(unknown?.message.contains("resolveDays") == true)
        #expect(throws: LedgerError.self) { try DeadlineProfile.load(json: Data(#"{"resolveWorkdays": 40}"#.utf8)) }
    }
}
