import FieldCore
import Foundation

/// Why an HTTP message signature or digest was refused. Messages never contain signatures or keys.
public struct HTTPSignatureError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case missingSignature
        case malformedHeader
        case unknownComponent
        case missingComponent
        case unsupportedAlgorithm
        case badSignature
        case digestMismatch
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// An HTTP request or response, as much of it as a signature covers.
public struct SignedMessage: Sendable {
    /// The request method (requests only).
    public var method: String?
    /// The absolute target URI, e.g. `http://127.0.0.1:8080/sync?x=1` (requests only).
    public var targetURI: String?
    /// The status code (responses only).
    public var status: Int?
    /// Header fields in order; names compare case-insensitively.
    public var headers: [(name: String, value: String)]

    public init(
        method: String? = nil,
        targetURI: String? = nil,
        status: Int? = nil,
        headers: [(name: String, value: String)] = []
    ) {
        self.method = method
        self.targetURI = targetURI
        self.status = status
        self.headers = headers
    }

    /// The field value: every line of that name, trimmed, joined with ", " (RFC 9421 §2.1).
    public func header(_ name: String) -> String? {
        let values = headers.filter { $0.name.lowercased() == name.lowercased() }.map {
            $0.value.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        }
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}

/// A covered component: a derived component (`@method`, …) or a header name, optionally taken
/// from the request (`;req`, in a response's signature) and optionally one member of a dictionary
/// field (`;key="device"`, RFC 9421 §2.1.2), such as the request's own signature.
public struct SignatureComponent: Hashable, Sendable {
    public var name: String
    public var fromRequest: Bool
    /// The dictionary member covered, or nil for the whole field.
    public var key: String?
    /// True when the identifier as received named `key` before `req`: it is rebuilt in that order,
    /// since the signature base repeats the identifier exactly as `Signature-Input` gives it.
    var keyFirst = false

    public init(_ name: String, fromRequest: Bool = false, key: String? = nil) {
        self.name = name.lowercased()
        self.fromRequest = fromRequest
        self.key = key
    }

    public static func == (a: Self, b: Self) -> Bool {
        (a.name, a.fromRequest, a.key) == (b.name, b.fromRequest, b.key)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(fromRequest)
        hasher.combine(key)
    }

    var parameters: StructuredField.Parameters {
        let request: StructuredField.Parameters = fromRequest ? [("req", .boolean(true))] : []
        let member: StructuredField.Parameters = key.map { [("key", .string($0))] } ?? []
        return keyFirst ? member + request : request + member
    }

    var identifier: String {
        StructuredField.serialize(.string(name)) + StructuredField.serialize(parameters)
    }
}

/// The metadata of one signature: its label, covered components and parameters, in order.
public struct SignatureInput: Sendable {
    public var label: String
    public var components: [SignatureComponent]
    public var parameters: [(key: String, value: StructuredField.Item)]

    public init(
        label: String,
        components: [SignatureComponent],
        parameters: [(key: String, value: StructuredField.Item)]
    ) {
        self.label = label
        self.components = components
        self.parameters = parameters
    }

    func integer(_ key: String) -> Int64? {
        if case .integer(let value)? = parameters.first(where: { $0.key == key })?.value { return value }
        return nil
    }

    func string(_ key: String) -> String? {
        if case .string(let value)? = parameters.first(where: { $0.key == key })?.value { return value }
        return nil
    }

    public var created: Int64? { integer("created") }
    public var expires: Int64? { integer("expires") }
    public var nonce: String? { string("nonce") }
    public var keyID: String? { string("keyid") }
    public var algorithm: String? { string("alg") }
    public var tag: String? { string("tag") }

