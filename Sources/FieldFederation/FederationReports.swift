import FieldLedger
import Foundation

/// The supervisors' tables across counties: each county's own table, computed by its own replica
/// exactly as the county computes it, with the county's name in a column of its own.
extension Federation {
    /// The column naming the county.
    public static let countyHeader = "县（市、区）"

    /// The county-local day now (every county of a province shares China's time).
    public func today(profile: DeadlineProfile = .shandong2115) -> Day {
        profile.localDay(Int64(Date().timeIntervalSince1970 * 1000))
    }

    /// The work ledger (工作台账) of every county, one row per demand, counties in name order.
    /// Personal data (enterprise contacts) stays in the counties: this hub's role does not show it.
    public func workLedger(
        _ filter: LedgerFilter = LedgerFilter(),
        today: Day,
        profile: DeadlineProfile = .shandong2115
    ) throws -> ReportTable {
        try joined(name: "工作台账") { ledger in
            try ledger.workLedger(filter, today: today, profile: profile, showPersonalData: false)
        }
    }

    /// One of the supervisors' lists (久拖不决, 推诿扯皮, 督办) across counties, each county's in
    /// its own order (most overdue first).
    public func supervisionList(
        _ list: SupervisionList,
        today: Day,
        profile: DeadlineProfile = .shandong2115
    ) throws -> ReportTable {
        try joined(name: list.chinese) { ledger in try ledger.supervisionList(list, today: today, profile: profile) }
    }

    /// The rates of docs/rates.md by county for `period`, and a last row for all of them together
    /// (each ratio pooled over the counties' demands, never an average of their rates), with the
    /// number of demands on each county's 久拖不决 list on `today`.
    public func ratesByCounty(
        _ period: Period,
        today: Day,
        profile: DeadlineProfile = .shandong2115
    ) throws -> ReportTable {
        var table = ReportTable(
            name: "分县指标",
            headers: [
                Self.countyHeader, "签收及时率", "响应率", "按时办结率", "解决率", "满意率", "退回率", "重办率", "超期", "未到期",
                "平均办理工作日", "久拖不决",
            ],
            widths: [16, 12, 10, 12, 10, 10, 10, 10, 8, 8, 14, 10]
        )
        var all = Rates()
        var dragging = 0
        func row(_ name: String, _ rates: Rates, _ dragOn: Int) -> [ReportCell] {
            [.text(name)] + rates.figures.map { .percent($0.ratio.value) } + [
                .number(Double(rates.overdue)), .number(Double(rates.notYetDue)),
                rates.meanHandlingWorkdays.map { .number(($0 * 10).rounded() / 10) } ?? .empty,
                .number(Double(dragOn)),
            ]
        }
        for county in counties {
            let rates = try county.ledger.rates(for: period, today: today, profile: profile)
            let dragOn = try county.ledger.supervisionList(.dragOn, today: today, profile: profile).rows.count
            all.absorb(rates)
            dragging += dragOn
            table.rows.append(row(county.name, rates, dragOn))
        }
        table.rows.append(row("合计", all, dragging))
        return table
    }

    /// Each county's table with a county column after 序号, numbered again across counties.
    private func joined(name: String, _ make: (Ledger) throws -> ReportTable) throws -> ReportTable {
        var joined = ReportTable(name: name, headers: ["序号", Self.countyHeader])
        for (offset, county) in counties.enumerated() {
            let table = try make(county.ledger)
            if offset == 0 {
                joined.headers = [table.headers[0], Self.countyHeader] + table.headers.dropFirst()
                joined.widths = [table.widths[0], 14] + table.widths.dropFirst()
            }
            for row in table.rows {
                joined.rows.append([.number(Double(joined.rows.count + 1)), .text(county.name)] + row.dropFirst())
            }
        }
        return joined
    }
}
