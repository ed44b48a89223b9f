import FieldStore

/// The ledger's replicated schema: the migrations in `schema/`, embedded in the binary.
public enum LedgerSchema {
    /// Every migration this build knows.
    public static var current: ReplicaSchema { ReplicaSchema(migrations: embedded) }
}
