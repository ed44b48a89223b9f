import FieldCore
/// An error from the ledger: a code for programs, one sentence (with what to do) for a person.
public struct LedgerError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable, Codable {
        case invalidUSCC
        case duplicateUSCC
        case duplicateName
        case missingField
        case invalidField
        case notFound
        case ambiguous
        case csvMissingColumn
        case csvMalformed
        case leadAlreadyLinked
        case notPermitted
        /// A workflow action not allowed from the demand's state, or not by this role.
        case transitionRefused
        /// The demand has concurrent contradictory actions the coordinator must settle first.
        case workflowConflict
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension LedgerError: CodedFieldlogError {}
