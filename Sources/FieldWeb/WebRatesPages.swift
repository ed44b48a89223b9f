import FieldLedger
import Foundation
import Hummingbird

/// 比率: the rates of a month against the month before, for the county and by department and
/// township, with bar charts drawn on the server (SVG); printable on A4 landscape.
extension WebPages {
    /// `GET /rates?month=YYYY-MM` (default: this month).
    func rates(_ request: Request, context: WebContext) throws -> Response {
        let chosen = request.uri.queryParameters["month"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let monthText = chosen ?? String(ledger.today().prefix(7))
        guard let month = Period(month: monthText) else {
            throw WebRefusal(.badRequest, "“\(monthText)”不是月份。", "请按 2026-03 的格式选择月份。")
        }
        let previous = month.previousMonth
        let today = ledger.localToday(profile: ledger.profile)
        let county = try ledger.rates(for: month, today: today, profile: ledger.profile)
        let before = try ledger.rates(for: previous, today: today, profile: ledger.profile)
        let countyRows = zip(county.figures, before.figures).map { now, then in
            RateRowView(label: now.label, values: [now.ratio.display, then.ratio.display])
        }
        var groups: [RateGroupView] = []
        for (grouping, title) in [(Ledger.RateGrouping.department, "按牵头单位"), (.township, "按镇街/园区")] {
            let now = try ledger.rates(for: month, by: grouping, today: today, profile: ledger.profile)
            let then = try ledger.rates(for: previous, by: grouping, today: today, profile: ledger.profile)
            let names = Set(now.keys).union(then.keys).sorted()
            groups.append(
                RateGroupView(
                    title: title,
                    chart: WebCharts.chart(
                        "\(title)的按时办结率：本月与上月",
                        names.map { ($0, now[$0]?.onTime ?? Ratio(), then[$0]?.onTime ?? Ratio()) }
                    ),
                    headers: Rates().figures.map(\.label),
                    rows: names.map { name in
                        RateRowView(label: name, values: (now[name] ?? Rates()).figures.map(\.ratio.display))
                    }
                )
            )
        }
        let view = RatesView(
            month: monthText,
            previous: String(previous.from.description.prefix(7)),
            county: countyRows,
            overdue: "超期 \(county.overdue) 件（上月 \(before.overdue) 件）；未到期 \(county.notYetDue) 件",
            groups: groups
        )
        return try page(view, "rates", title: "比率 \(monthText)", context: context)
    }
}

/// The bar charts of the local app and the hub's console, drawn on the server.
package enum WebCharts {
    /// A horizontal bar chart of one rate: per group a bar for this month and one for the last,
    /// each labelled with its value in words (colour is never the only cue).
    package static func chart(_ title: String, _ values: [(String, Ratio, Ratio)]) -> ChartView {
        let width = 420.0
        let row = 40
        let bars = values.enumerated().map { index, entry in
            let (name, now, then) = entry
            let top = 8 + index * row
            func length(_ ratio: Ratio) -> Int { Int(((ratio.value ?? 0) * width).rounded()) }
            return BarView(
                label: name,
                labelY: top + 17,
                thisY: top,
                thisWidth: length(now),
                thisText: "本月 " + now.display,
                thisTextX: 200 + length(now) + 6,
                thisTextY: top + 11,
                lastY: top + 16,
                lastWidth: length(then),
                lastText: "上月 " + then.display,
                lastTextX: 200 + length(then) + 6,
                lastTextY: top + 27
            )
        }
        return ChartView(title: title, height: 16 + values.count * row, bars: bars, hasBars: !bars.isEmpty)
    }
}
