import FieldStore
import Foundation

extension Ledger {
    /// The monthly report (月调度) for `month`, judged on `today`: one table per section, in the
    /// order a supervisor reads them (docs/rates.md describes every column).
    public func monthlyReport(
        _ month: Period,
        today: Day,
        profile: DeadlineProfile = .shandong2115
    ) throws -> [ReportTable] {
        let calendar = try calendar()
        let facts = try demandFacts(profile: profile).filter { $0.status.state != .notAccepted }
        let previous = month.previousMonth
        let names = try departmentNames()
        func rates(_ period: Period, _ subset: [DemandFacts], lead: UUID? = nil) -> Rates {
            var rates = Rates()
            for demand in subset {
                rates.add(demand.status, in: period, today: today, calendar: calendar, profile: profile, onlyLead: lead)
            }
            return rates
        }
        func registered(_ period: Period, _ subset: [DemandFacts]) -> Int {
            subset.filter { $0.registered.map(period.contains) ?? false }.count
        }
        func closed(_ period: Period, _ subset: [DemandFacts]) -> Int {
            subset.filter { demand in
                demand.status.followUps.contains { !$0.reopened && period.contains(profile.localDay($0.at)) }
            }.count
        }
        let open = facts.filter { $0.status.state.isUnresolved }
        let now = rates(month, facts)
        let before = rates(previous, facts)

        var totals = ReportTable(
            name: "总体",
            headers: ["指标", "本月 \(month.from.description.prefix(7))", "上月 \(previous.from.description.prefix(7))"],
            widths: [22, 16, 16]
        )
        func mean(_ rates: Rates) -> ReportCell {
            rates.meanHandlingWorkdays.map { .number(($0 * 10).rounded() / 10) } ?? .empty
        }
        totals.rows = [
            [.text("新登记诉求"), .number(Double(registered(month, facts))), .number(Double(registered(previous, facts)))],
            [.text("交办"), .number(Double(now.returned.denominator)), .number(Double(before.returned.denominator))],
            [.text("办结"), .number(Double(closed(month, facts))), .number(Double(closed(previous, facts)))],
            [.text("超期"), .number(Double(now.overdue)), .number(Double(before.overdue))],
            [.text("签收及时率"), .percent(now.signOnTime.value), .percent(before.signOnTime.value)],
            [.text("响应率"), .percent(now.response.value), .percent(before.response.value)],
            [.text("按时办结率"), .percent(now.onTime.value), .percent(before.onTime.value)],
            [.text("解决率"), .percent(now.resolution.value), .percent(before.resolution.value)],
            [.text("满意率"), .percent(now.satisfaction.value), .percent(before.satisfaction.value)],
            [.text("退回率"), .percent(now.returned.value), .percent(before.returned.value)],
            [.text("重办率"), .percent(now.reopened.value), .percent(before.reopened.value)],
            [.text("平均办理工作日"), mean(now), mean(before)],
            [.text("在办（截至 \(today)）"), .number(Double(open.count)), .empty],
        ]

        // By department: every department that has been a lead.
        var byDepartment = ReportTable(
            name: "按单位",
            headers: ["单位", "交办", "按时签收", "按时办结", "在办", "超期", "退回", "重办", "签收及时率", "响应率", "按时办结率", "满意率", "排名"],
            widths: [22, 8, 10, 10, 8, 8, 8, 8, 12, 10, 12, 10, 8]
        )
        var departmentRows: [(name: String, rates: Rates, cells: [ReportCell])] = []
        // Each department's demands: those with an assignment to it (the only ones that count for it).
        var byLead: [UUID: [DemandFacts]] = [:]
        for demand in facts {
            for lead in Set(demand.status.assignments.map(\.lead)) { byLead[lead, default: []].append(demand) }
        }
        var openByLead: [UUID: Int] = [:]
        for demand in open { if let lead = demand.status.lead { openByLead[lead, default: 0] += 1 } }
        for (lead, members) in byLead {
            let figures = rates(month, members, lead: lead)
            let name = names[lead] ?? lead.lowercased
            departmentRows.append(
                (
                    name, figures,
                    [
                        .text(name), .number(Double(figures.returned.denominator)),
                        .number(Double(figures.signOnTime.numerator)),
                        .number(Double(figures.onTime.numerator)), .number(Double(openByLead[lead] ?? 0)),
                        .number(Double(figures.overdue)), .number(Double(figures.returned.numerator)),
                        .number(Double(figures.reopened.numerator)),
                        .percent(figures.signOnTime.value), .percent(figures.response.value),
                        .percent(figures.onTime.value),
                        .percent(figures.satisfaction.value),
                    ]
                )
            )
        }
        // Rank: on-time rate, then satisfaction, higher first; a department with nothing due ranks last.
        departmentRows.sort { a, b in
            let keyA = (a.rates.onTime.value ?? -1, a.rates.satisfaction.value ?? -1)
            let keyB = (b.rates.onTime.value ?? -1, b.rates.satisfaction.value ?? -1)
            return keyA != keyB ? keyA > keyB : a.name < b.name
        }
        byDepartment.rows = departmentRows.enumerated().map { $0.element.cells + [.number(Double($0.offset + 1))] }

        // By cadre: linked enterprises, visits this month and coverage, demands raised and closed.
        var byCadre = ReportTable(
            name: "按干部",
            headers: ["干部", "包联企业数", "本月走访企业数", "走访覆盖率", "走访次数", "提出诉求", "办结诉求"],
            widths: [12, 12, 16, 12, 10, 10, 10]
        )
        // Linked enterprises, visits and visited linked enterprises per cadre: one grouped pass each.
        let (cadreNames, linkedBy, visitsBy, visitedBy) = try read { try $0.cadreActivity(in: month) }
        let byRegisteringCadre = Dictionary(grouping: facts.filter { $0.registeringCadre != nil }) {
            $0.registeringCadre!
        }
        for (id, name) in cadreNames {
            let linked = linkedBy[id] ?? 0
            let visited = visitedBy[id] ?? 0
            let mine = byRegisteringCadre[name] ?? []
            byCadre.rows.append([
                .text(name), .number(Double(linked)), .number(Double(visited)),
                .percent(linked == 0 ? nil : Double(visited) / Double(linked)),
                .number(Double(visitsBy[id] ?? 0)), .number(Double(registered(month, mine))),
                .number(Double(closed(month, mine))),
            ])
        }

        func grouped(_ name: String, _ label: String, _ key: (DemandFacts) -> String?) -> ReportTable {
            var table = ReportTable(
                name: name,
                headers: [label, "新登记", "办结", "在办", "按时办结率", "解决率", "满意率"],
                widths: [18, 8, 8, 8, 12, 10, 10]
            )
            let groups = Dictionary(grouping: facts) { key($0) ?? "（未填）" }
            for (group, members) in groups.sorted(by: { $0.key < $1.key }) {
                let figures = rates(month, members)
                table.rows.append([
                    .text(group), .number(Double(registered(month, members))), .number(Double(closed(month, members))),
                    .number(Double(members.filter { $0.status.state.isUnresolved }.count)),
                    .percent(figures.onTime.value),
                    .percent(figures.resolution.value), .percent(figures.satisfaction.value),
                ])
            }
            return table
        }

        let openOverlays = open.map { $0.status.overlay(on: today, calendar: calendar, profile: profile) }
        func list(_ name: String, _ reasons: (Overlay) -> [Overlay.ListReason]) -> ReportTable {
            var table = ReportTable(
                name: name,
                headers: ["诉求编号", "企业名称", "牵头单位", "当前状态", "登记日期", "办结时限", "超期工作日", "原因"],
                widths: [20, 28, 20, 10, 12, 12, 10, 40]
            )
            for (demand, overlay) in zip(open, openOverlays) {
                let why = reasons(overlay)
                guard !why.isEmpty else { continue }
                table.rows.append([
                    .text(demand.number), .text(demand.enterprise ?? ""),
                    demand.status.lead.map { .text(names[$0] ?? $0.lowercased) } ?? .empty,
                    .text(demand.status.state.chinese), demand.registered.map { .date($0) } ?? .empty,
                    demand.status.deadline.map { .date($0) } ?? .empty, .number(Double(overlay.overdueWorkdays)),
                    .text(why.map(\.chinese).joined(separator: "；")),
                ])
            }
            return table
        }

        return [
            totals, byDepartment, byCadre, grouped("按类别", "诉求类别", \.category), grouped("按镇街", "所属镇街/园区", \.township),
            list("久拖不决", \.dragOn), list("推诿扯皮", \.buckPassing),
        ]
    }
}