    /// The `@signature-params` value: the inner list of components with the parameters.
    public var serialized: String {
        StructuredField.serializeInnerList(
            components.map { (StructuredField.Item.string($0.name), $0.parameters) },
            parameters
        )
    }
}

/// RFC 9421 HTTP Message Signatures with Ed25519 (`alg="ed25519"`).
public enum HTTPSignature {
    /// The signature base (RFC 9421 §2.5): one line per component, then `@signature-params`, joined
    /// by LF with no final LF.
    public static func signatureBase(
        _ input: SignatureInput,
        message: SignedMessage,
        request: SignedMessage? = nil
    ) throws(HTTPSignatureError) -> String {
        var lines: [String] = []
        var seen = Set<SignatureComponent>()
        for component in input.components {
            guard seen.insert(component).inserted else {
                throw HTTPSignatureError(.malformedHeader, "component \(component.name) is covered twice")
            }
            let source: SignedMessage
            if component.fromRequest {
                guard let request else {
                    throw HTTPSignatureError(.missingComponent, "\(component.name);req needs the request")
                }
                source = request
            } else {
                source = message
            }
            lines.append(component.identifier + ": " + (try value(of: component, in: source)))
        }
        lines.append("\"@signature-params\": " + input.serialized)
        return lines.joined(separator: "\n")
    }

    static func value(of name: String, in message: SignedMessage) throws(HTTPSignatureError) -> String {
        try value(of: SignatureComponent(name), in: message)
    }

    /// The value a component takes in a message (RFC 9421 §2.1, §2.2).
    package static func value(
        of component: SignatureComponent,
        in message: SignedMessage
    ) throws(HTTPSignatureError) -> String {
        let name = component.name
        if let key = component.key {
            guard !name.hasPrefix("@") else {
                throw HTTPSignatureError(.unknownComponent, "key applies to a field, not to \(name)")
            }
            guard let field = message.header(name) else {
                throw HTTPSignatureError(.missingComponent, "the message has no \(name) header to cover")
            }
            guard let members = try? StructuredField.parseDictionary(field),
                let member = members.last(where: { $0.key == key })?.value
            else {
                throw HTTPSignatureError(.missingComponent, "the \(name) header has no member \(key) to cover")
            }
            return StructuredField.serialize(member)
        }
        if name.hasPrefix("@") {
            switch name {
            case "@method":
                guard let method = message.method else {
                    throw HTTPSignatureError(.missingComponent, "@method needs a request")
                }
                return method
            case "@status":
                guard let status = message.status else {
                    throw HTTPSignatureError(.missingComponent, "@status needs a response")
                }
                return String(status)
            case "@target-uri":
                guard let uri = message.targetURI else {
                    throw HTTPSignatureError(.missingComponent, "@target-uri needs a request")
                }
                return uri
            case "@authority", "@scheme", "@path", "@query", "@request-target":
                guard let uri = message.targetURI, let parts = URLComponents(string: uri), let scheme = parts.scheme,
                    let host = parts.host
                else {
                    throw HTTPSignatureError(.missingComponent, "\(name) needs an absolute target URI")
                }
                let path = parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath
                let query = parts.percentEncodedQuery.map { "?" + $0 } ?? "?"
                switch name {
                case "@authority":
                    let defaultPort =
                        (scheme.lowercased() == "http" && parts.port == 80)
                        || (scheme.lowercased() == "https" && parts.port == 443)
                    return host.lowercased() + (parts.port.map { defaultPort ? "" : ":\($0)" } ?? "")
                case "@scheme": return scheme.lowercased()
                case "@path": return path
                case "@query": return query
                default: return path + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
                }
            default:
                throw HTTPSignatureError(.unknownComponent, "derived component \(name) is not supported")
            }
        }
        guard let value = message.header(name) else {
            throw HTTPSignatureError(.missingComponent, "the message has no \(name) header to cover")
        }
        return value
    }

    /// Signs a message. Returns the `Signature-Input` and `Signature` header values.
    public static func sign(
        _ message: SignedMessage,
        request: SignedMessage? = nil,
        input: SignatureInput,
        key: SigningKey
    ) throws(HTTPSignatureError) -> (signatureInput: String, signature: String) {
        let base = try signatureBase(input, message: message, request: request)
        let signature = key.sign(Array(base.utf8))
        return (input.label + "=" + input.serialized, input.label + "=" + StructuredField.serialize(.bytes(signature)))
    }

