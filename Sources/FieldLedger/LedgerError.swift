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

    /// A value a person gives, as the domain names it; each client says how it is given (the CLI
    /// by one table of its options, `CLIField`), so messages name no command-line flag.
    public enum Field: String, Sendable, Codable, CaseIterable {
        case keep, comment, lead, coDepartments, suggest, until, days, reply, outcome, resolved, satisfaction
        case milestones, contacted, cadre, department, enterprise, visitDate, nextVisit, visit, pick
        case allowDuplicateNames, replaceLead, reinstate
    }

    public let code: Code
    public let message: String
    /// The value the error is about (missing, invalid, or the option that would insist), if one.
    public let field: Field?

    public init(_ code: Code, _ message: String, field: Field? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { message }
}

extension LedgerError: CodedFieldlogError {}
