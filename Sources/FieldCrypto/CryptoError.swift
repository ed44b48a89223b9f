import FieldCore

/// An error from the cryptographic layer: a code a program can branch on, and a sentence for a person.
///
/// Messages name files and sizes, never keys, passphrases or signatures.
public struct CryptoError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for programs.
    public enum Code: String, Sendable {
        case invalidKeyLength
        case keyFileMissing
        case keyFileExists
        case keyFileUnreadable
        case keyFilePermissions
        case keyFileCorrupt
        case wrongPassphrase
        case keyDerivationFailed
        case ioFailure
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension CryptoError: CodedFieldlogError {}
