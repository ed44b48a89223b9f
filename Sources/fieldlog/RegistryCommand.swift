import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "The county registry: departments, cadres, enterprises, linkages, devices (operator only, except list).",
        subcommands: [Import.self, Enroll.self, Revoke.self, Link.self, Unlink.self, List.self, ExportEnrollment.self]
    )

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a registry CSV (UTF-8, Chinese or English headers; see docs/operations.md)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "departments, cadres, enterprises or linkages.") var kind: String
        @Argument(help: "The CSV file.") var file: String

        func run() throws {
            guard let registryFile = Ledger.RegistryFile(rawValue: kind) else {
                throw CLIError("\(kind) is not one of departments, cadres, enterprises, linkages")
            }
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            guard let text = String(data: data, encoding: .utf8) else {
                throw CLIError("\(file) is not UTF-8 text; save it from the spreadsheet as \"CSV UTF-8\"")
            }
            let ledger = try global.ledger(write: true)
            let count = try ledger.importRegistry(registryFile, csv: text, name: (file as NSString).lastPathComponent)
            if global.json { try global.printJSON(["imported": count]) } else { print("Imported \(count) \(kind).") }
        }
    }

    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enroll a device's public key with a role.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("key"), help: "The device's public key (64 hex digits, shown by its `fieldlog init`).") var publicKey: String
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
                print("Enrolled device \(code) (\(key.fingerprint)) as \(role.rawValue).")
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
                print("Revoked \(key.fingerprint); last accepted commits: \(heads.isEmpty ? "none" : heads.map { "\($0.key) #\($0.value)" }.sorted().joined(separator: ", ")).")
            }
        }
    }

    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Link a cadre to an enterprise (主包 lead or 协包 assisting).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The cadre.") var cadre: String
        @Option(help: "The enterprise (name, USCC or id).") var enterprise: String
        @Option(help: "lead (主包) or assisting (协包).") var role = "lead"
        @Option(help: "Start date, YYYY-MM-DD (default today).") var start: String?
        @Flag(help: "End the current lead's linkage if there is one.") var replaceLead = false

        func run() throws {
            guard let linkRole = LinkageRole(text: role) else { throw CLIError("role \(role) is not lead, assisting, 主包 or 协包") }
            let ledger = try global.ledger(write: true)
            try ledger.link([.init(cadre: cadre, enterprise: enterprise, role: linkRole, start: start)], replaceLead: replaceLead)
            print("Linked \(cadre) to \(enterprise) as \(linkRole.displayName).")
        }
    }

    struct Unlink: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a cadre's linkage to an enterprise (history is kept).")
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
            if global.json { try global.printJSON(rows); return }
            for row in rows {
                print(row.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "  "))
            }
            print("(\(rows.count) \(kind))")
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
            let count = try CommitBundle.write(from: ledger.replica, scopes: [Commit.registryScope], to: out)
            if global.json {
                try global.printJSON(["commits": count])
            } else {
                print("Wrote \(count) registry commits to \(out).")
                print("County root fingerprint: \(ledger.replica.root.fingerprint) (tell it to the cadre who joins).")
            }
        }
    }
}
