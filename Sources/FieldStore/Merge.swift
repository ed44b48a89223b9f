import FieldCrypto

/// One version of a cell: the value one commit wrote, and the versions it replaced.
public struct CellVersion: Hashable, Sendable {
    public var commit: CommitID
    public var timestamp: Timestamp
    public var author: PublicKey
    public var value: Value
    public var supersedes: [CommitID]

    public init(commit: CommitID, timestamp: Timestamp, author: PublicKey, value: Value, supersedes: [CommitID]) {
        self.commit = commit
        self.timestamp = timestamp
        self.author = author
        self.value = value
        self.supersedes = supersedes
    }
}

/// The merge rule, as pure functions over the valid versions of one cell (see `docs/merge.md`).
public enum Merge {
    /// The heads: versions that no other version in the set supersedes, sorted winner first.
    public static func heads(of versions: [CellVersion]) -> [CellVersion] {
        var superseded = Set<CommitID>()
        var seen = Set<CommitID>()
        for version in versions { superseded.formUnion(version.supersedes) }
        // A set of versions: a commit seen twice counts once.
        return versions.filter { !superseded.contains($0.commit) && seen.insert($0.commit).inserted }.sorted(
            by: winsOver
        )
    }

    /// The order that picks the visible value: greater timestamp, then greater author key, then greater commit id.
    public static func winsOver(_ a: CellVersion, _ b: CellVersion) -> Bool {
        if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
        if a.author != b.author { return b.author < a.author }
        return b.commit < a.commit
    }

    /// The visible value and whether the cell is in conflict (heads holding more than one distinct value).
    public static func resolve(_ versions: [CellVersion]) -> (value: Value, heads: [CellVersion], isConflict: Bool)? {
        let heads = heads(of: versions)
        guard let winner = heads.first else { return nil }
        let isConflict = Set(heads.map(\.value)).count > 1
        return (winner.value, heads, isConflict)
    }
}
