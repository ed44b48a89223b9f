/// The one shape of every fieldlog error, whichever layer throws it: a code a program branches on,
/// one sentence for a person that says what to do and names no secret (no key, passphrase,
/// signature or cell value), and the error beneath it when there is one.
///
/// The CLI prints `message` for any of them with one `catch`; the hub answers each with the same
/// JSON envelope (`code`, `message`); logs carry `code` and `cause`.
public protocol FieldlogError: Error, CustomStringConvertible, Sendable {
    /// The error's code as a stable name (`invalidUSCC`, `bad_signature`, ...).
    var codeName: String { get }
    /// One sentence for a person.
    var message: String { get }
    /// The error this one reports, if any (a database or file error), for logs and debugging.
    var cause: (any Error)? { get }
}

extension FieldlogError {
    public var cause: (any Error)? { nil }
    public var description: String { message }
}

/// A `FieldlogError` whose code is an enum with string raw values.
public protocol CodedFieldlogError: FieldlogError {
    associatedtype Code: RawRepresentable where Code.RawValue == String
    var code: Code { get }
}

extension CodedFieldlogError {
    public var codeName: String { code.rawValue }
}
