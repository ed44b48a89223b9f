import FieldCore
import FieldSync
import Hummingbird

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
        /// This hub process has not followed the shared log to the checkpoint the request presents.
        case catchingUp = "catching_up"
        /// The shared store (PostgreSQL) cannot be reached: nothing was stored.
        case storeUnavailable = "store_unavailable"
        /// This hub process's own key is no longer listed as a hub process: it answers nothing.
        case processKeyRevoked = "process_key_revoked"
        /// The hub could not complete the request for a reason of its own (never bad input).
        case `internal`

        var status: HTTPResponse.Status {
            switch self {
            case .missingSignature, .badSignature, .incompleteSignature, .badSignatureParameters, .createdOutOfWindow,
                .expired,
                .replayedNonce, .unknownKey:
                .unauthorized
            case .revokedKey, .outOfScope, .enrollmentCodeInvalid, .enrollmentCodeSpent: .forbidden
            case .alreadyEnrolled: .conflict
            case .digestMismatch, .badRequest, .unsupportedVersion, .incompleteBody: .badRequest
            case .bodyTooLarge: .contentTooLarge
            case .notFound: .notFound
            case .misdirectedRequest: .misdirectedRequest
            case .busy, .catchingUp, .storeUnavailable, .processKeyRevoked: .serviceUnavailable
            case .internal: .internalServerError
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The answer to a request the hub could not complete for a reason of its own.
    static let internalFailure = HubError(.internal, "the hub could not complete the request; see its log")
}

extension HubError: CodedFieldlogError {}

extension HubError: HTTPResponseError {
    public var status: HTTPResponse.Status { code.status }

    /// `{"error": {"code": …, "message": …}}` with the code's status (the signing middleware signs it).
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    func response() -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        if code == .catchingUp || code == .storeUnavailable { fields[.retryAfter] = "1" }
        return Response(
            status: status,
            headers: fields,
            body: ResponseBody(
                byteBuffer: ByteBuffer(bytes: ErrorEnvelope(code: code.rawValue, message: message).encoded())
            )
        )
    }

    /// The one mapping from whatever was thrown while answering a request to what the client is told:
    /// a hub refusal as it is, the router's "not found" as the hub's, a sync refusal by its code, and
    /// anything else as an internal failure (logged by the caller, never shown).
    init(answering error: any Error) {
        switch error {
        case let error as HubError:
            self = error
        case let error as SharedLogError where error.code == .replayed:
            self = HubError(
                .replayedNonce,
                "this request was already received (its nonce was seen); a replay is refused"
            )
        case is SharedLogError:
            self = HubError(
                .storeUnavailable,
                "the hub cannot reach its database; nothing of this request was stored: sync again in a moment"
            )
        case let error as HTTPError where error.status == .notFound:
            self = HubError(
                .notFound,
                "there is no such endpoint; the hub serves \(HubRoutes.all.joined(separator: ", "))"
            )
        case let error as SyncError:
            switch error.code {
            case .unsupportedVersion: self = HubError(.unsupportedVersion, error.message)
            case .outOfScope: self = HubError(.outOfScope, error.message)
            default: self = HubError(.badRequest, error.message)
            }
        default:
            self = .internalFailure
        }
    }
}
