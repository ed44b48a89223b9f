import FieldCrypto

/// A row's merge state, kept inline in the row (the `_cells` column of every replicated table, or
/// `_tombs` for a row no valid version shows; see docs/storage.md, storage 3): every commit that
/// was ever applied to the row, and per column its heads.
///
/// Encoding (all integers unsigned LEB128 varints):
/// `1` (format); the commit count, each commit's log key (`LogKey`); the head count, each head as
/// (index in the commit list, 32-byte commit id, 8-byte big-endian timestamp); the column count,
/// each column as (name length, UTF-8 name, head count, each head's index in the head list, winner
/// first). Columns are written in name order, so that one state has one encoding.
struct RowCells: Equatable {
    struct Head: Equatable {
        /// Index in `commits`.
        var commit: Int
        var id: CommitID
        var timestamp: Timestamp
    }

    /// Log keys (`LogKey`) of every commit ever applied to the row, any scope, whatever its status
    /// now; each once, in the order they were first applied.
    var commits: [Int64] = []
    /// The commits that are a head of some column, each stored once.
    var heads: [Head] = []
    /// Per column name: indexes in `heads`, winner first. A column with no head is absent.
    var columns: [String: [Int]] = [:]

    init() {}

    /// The heads of one column, winner first.
    func heads(of column: String) -> [Head] { (columns[column] ?? []).map { heads[$0] } }

    /// The index of a commit in `commits`, adding it when new.
    @discardableResult
    mutating func insert(commit k: Int64) -> (index: Int, isNew: Bool) {
        if let index = commits.firstIndex(of: k) { return (index, false) }
        commits.append(k)
        return (commits.count - 1, true)
    }

    /// Replaces a column's heads (winner first; none removes the column). Heads no column names
    /// any more are dropped, unless `compacting` is false: a caller setting many columns then
    /// calls `dropUnusedHeads()` once, before the state is encoded.
    mutating func setHeads(_ column: String, _ new: [Head], compacting: Bool = true) {
        var list: [Int] = []
        for head in new {
            if let index = heads.firstIndex(where: { $0.commit == head.commit && $0.id == head.id }) {
                list.append(index)
            } else {
                heads.append(head)
                list.append(heads.count - 1)
            }
        }
        columns[column] = list.isEmpty ? nil : list
        if compacting { compact() }
    }

    /// Drops the heads no column names (after `setHeads(_:_:compacting: false)`).
    mutating func dropUnusedHeads() { compact() }

    /// Drops every head, keeping the commits (a row no valid version shows any more).
    mutating func clearHeads() {
        heads = []
        columns = [:]
    }

    private mutating func compact() {
        let used = Set(columns.values.joined())
        guard used.count != heads.count else { return }
        var renumber: [Int: Int] = [:]
        var kept: [Head] = []
        for (index, head) in heads.enumerated() where used.contains(index) {
            renumber[index] = kept.count
            kept.append(head)
        }
        heads = kept
        for (column, list) in columns { columns[column] = list.map { renumber[$0]! } }
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = [1]
        out.reserveCapacity(16 + commits.count * 6 + heads.count * 42 + columns.count * 12)
        func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                out.append(UInt8(value & 0x7f) | 0x80)
                value >>= 7
            }
            out.append(UInt8(value))
        }
        varint(UInt64(commits.count))
        for k in commits { varint(UInt64(bitPattern: k)) }
        varint(UInt64(heads.count))
        for head in heads {
            varint(UInt64(head.commit))
            out += head.id.bytes
            out += BigEndian.bytes(head.timestamp.rawValue)
        }
        varint(UInt64(columns.count))
        for column in columns.keys.sorted() {
            let list = columns[column]!
            let name = Array(column.utf8)
            varint(UInt64(name.count))
            out += name
            varint(UInt64(list.count))
            for index in list { varint(UInt64(index)) }
        }
        return out
    }

    init(decoding bytes: [UInt8]) throws(StoreError) {
        var offset = 0
        func fail() -> StoreError { StoreError(.database, "a row's stored merge state is damaged; run fieldlog check") }
        func varint() throws(StoreError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < bytes.count, shift < 64 else { throw fail() }
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        func count(_ limit: Int) throws(StoreError) -> Int {
            let value = try varint()
            guard value <= UInt64(max(limit, 0)) else { throw fail() }
            return Int(value)
        }
        guard bytes.first == 1 else { throw fail() }
        offset = 1
        let commitCount = try count(bytes.count)
        commits.reserveCapacity(commitCount)
        for _ in 0..<commitCount { commits.append(Int64(bitPattern: try varint())) }
        let headCount = try count(bytes.count)
        for _ in 0..<headCount {
            guard commitCount > 0 else { throw fail() }
            let index = try count(commitCount - 1)
            guard offset + 40 <= bytes.count else { throw fail() }
            let id = CommitID(unchecked: Array(bytes[offset..<offset + 32]))
            var time: UInt64 = 0
            for byte in bytes[offset + 32..<offset + 40] { time = time << 8 | UInt64(byte) }
            offset += 40
            heads.append(Head(commit: index, id: id, timestamp: Timestamp(rawValue: time)))
        }
        let columnCount = try count(bytes.count)
        for _ in 0..<columnCount {
            let length = try varint()
            guard length <= UInt64(bytes.count - offset) else { throw fail() }
            let name = String(decoding: bytes[offset..<offset + Int(length)], as: UTF8.self)
            offset += Int(length)
            let listCount = try count(headCount)
            guard listCount > 0 else { throw fail() }
            var list: [Int] = []
            for _ in 0..<listCount {
                guard headCount > 0 else { throw fail() }
                list.append(try count(headCount - 1))
            }
            columns[name] = list
        }
        guard offset == bytes.count else { throw fail() }
    }
}

extension Merge {
    /// The incremental merge's fast path: a valid version that supersedes every current head of its
    /// cell becomes the cell's only head. Sound because commit ids are hashes of bodies that hold
    /// the ids they supersede: no version already held can supersede a commit that supersedes all
    /// of the heads (it would be a head, or be superseded along a chain ending at a head, and either
    /// way its id would be inside the new commit's body and the new id inside its own: a cycle of
    /// hashes). Anything else takes the slow path, `heads(of:)` over every valid version.
    static func supersedesEveryHead(_ supersedes: [CommitID], heads: [CommitID]) -> Bool {
        if heads.isEmpty { return true }
        if heads.count == 1, supersedes.count == 1 { return heads[0] == supersedes[0] }
        let superseded = Set(supersedes)
        return heads.allSatisfy { superseded.contains($0) }
    }
}
