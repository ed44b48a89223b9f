import FieldLedger

/// The one table from the values the ledger's errors refer to (`LedgerError.Field`) to the options
/// that give them on this command line. The ledger's sentences name no flag; this is where a
/// value becomes `--lead DEPARTMENT`.
enum CLIField {
    static let options: [LedgerError.Field: String] = [
        .keep: "--keep EVENT", .comment: "--comment", .lead: "--lead DEPARTMENT", .coDepartments: "--co DEPARTMENT",
        .suggest: "--suggest DEPARTMENT", .until: "--until DATE", .days: "--days N", .reply: "--reply",
        .outcome: "--outcome", .resolved: "--resolved", .satisfaction: "--satisfaction", .milestones: "--milestones",
        .contacted: "--contacted", .cadre: "--cadre NAME", .department: "--department NAME",
        .enterprise: "--enterprise",
        .visitDate: "--date", .nextVisit: "--next-visit", .visit: "--visit HANDLE (`fieldlog visit list`)",
        .pick: "--pick N", .allowDuplicateNames: "--allow-duplicate-names",
        .allowDuplicateName: "--allow-duplicate-name",
        .replaceLead: "--replace-lead", .reinstate: "--reinstate", .value: "--value",
    ]

    /// How this command line gives `field`.
    static func option(_ field: LedgerError.Field) -> String { options[field] ?? field.option }

    /// A ledger error's sentence as this command line says it.
    static func message(_ error: LedgerError) -> String { error.message(naming: option) }
}
