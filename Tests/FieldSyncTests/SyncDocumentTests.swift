import FieldStore
import Foundation
import Testing

@testable import FieldSync

/// What docs/sync-protocol.md states byte for byte agrees with the code, so that a client written
/// from the document alone is up to date when it should be.
@Suite struct SyncDocumentTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("docs/sync-protocol.md")

    /// The worked example of the heads digest (its values computed with Python's hashlib from the
    /// document's words): the code computes the same, both ways it can.
    @Test func theHeadsDigestIsAsDocumented() throws {
        let author = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
        let heads = [
            FeedHead(author: author, scope: "registry", head: 3),
            FeedHead(author: author, scope: "ent:01890a5d-ac96-774b-bcce-b302099a8057", head: 1),
        ]
        let empty = "eb486c76860fad3f6ba96bc921a757855f1716e05ba39166fbcfd0c682ade597"
        let two = "01c801917945782dc59a7a399234021ce220eb6456b7a52944eafb40e6bf07c2"
        #expect(Replica.headsDigest([]) == empty)
        #expect(Replica.headsDigest(heads) == two)
        #expect(SyncPlanner.scopeDigests([], scopes: []).isEmpty)
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        #expect(text.contains(empty) && text.contains(two), "docs/sync-protocol.md shows the example")
    }
}
