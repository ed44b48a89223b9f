import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract:
            "The county registry: departments, cadres, enterprises, linkages, devices (operator only, except list).",
        subcommands: [
            Import.self, Update.self, Rename.self, Retire.self, Enroll.self, Revoke.self, ReadmitCommand.self,
            ForksCommand.self, Link.self, Unlink.self, List.self, ExportEnrollment.self,
        ]
    )

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Import a registry CSV (UTF-8, Chinese or English headers; see docs/operations.md): new rows are added, known ones updated.",
            discussion:
                "An enterprise is matched by its 统一社会信用代码 (else its name), a department or cadre by its name, a linkage by its pair. The file is checked whole first; --dry-run shows what would change and writes nothing."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "departments, cadres, enterprises or linkages.") var kind: String
        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Show what would be added and changed, and write nothing.") var dryRun = false
        @Flag(help: "Add a row even when another already has its name.") var allowDuplicateNames = false

        func run() throws {
            guard let registryFile = Ledger.RegistryFile(rawValue: kind) else {
                throw CLIError("\(kind) is not one of departments, cadres, enterprises, linkages")
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIError("cannot read \(file); check the path")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw CLIError("\(file) is not UTF-8 text; save it from the spreadsheet as \"CSV UTF-8\"")
            }
            let ledger = try global.ledger(write: true)
            let plan = try ledger.importRegistry(
                registryFile,
                csv: text,
                name: (file as NSString).lastPathComponent,
                dryRun: dryRun,
                allowDuplicateNames: allowDuplicateNames
            )
            let count = { (action: Ledger.ImportLine.Action) in plan.filter { $0.action == action }.count }
            if global.json {
                struct Output: Encodable {
                    var dryRun: Bool
                    var imported: Int
                    var lines: [Ledger.ImportLine]
                }
                try global.printJSON(Output(dryRun: dryRun, imported: count(.add) + count(.update), lines: plan))
                return
            }
            for line in plan where line.action != .unchanged {
                print("  第 \(line.line) 行  \(line.action == .add ? "新增" : "修改")  \(line.name)")
                for change in line.changes {
                    print("      \(change.label): \(change.old ?? "（空）") → \(change.new ?? "（空）")")
                }
            }
            let summary = "\(count(.add)) added, \(count(.update)) updated, \(count(.unchanged)) unchanged"
            print(
                dryRun
                    ? "Dry run of \(file): \(summary); nothing was written." : "Imported \(file) (\(kind)): \(summary)."
            )
        }
    }

    /// `KIND NAME` of a registry row, as the registry commands take them.
    struct RowName: ParsableArguments {
        @Argument(help: "department (单位), cadre (干部) or enterprise (企业).") var kind: String
        @Argument(help: "Its name, 简称, 统一社会信用代码 or id (`registry list … --ids`).") var name: String

        func resolved() throws -> Ledger.RegistryKind {
            guard let kind = Ledger.RegistryKind(text: kind) else {
                throw CLIError("\(kind) is not department, cadre or enterprise")
            }
            return kind
        }
    }

    static func printChanges(_ changes: [Ledger.FieldChange], of name: String, json: Bool, global: GlobalOptions) throws
    {
        if json {
            try global.printJSON(changes)
            return
        }
        guard !changes.isEmpty else {
            print("\(name): nothing to change.")
            return
        }
        print("Updated \(name):")
        for change in changes { print("  \(change.label): \(change.old ?? "（空）") → \(change.new ?? "（空）")") }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct fields of a department, cadre or enterprise (one registry commit; the history stays).",
            discussion:
                "Fields by their column or Chinese name, e.g. --set 联系电话=13800000001 --set 简称=高唐纺织. An empty value clears a field."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var row: RowName
        @Option(name: .customLong("set"), help: "FIELD=VALUE (repeat for several).") var assignments: [String] = []
        @Flag(help: "Rename even when another row already has the name.") var allowDuplicateName = false

        func run() throws {
            let kind = try row.resolved()
            var fields: [String: String?] = [:]
            for assignment in assignments {
                guard let equals = assignment.firstIndex(of: "=") else {
                    throw CLIError(
                        "--set takes FIELD=VALUE, e.g. --set 联系电话=13800000001; fields: \(kind.fields.map(\.label).joined(separator: ", "))"
                    )
                }
                fields[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
            }
            guard !fields.isEmpty else { throw CLIError("nothing to change: give --set FIELD=VALUE") }
            let changes = try global.ledger(write: true).updateRegistry(
                kind,
                row.name,
                set: fields,
                allowDuplicateName: allowDuplicateName
            )
            try RegistryCommand.printChanges(changes, of: row.name, json: global.json, global: global)
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Rename a department, cadre or enterprise (its records follow; the old name stays in its history)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var row: RowName
        @Option(help: "The new name.") var to: String
        @Flag(help: "Rename even when another row already has the name.") var allowDuplicateName = false

        func run() throws {
            let changes = try global.ledger(write: true).updateRegistry(
                try row.resolved(),
                row.name,
                set: ["name": to],
                allowDuplicateName: allowDuplicateName
            )
            try RegistryCommand.printChanges(changes, of: row.name, json: global.json, global: global)
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Retire a department, cadre or enterprise: it stays with its history and records, and takes nothing new.",
            discussion:
                "A retired enterprise takes no new linkage, visit or demand (its open demands are handled to the end); a retired cadre no linkage or device; a retired unit no cadre or device. --reinstate brings it back."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var row: RowName
        @Option(help: "The day, YYYY-MM-DD (default today).") var on: String?
        @Flag(help: "Bring it back into service.") var reinstate = false

        func run() throws {
            try global.ledger(write: true).retire(try row.resolved(), row.name, on: on, reinstate: reinstate)
            if global.json {
                try global.printJSON(["retired": reinstate ? "" : (on ?? "today")])
                return
            }
            print(
                reinstate ? "\(row.name) is in service again." : "Retired \(row.name)\(on.map { " on \($0)" } ?? "")."
            )
        }
    }

    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enroll a device's public key with a role.")
        @OptionGroup var global: GlobalOptions
        @Option(
            name: .customLong("key"),
            help: "The device's public key (64 hex digits, shown by its `fieldlog init`)."
        ) var publicKey: String
        @Option(help: "cadre, department, coordinator, supervisor or operator.") var role: String
        @Option(help: "The cadre the device belongs to (name or id).") var cadre: String?
        @Option(help: "The department the device belongs to (name or id).") var department: String?
        @Option(help: "A label, e.g. the laptop's asset number.") var label: String?

        func run() throws {
            guard let role = Role(rawValue: role) else {
                throw CLIError("role \(role) is not one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let key = try PublicKey(hex: publicKey)
            let ledger = try global.ledger(write: true)
            let code = try ledger.enroll(publicKey: key, role: role, cadre: cadre, department: department, label: label)
            if global.json {
                try global.printJSON(["code": code, "fingerprint": key.fingerprint])
            } else {
                print("Enrolled device \(code) (\(key.fingerprint)) as \(role.plain).")
                print("Export the registry for it: `fieldlog registry export-enrollment --out FILE`.")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a device: nothing after its feeds' current heads is accepted anywhere."
        )
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("key"), help: "The device's public key.") var publicKey: String

        func run() throws {
            let key = try PublicKey(hex: publicKey)
            let ledger = try global.ledger(write: true)
            let heads = try ledger.revoke(publicKey: key)
            if global.json {
                try global.printJSON(heads)
            } else {
                print(
                    "Revoked \(key.fingerprint); last accepted commits: \(heads.isEmpty ? "none" : heads.map { "\($0.key) #\($0.value)" }.sorted().joined(separator: ", "))."
                )
            }
        }
    }

    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link a cadre to an enterprise (主包 lead or 协包 assisting)."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The cadre.") var cadre: String
        @Option(help: "The enterprise (name, USCC or id).") var enterprise: String
        @Option(help: "lead (主包) or assisting (协包).") var role = "lead"
        @Option(help: "Start date, YYYY-MM-DD (default today).") var start: String?
        @Flag(help: "End the current lead's linkage if there is one.") var replaceLead = false

        func run() throws {
            guard let linkRole = LinkageRole(text: role) else {
                throw CLIError("role \(role) is not lead, assisting, 主包 or 协包")
            }
            let ledger = try global.ledger(write: true)
            try ledger.link(
                [.init(cadre: cadre, enterprise: enterprise, role: linkRole, start: start)],
                replaceLead: replaceLead
            )
            print("Linked \(cadre) to \(enterprise) as \(linkRole.displayName).")
        }
    }

    struct Unlink: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a cadre's linkage to an enterprise (history is kept)."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The cadre.") var cadre: String
        @Option(help: "The enterprise.") var enterprise: String
        @Option(help: "End date, YYYY-MM-DD (default today).") var end: String?

        func run() throws {
            let ledger = try global.ledger(write: true)
            try ledger.unlink(cadre: cadre, enterprise: enterprise, end: end)
            print("Unlinked \(cadre) from \(enterprise).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a registry table.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "departments, cadres, enterprises, linkages or devices.") var kind: String
        @Flag(help: "Show phone numbers unmasked (operators and supervisors only).") var showPersonalData = false
        @Flag(help: "Show each row's id (to name one of two rows with one name).") var ids = false

        func run() throws {
            let ledger = try global.ledger(write: false)
            var reveal = false
            if showPersonalData {
                guard let role = try ledger.enrolledRole(), [.operator, .supervisor, .coordinator].contains(role) else {
                    throw CLIError("only operators, coordinators and supervisors may see unmasked phone numbers")
                }
                reveal = true
            }
            let rows = try ledger.registryListing(kind, showPersonalData: reveal)
            if global.json {
                try global.printJSON(rows)
                return
            }
            let columns = Ledger.registryColumns(kind)
            let profile = try global.profile()
            // A time a person reads is the county's local time (the profile's), as in the 流转日志.
            func display(_ key: String, _ value: String) -> String {
                if key.hasSuffix("_at"), let milliseconds = ISOTime.parse(value) {
                    return ISOTime.local(milliseconds, profile: profile)
                }
                return Ledger.registryDisplay(kind, key, value)
            }
            for row in rows {
                var cells = columns.compactMap { column in
                    row[column.key].map { "\(column.label): \(display(column.key, $0))" }
                }
                if ids, let id = row["id"] { cells.append("id: \(id)") }
                print(cells.joined(separator: "  "))
            }
            print("(共 \(rows.count) 条)")
        }
    }

    struct ExportEnrollment: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-enrollment",
            abstract: "Write the registry as a bundle a new device joins with (`fieldlog join FILE`)."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The bundle file to write.") var out: String

        func run() throws {
            let ledger = try global.ledger(write: false)
            guard ledger.isRoot else { throw CLIError("only the operator's replica exports enrollment bundles") }
            let count = try ledger.writeBundle(scopes: [Commit.registryScope], to: out)
            if global.json {
                try global.printJSON(["commits": count])
            } else {
                print("Wrote \(count) registry commits to \(out).")
                print("County root fingerprint: \(ledger.rootKey.fingerprint) (tell it to the cadre who joins).")
            }
        }
    }
}
