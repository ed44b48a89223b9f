import FieldStore

/// The pure decisions of a sync: which scopes differ, which feeds to pull and which to push.
public enum SyncPlanner {
    /// Scopes whose heads digests differ: every readable scope the server lists whose digest is
    /// not the client's (a scope the client lacks differs too). Sorted.
    public static func differingScopes(server: [String: String], client: [String: String]) -> [String] {
        server.filter { client[$0.key] != $0.value }.map(\.key).sorted()
    }

    /// What to move, given both sides' heads in the differing scopes.
    /// - Returns: `pull`: feeds where the server is ahead, with the client's head as `head` (0 if it
    ///   has none); `push`: feeds where the client is ahead, with the server's head as `head`.
    public static func plan(
        client: [FeedHead],
        server: [FeedHead],
        scopes: Set<String>
    ) -> (pull: [FeedHead], push: [FeedHead]) {
        let mine = Dictionary(
            client.filter { scopes.contains($0.scope) }.map { ($0.feed, $0) },
            uniquingKeysWith: { max($0.head, $1.head) == $0.head ? $0 : $1 }
        )
        let theirs = Dictionary(
            server.filter { scopes.contains($0.scope) }.map { ($0.feed, $0) },
            uniquingKeysWith: { max($0.head, $1.head) == $0.head ? $0 : $1 }
        )
        var pull: [FeedHead] = []
        var push: [FeedHead] = []
        for (feed, remote) in theirs where remote.head > (mine[feed]?.head ?? 0) {
            pull.append(FeedHead(author: remote.author, scope: remote.scope, head: mine[feed]?.head ?? 0))
        }
        for (feed, local) in mine where local.head > (theirs[feed]?.head ?? 0) {
            push.append(FeedHead(author: local.author, scope: local.scope, head: theirs[feed]?.head ?? 0))
        }
        let order: (FeedHead, FeedHead) -> Bool = { ($0.scope, $0.author) < ($1.scope, $1.author) }
        return (pull.sorted(by: order), push.sorted(by: order))
    }

    /// The per-scope digests of a set of heads.
    public static func scopeDigests(_ heads: [FeedHead], scopes: Set<String>) -> [String: String] {
        var grouped: [String: [FeedHead]] = [:]
        for scope in scopes { grouped[scope] = [] }
        for head in heads where scopes.contains(head.scope) { grouped[head.scope, default: []].append(head) }
        return grouped.mapValues { Replica.headsDigest($0) }
    }
}
