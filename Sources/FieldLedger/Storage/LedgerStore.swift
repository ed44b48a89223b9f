import FieldCrypto
import FieldStore
import Foundation
import GRDB

/// The ledger's storage part: every SQL statement of FieldLedger is in `Storage/`, over the
/// replica's visible tables (rows with `deleted = 0` are live). The rest of the ledger reads through
/// `Ledger.read`, which hands a store over one snapshot, and gets back values and records, never
/// rows; `Domain/` knows no storage at all (`LayeringTests` checks both).
struct LedgerStore {
    let db: Database
}

extension Ledger {
    /// Reads through the store, in one snapshot of the replica.
    func read<T>(_ body: (LedgerStore) throws -> T) throws -> T {
        try replica.database.read { db in try body(LedgerStore(db: db)) }
    }

    /// How a registry table is looked up and named to a person.
    struct Lookup {
        var table: String
        var what: String
        /// Columns matched exactly (a USCC after normalizing: spaces out, letters upper case).
        var columns: [String]
        /// Columns a unique partial match may use (a name, a 简称).
        var partial: [String]
        /// A row as a person reads it in a suggestion or a choice, from `SELECT id, <describe>`.
        var describe: String
    }
}

extension Ledger.Lookup {
    static let departments = Self(
        table: "departments",
        what: "department",
        columns: ["name"],
        partial: ["name"],
        describe: "name"
    )
    static let cadres = Self(
        table: "cadres",
        what: "cadre",
        columns: ["name", "mobile"],
        partial: ["name"],
        describe: "name || COALESCE('（' || (SELECT p.name FROM departments p WHERE p.id = department_id) || '）', '')"
    )
    static let enterprises = Self(
        table: "enterprises",
        what: "enterprise",
        columns: ["name", "short_name", "uscc"],
        partial: ["name", "short_name"],
        describe: "name || COALESCE('（' || uscc || '）', '')"
    )
}

/// A live row offered to a person who named it inexactly: its id, how it reads, and its names.
typealias LookupCandidate = (id: Data, label: String, names: [String])

extension LedgerStore {
    /// The live rows `text` names under `lookup`: by an exact value of one of its columns, else by
    /// an id prefix of at least 6 hex digits, else by a partial name; with every live row as a
    /// candidate unless exactly one matched (the caller lists them or suggests the nearest).
    func matches(of lookup: Ledger.Lookup, _ text: String) throws -> (matches: [Data], candidates: [LookupCandidate]) {
        let table = lookup.table
        let normalized = USCC.normalize(text)
        let byColumn = lookup.columns.map { "\"\($0)\" = ?" }.joined(separator: " OR ")
        let values = lookup.columns.map { $0 == "uscc" ? normalized : text }
        var rows = try Data.fetchAll(
            db,
            sql: "SELECT id FROM \"\(table)\" WHERE deleted = 0 AND (\(byColumn))",
            arguments: StatementArguments(values)
        )
        if rows.isEmpty, text.count >= 6, text.allSatisfy(\.isHexDigit) {
            let hex = text.lowercased()
            rows = try Data.fetchAll(db, sql: "SELECT id FROM \"\(table)\" WHERE deleted = 0").filter {
                Hex.encode($0).hasPrefix(hex)
                    || UUID(bytes16: [UInt8]($0)).lowercased.replacingOccurrences(of: "-", with: "").hasPrefix(hex)
            }
        }
        // Every row is read only when the exact lookups found none, or several (to list them).
        guard rows.count != 1 else { return (rows, []) }
        let names = lookup.partial.map { "COALESCE(\"\($0)\", '')" }.joined(separator: ", ")
        let all = try Row.fetchAll(
            db,
            sql:
                "SELECT id, \(lookup.describe) AS label\(names.isEmpty ? "" : ", " + names) FROM \"\(table)\" WHERE deleted = 0"
        ).map { row in
            (
                id: row["id"] as Data, label: row["label"] as String? ?? "",
                names: (0..<lookup.partial.count).map { row[2 + $0] as String }
            )
        }
        if rows.isEmpty, text.count >= 2 {
            rows = all.filter { candidate in candidate.names.contains { !$0.isEmpty && $0.contains(text) } }.map(\.id)
        }
        return (rows, all)
    }

    /// A text cell of a live row.
    func text(_ table: String, _ id: UUID, _ column: String) throws -> String? {
        try String.fetchOne(
            db,
            sql: "SELECT \"\(column)\" FROM \"\(table)\" WHERE id = ? AND deleted = 0",
            arguments: [Data(id.bytes16)]
        )
    }

    /// The ids of the live rows of `table` whose `column` holds `value`.
    func liveRows(_ table: String, where column: String, is value: String) throws -> [UUID] {
        try Data.fetchAll(
            db,
            sql: "SELECT id FROM \"\(table)\" WHERE deleted = 0 AND \"\(column)\" = ?",
            arguments: [value]
        ).map { UUID(bytes16: [UInt8]($0)) }
    }

    /// The id of every row of `table`, deleted ones too.
    func allIDs(_ table: String) throws -> [UUID] {
        try Data.fetchAll(db, sql: "SELECT id FROM \"\(table)\"").compactMap(UUID.init(blob:))
    }

    /// Whether a row of `table` with this id is live.
    func isLive(_ table: String, _ id: UUID) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT 1 FROM \"\(table)\" WHERE id = ? AND deleted = 0",
            arguments: [Data(id.bytes16)]
        )
            ?? false
    }

    /// The values of one column over the live rows of `table` (nulls left out).
    func liveValues(_ table: String, _ column: String) throws -> [String] {
        try String.fetchAll(
            db,
            sql: "SELECT \"\(column)\" FROM \"\(table)\" WHERE deleted = 0 AND \"\(column)\" IS NOT NULL"
        )
    }

    /// How many live rows each table holds.
    func liveCounts(_ tables: [String]) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for table in tables {
            out[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"\(table)\" WHERE deleted = 0") ?? 0
        }
        return out
    }
}
