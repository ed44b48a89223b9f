/// What an import, a sync or a local write did with the commits it was given.
public struct ImportReport: Sendable, Codable, Equatable {
    /// A commit that was not applied, and why.
    public struct Refusal: Sendable, Codable, Equatable {
        public var commit: String
        public var author: String
        public var scope: String
        public var sequence: UInt64
        public var code: StoreError.Code
        public var reason: String
        /// True when the commit was stored anyway (as evidence, or to apply later).
        public var isStored: Bool
    }

    /// Commits newly applied to the visible state (including earlier held ones that became applicable).
    public var applied = 0
    /// Commits already held, ignored.
    public var skipped = 0
    /// Commits stored but waiting (predecessor, registry, clock, schema).
    public var held = 0
    /// Commits refused or excluded, with reasons.
    public var refused: [Refusal] = []
    /// Previously applied commits now excluded (revocation or fork).
    public var excludedLater = 0
    /// Cells whose heads were recomputed.
    public var cellsRecomputed = 0

    public init() {}

    /// One line for a terminal.
    public var summary: String {
        var parts = ["applied \(applied)", "skipped \(skipped)", "held \(held)", "refused \(refused.count)"]
        if excludedLater > 0 { parts.append("excluded after the fact \(excludedLater)") }
        return parts.joined(separator: ", ")
    }

    mutating func merge(_ other: ImportReport) {
        applied += other.applied
        skipped += other.skipped
        held = other.held
        refused += other.refused
        excludedLater += other.excludedLater
        cellsRecomputed += other.cellsRecomputed
    }
}
