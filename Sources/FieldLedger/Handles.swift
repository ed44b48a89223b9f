import FieldStore
import Foundation

/// Short handles: how a person names a record that has no number (a visit), an event of a
/// demand's 流转日志, or the row of a conflict, instead of its 36-character id.
///
/// A handle is the last hex digits of the record's id. In a UUIDv7 those are random bits; the
/// first ones are its time, alike for records made a minute apart (labels cut from them collided,
/// and `settle` kept the wrong branch). Each record's handle has at least the minimum number of
/// digits, and more only where another record among those compared shares them, so a new record
/// lengthens no handle but that of the rare one it collides with. No handle is the ending of
/// another, so a handle, or any longer ending of the id, names one record; an ending that several
/// share is refused, listing their ids: a handle never silently names another record.
extension Ledger {
    /// The fewest hex digits an event handle has (unique within one demand's log).
    static let minimumHandleLength = 6
    /// The fewest hex digits a visit or record handle has (unique within the replica): eight,
    /// so that two of the county's visits share an ending only about once in 4 billion pairs.
    public static let recordHandleLength = 8

    /// A handle for each of `ids`, at least `minimum` hex digits long.
    static func handles(_ ids: [UUID], minimum: Int) -> [UUID: String] {
        let hex = Dictionary(ids.map { ($0, $0.compactHex) }, uniquingKeysWith: { first, _ in first })
        var out: [UUID: String] = [:]
        func assign(_ group: [UUID], length: Int) {
            for (ending, members) in Dictionary(grouping: group, by: { String(hex[$0, default: ""].suffix(length)) }) {
                if members.count == 1 || length >= 32 {
                    for member in members { out[member] = ending }
                } else {
                    assign(members, length: length + 1)
                }
            }
        }
        assign(Array(hex.keys), length: minimum)
        return out
    }

    /// A handle for each event of one demand (`minimumHandleLength` digits or more).
    static func eventHandles(_ ids: [UUID]) -> [UUID: String] { handles(ids, minimum: minimumHandleLength) }

    /// The one event of `ids` that `text` names (see `record(named:among:minimum:what:shownBy:)`).
    static func event(named text: String, among ids: [UUID], what: String) throws(LedgerError) -> UUID {
        try record(named: text, among: ids, minimum: minimumHandleLength, what: what, shownBy: "`fieldlog demand show`")
    }

    /// The one record of `ids` that `text` names: its full id (dashes optional), or its handle or
    /// any longer ending of its id (at least `minimum` hex digits). A text that names none, or
    /// more than one, is refused with the records to choose from (the first twenty).
    static func record(
        named text: String,
        among ids: [UUID],
        minimum: Int,
        what: String,
        shownBy command: String
    ) throws(LedgerError) -> UUID {
        let wanted = text.lowercased().replacingOccurrences(of: "-", with: "").trimmingCharacters(in: .whitespaces)
        let handles = handles(ids, minimum: minimum)
        let list =
            ids.prefix(20).map { "\(handles[$0] ?? "") (\($0.lowercased))" }.joined(separator: ", ")
            + (ids.count > 20 ? ", …" : "")
        guard wanted.count >= minimum, wanted.allSatisfy(\.isHexDigit) else {
            throw LedgerError(
                .invalidField,
                "name the \(what) by its handle as \(command) prints it (at least \(minimum) hex digits) or its full id: \(list)"
            )
        }
        let matches = ids.filter { $0.compactHex.hasSuffix(wanted) }
        guard matches.count == 1, let match = matches.first else {
            throw LedgerError(
                matches.isEmpty ? .notFound : .ambiguous,
                matches.isEmpty
                    ? "no \(what) is \(text); \(ids.count > 20 || ids.isEmpty ? "list them with \(command)" : "choose one of: \(list) (\(command) lists them)")"
                    : "\(text) names \(matches.count) records; give more of the id: \(matches.map(\.lowercased).joined(separator: ", "))"
            )
        }
        return match
    }

    /// The id of every visit this replica holds, deleted ones too: a handle is compared with all
    /// of them, so that deleting a visit never changes another's handle.
    func visitIDs() throws -> [UUID] {
        try read { try $0.allIDs("visits") }
    }

    /// The handle of every visit this replica holds.
    public func visitHandles() throws -> [UUID: String] {
        Self.handles(try visitIDs(), minimum: Self.recordHandleLength)
    }

    /// The live visit that `text` names: its handle as `visit list` prints it, or its id.
    public func visit(named text: String) throws -> UUID {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let id =
            try UUID(uuidString: trimmed)
            ?? Self.record(
                named: trimmed,
                among: try visitIDs(),
                minimum: Self.recordHandleLength,
                what: "visit",
                shownBy: "`fieldlog visit list`"
            )
        let live = try read { try $0.isLive("visits", id) }
        guard live else {
            throw LedgerError(.notFound, "no visit \(text) is held here; list them with `fieldlog visit list`")
        }
        return id
    }
}

extension UUID {
    /// The 32 hex digits, lower case, without dashes.
    var compactHex: String { lowercased.replacingOccurrences(of: "-", with: "") }
}
