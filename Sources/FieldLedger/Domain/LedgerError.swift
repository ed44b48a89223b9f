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

    /// A value a person gives, as the domain names it. A message refers to one as `\(field: …)`;
    /// each client names it its own way (`message(naming:)`: the CLI by its option, in one table),
    /// so the ledger's sentences carry no command-line dialect.
    public enum Field: String, Sendable, Codable, CaseIterable {
        case keep, comment, lead, coDepartments, suggest, until, days, reply, outcome, resolved, satisfaction
        case milestones, contacted, cadre, department, enterprise, visitDate, nextVisit, visit, pick
        case allowDuplicateNames, allowDuplicateName, replaceLead, reinstate
        case value
        /// A visit's and a demand's own values, as forms ask for them.
        case title, content, type, category, urgency, channel, mode, noDemands

        /// The name clients use when they have none of their own: lower-case words joined by
        /// hyphens, as an option (`nextVisit` → `--next-visit`).
        public var option: String {
            "--" + rawValue.reduce(into: "") { $0 += $1.isUppercase ? "-" + $1.lowercased() : String($1) }
        }
    }

    /// A sentence with the values it refers to left for the client to name.
    public struct Message: Sendable, Equatable, ExpressibleByStringInterpolation {
        public enum Part: Sendable, Equatable {
            case text(String)
            case field(Field)
        }

        public var parts: [Part]

        public init(stringLiteral value: String) { parts = [.text(value)] }
        public init(stringInterpolation: Interpolation) { parts = stringInterpolation.parts }
        public init(_ text: String) { parts = [.text(text)] }

        public struct Interpolation: StringInterpolationProtocol {
            var parts: [Part] = []
            public init(literalCapacity: Int, interpolationCount: Int) {}
            public mutating func appendLiteral(_ literal: String) { parts.append(.text(literal)) }
            public mutating func appendInterpolation(field: Field) { parts.append(.field(field)) }
            public mutating func appendInterpolation<T>(_ value: T) { parts.append(.text("\(value)")) }
        }

        /// The sentence, each value named by `name`.
        public func rendered(naming name: (Field) -> String) -> String {
            parts.map {
                switch $0 {
                case .text(let text): text
                case .field(let field): name(field)
                }
            }.joined()
        }

        /// The first value the sentence refers to.
        var firstField: Field? {
            for case .field(let field) in parts { return field }
            return nil
        }
    }

    public let code: Code
    /// The sentence with its values left to name (`message(naming:)`).
    public let sentence: Message
    /// The value the error is about (missing, invalid, or the option that would insist), if one.
    public let field: Field?

    /// The sentence, values named as options (`--next-visit`).
    public var message: String { sentence.rendered(naming: \.option) }

    /// The sentence, each value named as a client shows it.
    public func message(naming name: (Field) -> String) -> String { sentence.rendered(naming: name) }

    public init(_ code: Code, _ message: String, field: Field? = nil) {
        self.code = code
        self.sentence = Message(message)
        self.field = field
    }

    /// An error whose sentence refers to values (`"settle needs \(field: .keep)"`); `field` is the
    /// first of them unless given.
    public init(_ code: Code, _ sentence: Message, field: Field? = nil) {
        self.code = code
        self.sentence = sentence
        self.field = field ?? sentence.firstField
    }

    /// The workflow's typed reason, when this error reports a refused step (a client may word it
    /// in its own language).
    public internal(set) var refusal: WorkflowRefusal?

    /// The demand row of a form (1 for the first) the error is about, when a visit is logged with
    /// its demands (`Ledger.addVisit(_:demands:)`).
    public internal(set) var row: Int?

    /// The line of an imported file (2 for the first under the header) the error is about, and the
    /// error's sentence without the file's name and line (a preview lists it beside the line).
    public internal(set) var line: Int?
    public internal(set) var lineDetail: String?

    /// This error, about line `line` of an imported file.
    func at(line: Int, detail: String? = nil) -> LedgerError {
        var error = self
        error.line = line
        error.lineDetail = detail ?? message.firstRange(of: "line \(line): ").map { String(message[$0.upperBound...]) }
        return error
    }

    public var description: String { message }
}

extension LedgerError: CodedFieldlogError {}
