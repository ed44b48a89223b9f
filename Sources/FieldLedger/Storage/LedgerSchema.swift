import FieldStore

/// The ledger's replicated schema: the migrations in `schema/`, embedded in the binary.
public enum LedgerSchema {
    /// Every migration this build knows.
    /// The ledger's schema. Its tables up to schema 3 count in every scope's digest, as the digest
    /// was first defined; a table added since counts only where it holds rows (`sparseFrom`).
    public static var current: ReplicaSchema { ReplicaSchema(migrations: embedded, sparseFrom: 4) }
}
