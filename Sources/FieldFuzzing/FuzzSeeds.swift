/// The independent review's inputs, written as the decisions `HostileCommit` and `HostileRequest`
/// read, so that the `integration` and `hub` corpora start from what once trapped or fooled the
/// hub. `CorpusReplayTests` checks that each is in `fuzz/corpus/<target>/` as written here.
public enum FuzzSeeds {
    /// A commit's fields as decisions, in reading order (see `HostileCommit.make`).
    struct CommitChoice {
        var key = 2  // the stranger
        var sequence: UInt64? = nil  // nil: 1
        var previousRandom = false
        var timestamp = 0  // now
        var schema = 0  // this build's
        var registry: UInt64? = nil  // nil: the county's head
        var text = 1  // 用工

        func write(to script: FuzzScript) {
            script.pick(key).pick(0).pick(0)  // key, the linked scope, format version 1
            if let sequence { script.pick(3).number(sequence) } else { script.pick(0) }
            if previousRandom { script.pick(2).raw([UInt8](repeating: 9, count: 32)) } else { script.pick(0) }
            script.pick(timestamp).pick(schema)
            if let registry { script.pick(3).number(registry) } else { script.pick(0) }
            // One change: visits, the first fixed row, topics, the text 用工, superseding nothing;
            // sorted, the right count, the signature left whole.
            script.pick(0).pick(0).pick(0).pick(0).pick(0).pick(3).pick(text).pick(0)
            script.pick(1).pick(0).pick(1)
        }
    }

    static func integration(_ choices: CommitChoice..., onHub: Bool) -> [UInt8] {
        let script = FuzzScript()
        script.pick(choices.count - 1)
        for choice in choices { choice.write(to: script) }
        script.pick(onHub ? 1 : 0)
        return script.bytes
    }

    /// A request's parts as decisions (see `HostileRequest.make`): POST, no query, then the hosts,
    /// the body (written by `body`), and a proper signature with the parameters given.
    static func hub(
        _ nonce: UInt8,
        onPeer: Bool = false,
        path: Int,
        hosts: Int = 0,
        expires: (choice: Int, value: UInt64?) = (0, nil),
        algorithm: Int = 2,
        body: (FuzzScript) -> Void
    ) -> [UInt8] {
        let script = FuzzScript()
        script.pick(onPeer ? 1 : 0).pick(0).pick(path).pick(1).pick(hosts)
        body(script)
        script.pick(2)  // signed properly
        script.pick(0).pick(0).pick(0).pick(expires.choice)  // the cadre, label device, created now
        if let value = expires.value { script.number(value) }
        // A nonce of its own, alg, tag, a right digest.
        script.pick(0).raw([nonce] + Array(1...15)).pick(algorithm).pick(0).pick(1)
        return script.bytes
    }

    /// A pull of one feed of the registry, after `head`, asking for `maxCommits`.
    static func pull(head: UInt64, maxCommits: UInt64 = 300) -> (FuzzScript) -> Void {
        { script in
            script.pick(1).pick(0).pick(0).number(head)  // one head: the root's, in the registry
            script.number(1 << 20).pick(0).number(maxCommits).pick(0)
        }
    }

    static func push(_ choice: CommitChoice) -> (FuzzScript) -> Void {
        { script in
            script.pick(0)
            choice.write(to: script)
            script.pick(0)
        }
    }

    static func summary(_ script: FuzzScript) { script.pick(0).number(1).pick(0) }

    /// Every seed: its target, a name saying what it is, its bytes, and what the county answers:
    /// the hub's outcome (`ok` or the refusal's code), or the code of the commit's refusal.
    public static var review: [(target: String, name: String, bytes: [UInt8], expected: String)] {
        let now = UInt64(FuzzCounty.now / 1000)
        return [
            (
                "integration", "review-sequence-2e63",
                integration(CommitChoice(sequence: 1 << 63, previousRandom: true), onHub: true), "malformedCommit"
            ),
            (
                "integration", "review-registry-2e64-1", integration(CommitChoice(registry: .max), onHub: false),
                "malformedCommit"
            ),
            (
                "integration", "review-stranger-registry-1000000-hub",
                integration(CommitChoice(registry: 1_000_000), onHub: true), "notEnrolled"
            ),
            (
                "integration", "review-stranger-registry-1000000-laptop",
                integration(CommitChoice(registry: 1_000_000), onHub: false), "notEnrolled"
            ),
            (
                "integration", "review-stranger-year-2100", integration(CommitChoice(timestamp: 2), onHub: false),
                "notEnrolled"
            ),
            (
                "integration", "review-stranger-schema-999", integration(CommitChoice(schema: 3), onHub: true),
                "notEnrolled"
            ),
            (
                "integration", "found-stranger-fork-hub",
                integration(CommitChoice(), CommitChoice(text: 2), onHub: true), "notEnrolled"
            ),
            (
                "integration", "found-stranger-fork-laptop",
                integration(CommitChoice(), CommitChoice(text: 2), onHub: false), "notEnrolled"
            ),
            (
                "integration", "review-cadre-registry-ahead",
                integration(CommitChoice(key: 0, registry: 1_000_000), onHub: true), "notAuthorized"
            ),
            ("hub", "review-pull-head-2e64-1", hub(1, path: 2, body: pull(head: .max)), "bad_request"),
            (
                "hub", "review-pull-head-2e64-1-peer", hub(2, onPeer: true, path: 2, body: pull(head: .max)),
                "bad_request"
            ),
            ("hub", "review-pull-max-commits-0", hub(3, path: 2, body: pull(head: 0, maxCommits: 0)), "bad_request"),
            (
                "hub", "review-push-sequence-2e63",
                hub(4, path: 3, body: push(CommitChoice(sequence: 1 << 63, previousRandom: true))), "bad_request"
            ),
            (
                "hub", "review-push-registry-2e64-1", hub(5, path: 3, body: push(CommitChoice(registry: .max))),
                "bad_request"
            ),
            (
                "hub", "review-push-stranger-registry-1000000",
                hub(6, path: 3, body: push(CommitChoice(registry: 1_000_000))), "ok"
            ),
            (
                "hub", "review-expires-in-ten-years", hub(7, path: 0, expires: (5, now + 315_360_000), body: summary),
                "bad_signature_parameters"
            ),
            ("hub", "review-no-alg", hub(8, path: 0, algorithm: 0, body: summary), "incomplete_signature"),
            ("hub", "review-two-hosts", hub(9, path: 0, hosts: 4, body: summary), "bad_request"),
            ("hub", "review-another-servers-host", hub(10, path: 0, hosts: 7, body: summary), "misdirected_request"),
            ("hub", "review-unknown-path", hub(11, path: 6, body: { script in script.pick(0).pick(0) }), "not_found"),
            ("hub", "review-summary-ok", hub(12, path: 0, body: summary), "ok"),
        ]
    }
}