    /// Parses `Signature-Input` and `Signature` and returns the signature with `label` (or the
    /// first one when `label` is nil).
    public static func parse(
        signatureInput: String,
        signature: String,
        label: String? = nil
    ) throws(HTTPSignatureError) -> (input: SignatureInput, signature: [UInt8]) {
        let inputs: [(key: String, value: StructuredField.Member)]
        let signatures: [(key: String, value: StructuredField.Member)]
        do {
            inputs = try StructuredField.parseDictionary(signatureInput)
            signatures = try StructuredField.parseDictionary(signature)
        } catch {
            throw HTTPSignatureError(
                .malformedHeader,
                "Signature-Input or Signature is not a structured dictionary (\(error.message))"
            )
        }
        guard let chosen = label ?? inputs.first?.key else {
            throw HTTPSignatureError(.missingSignature, "Signature-Input is empty")
        }
        guard let member = inputs.first(where: { $0.key == chosen })?.value else {
            throw HTTPSignatureError(.missingSignature, "no signature labelled \(chosen)")
        }
        guard case .innerList(let items, let parameters) = member else {
            throw HTTPSignatureError(.malformedHeader, "Signature-Input \(chosen) is not an inner list")
        }
        var components: [SignatureComponent] = []
        for (item, itemParameters) in items {
            guard case .string(let name) = item, name == name.lowercased() else {
                throw HTTPSignatureError(.malformedHeader, "a covered component is a lowercase string")
            }
            guard itemParameters.allSatisfy({ $0.key == "req" || $0.key == "key" }),
                Set(itemParameters.map(\.key)).count == itemParameters.count
            else {
                throw HTTPSignatureError(
                    .unknownComponent,
                    "component parameters other than req and key are not supported"
                )
            }
            var component = SignatureComponent(name)
            for (index, parameter) in itemParameters.enumerated() {
                switch (parameter.key, parameter.value) {
                case ("req", .boolean(true)): component.fromRequest = true
                case ("key", .string(let key)):
                    component.key = key
                    component.keyFirst = index == 0 && itemParameters.count == 2
                default:
                    throw HTTPSignatureError(
                        .malformedHeader,
                        "component parameter \(parameter.key) has a value of the wrong type"
                    )
                }
            }
            components.append(component)
        }
        guard case .item(.bytes(let bytes), _)? = signatures.first(where: { $0.key == chosen })?.value else {
            throw HTTPSignatureError(.missingSignature, "no Signature value labelled \(chosen)")
        }
        return (SignatureInput(label: chosen, components: components, parameters: parameters), bytes)
    }

    /// Verifies a signature with the key `keyFor` returns for its input (which may throw to refuse
    /// an unknown key). Returns the verified input, for the caller's policy (created, expires, nonce, tag).
    public static func verify(
        _ message: SignedMessage,
        request: SignedMessage? = nil,
        signatureInput: String,
        signature: String,
        label: String? = nil,
        keyFor: (SignatureInput) throws -> PublicKey
    ) throws -> SignatureInput {
        let (input, bytes) = try parse(signatureInput: signatureInput, signature: signature, label: label)
        if let algorithm = input.algorithm, algorithm != "ed25519" {
            throw HTTPSignatureError(
                .unsupportedAlgorithm,
                "signature algorithm \(algorithm) is not supported (only ed25519)"
            )
        }
        let key = try keyFor(input)
        let base = try signatureBase(input, message: message, request: request)
        guard key.isValidSignature(bytes, for: Array(base.utf8)) else {
            throw HTTPSignatureError(.badSignature, "the signature \(input.label) does not verify")
        }
        return input
    }
}

extension HTTPSignatureError: CodedFieldlogError {}
