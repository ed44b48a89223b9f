import Foundation
import Testing

@testable import FieldCrypto

/// RFC 9421 and RFC 9530 vectors, from ../shared/vectors/rfc9421.md.
@Suite struct HTTPSignatureTests {
    static let seed = Hex.decode("9f8362f87a484a954e6e740c5b4c0e84229139a20aa8ab56ff66586f6a7d29c5")!
    static let body = Array(#"{"hello": "world"}"#.utf8)

    static var testRequest: SignedMessage {
        SignedMessage(
            method: "POST",
            targetURI: "https://example.com/foo?param=Value&Pet=dog",
            headers: [
                ("Host", "example.com"), ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
                ("Content-Type", "application/json"),
                (
                    "Content-Digest",
                    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
                ),
                ("Content-Length", "18"),
            ]
        )
    }

    @Test func testKeyMatchesTheRFC() throws {
        let key = try SigningKey(seed: Self.seed)
        #expect(key.publicKey.hex == "26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb")
    }

    /// Appendix B.2.6: signature base, Signature-Input and Signature, byte for byte.
    @Test func appendixB26() throws {
        let key = try SigningKey(seed: Self.seed)
        let input = SignatureInput(
            label: "sig-b26",
            components: ["date", "@method", "@path", "@authority", "content-type", "content-length"].map {
                SignatureComponent($0)
            },
            parameters: [("created", .integer(1_618_884_473)), ("keyid", .string("test-key-ed25519"))]
        )
        let base = try HTTPSignature.signatureBase(input, message: Self.testRequest)
        let expectedBase = """
            "date": Tue, 20 Apr 2021 02:07:55 GMT
            "@method": POST
            "@path": /foo
            "@authority": example.com
            "content-type": application/json
            "content-length": 18
            "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"
            """
        #expect(base == expectedBase)
        #expect(base.utf8.count == 284)
        #expect(
            Hex.encode(ContentDigest.sha256(Array(base.utf8)))
                == "e6402577f54303accfda63dfbde1a7b8c5e5e6f3f7898637b7d78dc07ee1896a"
        )
        let headers = try HTTPSignature.sign(Self.testRequest, input: input, key: key)
        #expect(
            headers.signatureInput
                == #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#
        )
        #expect(
            headers.signature
                == "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
        )
        let verified = try HTTPSignature.verify(
            Self.testRequest,
            signatureInput: headers.signatureInput,
            signature: headers.signature,
            keyFor: { _ in key.publicKey }
        )
        #expect(verified.keyID == "test-key-ed25519")
        #expect(verified.created == 1_618_884_473)
    }

    /// The derived vector of section 5: content-digest, @target-uri, alg, expires, nonce, tag.
    @Test func derivedVectorWithAllParameters() throws {
        let key = try SigningKey(seed: Self.seed)
        let request = SignedMessage(
            method: "POST",
            targetURI: "https://example.com/foo?param=Value&Pet=dog",
            headers: [("Content-Type", "application/json"), ("Content-Digest", ContentDigest.header(for: Self.body))]
        )
        #expect(request.header("content-digest") == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
        let input = SignatureInput(
            label: "sig1",
            components: ["@method", "@target-uri", "content-type", "content-digest"].map { SignatureComponent($0) },
            parameters: [
                ("created", .integer(1_618_884_473)), ("keyid", .string("test-key-ed25519")),
                ("alg", .string("ed25519")),
                ("expires", .integer(1_618_884_773)), ("nonce", .string("b3k2pp5k7z-50gnwp.yemd")),
                ("tag", .string("recordstore-sync")),
            ]
        )
        let base = try HTTPSignature.signatureBase(input, message: request)
        #expect(base.utf8.count == 390)
        #expect(
            Hex.encode(ContentDigest.sha256(Array(base.utf8)))
                == "f35ef5277073972fce3484a9c1f858ff7c3ec888bb2707c9ce8b307fd6f317df"
        )
        let headers = try HTTPSignature.sign(request, input: input, key: key)
        #expect(
            headers.signatureInput
                == #"sig1=("@method" "@target-uri" "content-type" "content-digest");created=1618884473;keyid="test-key-ed25519";alg="ed25519";expires=1618884773;nonce="b3k2pp5k7z-50gnwp.yemd";tag="recordstore-sync""#
        )
        #expect(
            headers.signature
                == "sig1=:Av4H9kYlWtuGF08dU/5FH/txZHniwWF85UJsogKkZcC+ub+m7PV/r//Sc7bTYZRxa9OINyFb3lO5Em++NfICCg==:"
        )
        let parsed = try HTTPSignature.parse(signatureInput: headers.signatureInput, signature: headers.signature)
        #expect(parsed.input.expires == 1_618_884_773)
        #expect(parsed.input.nonce == "b3k2pp5k7z-50gnwp.yemd")
        #expect(parsed.input.tag == "recordstore-sync")
        #expect(parsed.input.algorithm == "ed25519")
    }

    /// RFC 9530 Appendix D and section 2 digests.
    @Test func contentDigests() throws {
        #expect(
            "sha-512=" + StructuredField.serialize(.bytes(ContentDigest.sha512(Self.body)))
                == "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        )
        #expect(ContentDigest.header(for: Self.body) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
        let withNewline = Self.body + [0x0A]
        #expect(ContentDigest.header(for: withNewline) == "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:")
        #expect(
            "sha-512=" + StructuredField.serialize(.bytes(ContentDigest.sha512(withNewline)))
                == "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:"
        )
        #expect(ContentDigest.header(for: []) == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
        try ContentDigest.verify(Self.testRequest.header("content-digest")!, body: Self.body)
        try ContentDigest.verify(
            "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:",
            body: withNewline
        )
        let mismatch = #expect(throws: HTTPSignatureError.self) {
            try ContentDigest.verify(ContentDigest.header(for: Self.body), body: withNewline)
        }
        #expect(mismatch?.code == .digestMismatch)
        #expect(throws: HTTPSignatureError.self) {
            try ContentDigest.verify("md5=:Sd/dVLAcvNLSq16eXua5uQ==:", body: Self.body)
        }
        #expect(throws: HTTPSignatureError.self) { try ContentDigest.verify("sha-256=X48E", body: Self.body) }
    }

    @Test func tamperedMessagesFail() throws {
        let key = try SigningKey(seed: Self.seed)
        let input = SignatureInput(
            label: "sig1",
            components: ["@method", "@target-uri", "content-digest"].map { SignatureComponent($0) },
            parameters: [("created", .integer(1_700_000_000)), ("keyid", .string("k"))]
        )
        var request = SignedMessage(
            method: "POST",
            targetURI: "http://127.0.0.1:8080/sync",
            headers: [("Content-Digest", ContentDigest.header(for: Self.body))]
        )
        let headers = try HTTPSignature.sign(request, input: input, key: key)
        request.targetURI = "http://127.0.0.1:8080/sync?evil=1"
        let error = #expect(throws: HTTPSignatureError.self) {
            try HTTPSignature.verify(
                request,
                signatureInput: headers.signatureInput,
                signature: headers.signature,
                keyFor: { _ in key.publicKey }
            )
        }
        #expect(error?.code == .badSignature)
        request.targetURI = "http://127.0.0.1:8080/sync"
        #expect(throws: HTTPSignatureError.self) {
            try HTTPSignature.verify(
                request,
                signatureInput: headers.signatureInput,
                signature: headers.signature,
                keyFor: { _ in SigningKey.generate().publicKey }
            )
        }
        // A missing covered header, an unsupported algorithm, garbage headers.
        let stripped = SignedMessage(method: "POST", targetURI: "http://127.0.0.1:8080/sync")
        let missing = #expect(throws: HTTPSignatureError.self) {
            try HTTPSignature.verify(
                stripped,
                signatureInput: headers.signatureInput,
                signature: headers.signature,
                keyFor: { _ in key.publicKey }
            )
        }
        #expect(missing?.code == .missingComponent)
        let rsa = headers.signatureInput + #";alg="rsa-pss-sha512""#
        let unsupported = #expect(throws: HTTPSignatureError.self) {
            try HTTPSignature.verify(
                request,
                signatureInput: rsa,
                signature: headers.signature,
                keyFor: { _ in key.publicKey }
            )
        }
        #expect(unsupported?.code == .unsupportedAlgorithm)
        #expect(throws: HTTPSignatureError.self) {
            try HTTPSignature.verify(
                request,
                signatureInput: "sig1=(",
                signature: headers.signature,
                keyFor: { _ in key.publicKey }
            )
        }
        #expect(throws: HTTPSignatureError.self) {
            try HTTPSignature.verify(
                request,
                signatureInput: headers.signatureInput,
                signature: "sig2=:AAAA:",
                keyFor: { _ in key.publicKey }
            )
        }
    }

    /// A response signature covering `@status` and the request's method and content-digest (`;req`).
    @Test func responseCoversTheRequest() throws {
        let hub = SigningKey.generate()
        let request = SignedMessage(
            method: "POST",
            targetURI: "http://127.0.0.1:8080/v1/sync",
            headers: [("Content-Digest", ContentDigest.header(for: Self.body))]
        )
        let response = SignedMessage(status: 200, headers: [("Content-Digest", ContentDigest.header(for: []))])
        let input = SignatureInput(
            label: "hub",
            components: [
                SignatureComponent("@status"), SignatureComponent("content-digest"),
                SignatureComponent("@method", fromRequest: true),
                SignatureComponent("content-digest", fromRequest: true),
            ],
            parameters: [
                ("created", .integer(1_700_000_000)), ("keyid", .string("hub")), ("tag", .string("fieldlog-sync")),
            ]
        )
        let base = try HTTPSignature.signatureBase(input, message: response, request: request)
        #expect(base.contains(#""@method";req: POST"#))
        #expect(base.contains(#""@signature-params": ("@status" "content-digest" "@method";req "content-digest";req)"#))
        let headers = try HTTPSignature.sign(response, request: request, input: input, key: hub)
        let verified = try HTTPSignature.verify(
            response,
            request: request,
            signatureInput: headers.signatureInput,
            signature: headers.signature,
            keyFor: { _ in hub.publicKey }
        )
        #expect(verified.tag == "fieldlog-sync")
        // The same response replayed for another request fails.
        let other = SignedMessage(
            method: "POST",
            targetURI: "http://127.0.0.1:8080/v1/sync",
            headers: [("Content-Digest", ContentDigest.header(for: []))]
        )
        #expect(throws: HTTPSignatureError.self) {
            try HTTPSignature.verify(
                response,
                request: other,
                signatureInput: headers.signatureInput,
                signature: headers.signature,
                keyFor: { _ in hub.publicKey }
            )
        }
    }

    @Test func derivedComponents() throws {
        let message = SignedMessage(method: "GET", targetURI: "HTTP://Example.COM:80/a%20b?x=1&y=2")
        #expect(try HTTPSignature.value(of: "@authority", in: message) == "example.com")
        #expect(try HTTPSignature.value(of: "@scheme", in: message) == "http")
        #expect(try HTTPSignature.value(of: "@path", in: message) == "/a%20b")
        #expect(try HTTPSignature.value(of: "@query", in: message) == "?x=1&y=2")
        let port = SignedMessage(method: "GET", targetURI: "http://127.0.0.1:8443")
        #expect(try HTTPSignature.value(of: "@authority", in: port) == "127.0.0.1:8443")
        #expect(try HTTPSignature.value(of: "@path", in: port) == "/")
        #expect(try HTTPSignature.value(of: "@query", in: port) == "?")
        let repeated = SignedMessage(headers: [("X-A", " one "), ("x-a", "two")])
        #expect(repeated.header("X-a") == "one, two")
    }
}
