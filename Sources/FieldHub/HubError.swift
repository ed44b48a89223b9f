import FieldCore

/// A refusal by the hub: a distinct code and HTTP status for each reason, and a sentence that names
/// no secret (no key material, signature or body).
public struct HubError: Error, Sendable, Equatable {
    public enum Code: String, Sendable {
        case missingSignature = "missing_signature"
        case badSignature = "bad_signature"
        case incompleteSignature = "incomplete_signature"
        case digestMismatch = "digest_mismatch"
        case createdOutOfWindow = "created_out_of_window"
        case expired
        case replayedNonce = "replayed_nonce"
        case unknownKey = "unknown_key"
        case revokedKey = "revoked_key"
        case bodyTooLarge = "body_too_large"
        case incompleteBody = "incomplete_body"
        case badRequest = "bad_request"
        case notFound = "not_found"
        case unsupportedVersion = "unsupported_version"
        case outOfScope = "out_of_scope"
        case alreadyEnrolled = "already_enrolled"
        case enrollmentCodeInvalid = "enrollment_code_invalid"
        case enrollmentCodeSpent = "enrollment_code_spent"
        case badSignatureParameters = "bad_signature_parameters"
        case misdirectedRequest = "misdirected_request"
        case busy

        var status: Int {
            switch self {
            case .missingSignature, .badSignature, .incompleteSignature, .badSignatureParameters, .createdOutOfWindow,
                .expired,
                .replayedNonce, .unknownKey:
                401
            case .revokedKey, .outOfScope, .enrollmentCodeInvalid, .enrollmentCodeSpent: 403
            case .alreadyEnrolled: 409
            case .digestMismatch, .badRequest, .unsupportedVersion, .incompleteBody: 400
            case .bodyTooLarge: 413
            case .notFound: 404
            case .misdirectedRequest: 421
            case .busy: 503
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var status: Int { code.status }
}

extension HubError: CodedFieldlogError {}
