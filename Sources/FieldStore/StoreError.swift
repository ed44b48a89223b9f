import FieldCore

/// An error from the replica engine: a code for programs, one sentence for a person.
///
/// Messages name ids, sequence numbers and counts, never keys, signatures or cell values.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Code: String, Sendable, Codable {
        case malformedCommit
        case badSignature
        case unsupportedFormat
        case brokenChain
        case gap
        case fork
        case notEnrolled
        case notAuthorized
        case revoked
        case futureTimestamp
        case newerSchema
        case unknownTable
        case unknownColumn
        case truncatedBundle
        case notABundle
        case database
        case invalidValue
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension StoreError: CodedFieldlogError {}
