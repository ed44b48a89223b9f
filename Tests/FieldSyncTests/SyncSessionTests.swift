import FieldStore
import Testing

@testable import FieldSync

/// Issue 14: the protocol of a sync as a value, driven here with made-up answers: no replica, no
/// network. (The suites beside this one drive it over real replicas and a real hub.)
@Suite struct SyncSessionMachineTests {
    static let summaryDigest = String(repeating: "0", count: 64)

    @Test func anUpToDatePeerEndsTheSyncAfterOneRound() throws {
        var session = SyncSession()
        #expect(
            try session.start(digest: Self.summaryDigest) == .send(.summary(SummaryRequest(digest: Self.summaryDigest)))
        )
        let action = try session.next(.answered(.summary(SummaryResponse(upToDate: true, scopeDigests: nil))))
        guard case .finish(let summary) = action else {
            Issue.record("\(action)")
            return
        }
        #expect(summary.upToDate && summary.requests == 1 && summary.requestBytes > 0 && summary.responseBytes > 0)
    }

    /// Scopes whose digests agree are left alone; heads are asked only for the others; a feed the
    /// peer is ahead in is pulled, one this replica is ahead in is read and pushed, and the state
    /// digests of the differing scope are compared at the end.
    @Test func theRoundsFollowTheDigestsAndHeads() throws {
        var session = SyncSession(batchCommits: 10, batchBytes: 1000)
        _ = try session.start(digest: Self.summaryDigest)
        let mine = [FeedHead(author: "a", scope: "s1", head: 2), FeedHead(author: "b", scope: "s2", head: 4)]
        let agreed = SyncPlanner.scopeDigests([mine[1]], scopes: ["s2"])["s2"] ?? ""
        var action = try session.next(
            .answered(.summary(SummaryResponse(upToDate: false, scopeDigests: ["s1": "differs", "s2": agreed])))
        )
        #expect(action == .readHeads(scopes: ["s1", "s2"]))
        action = try session.next(.localHeads(mine))
        #expect(action == .send(.heads(HeadsRequest(scopes: ["s1"], heads: [mine[0]]))))
        let theirs = [FeedHead(author: "a", scope: "s1", head: 1), FeedHead(author: "c", scope: "s1", head: 3)]
        action = try session.next(.answered(.heads(HeadsResponse(heads: theirs))))
        #expect(
            action
                == .send(
                    .pull(
                        PullRequest(
                            after: [FeedHead(author: "c", scope: "s1", head: 0)],
                            maxCommits: 10,
                            maxBytes: 1000
                        )
                    )
                )
        )
        // The peer sends nothing more: nothing to take; on to the push of feed a after 1.
        action = try session.next(.answered(.pull(records: [], more: false)))
        #expect(action == .take(records: [], prefetch: nil, headsOf: ["s1"]))
        action = try session.next(.took(ImportReport(), heads: mine, prefetched: nil))
        #expect(
            action == .readPush(after: [FeedHead(author: "a", scope: "s1", head: 1)], maxCommits: 10, maxBytes: 1000)
        )
        #expect(session.takeProgress()?.phase == "pull")
        #expect(session.takeProgress() == nil, "progress is reported once")
        action = try session.next(.pushBatch(records: [], more: false))
        #expect(action == .send(.stateDigests(["s1"])))
        action = try session.next(.answered(.stateDigests(["s1": "x"])))
        #expect(action == .readDigests(["s1"]))
        action = try session.next(.localDigests(["s1": "y"]))
        guard case .finish(let summary) = action else {
            Issue.record("\(action)")
            return
        }
        #expect(summary.divergentScopes == ["s1"])
        #expect(summary.requests == 4)
    }

    /// The peer excludes feed a of s1 from a fork at 3 and feed b from 5; this replica holds a up
    /// to 4 without the fork, and b forked already: a is pulled from 2, b is left alone.
    @Test func aForkThePeerHoldsIsPulledFromJustBeforeIt() throws {
        var session = SyncSession(batchCommits: 10, batchBytes: 1000)
        _ = try session.start(digest: Self.summaryDigest)
        _ = try session.next(.answered(.summary(SummaryResponse(upToDate: false, scopeDigests: ["s1": "differs"]))))
        let mine = [FeedHead(author: "a", scope: "s1", head: 4), FeedHead(author: "b", scope: "s1", head: 6)]
        _ = try session.next(.localHeads(mine))
        let forks = [FeedHead(author: "a", scope: "s1", head: 3), FeedHead(author: "b", scope: "s1", head: 5)]
        var action = try session.next(
            .answered(
                .heads(
                    HeadsResponse(
                        heads: [
                            FeedHead(author: "a", scope: "s1", head: 2), FeedHead(author: "b", scope: "s1", head: 4),
                        ],
                        forks: forks
                    )
                )
            )
        )
        #expect(action == .readForks(scopes: ["s1"]))
        action = try session.next(.localForks([FeedHead(author: "b", scope: "s1", head: 5)]))
        #expect(
            action
                == .send(
                    .pull(
                        PullRequest(
                            after: [FeedHead(author: "a", scope: "s1", head: 2)],
                            maxCommits: 10,
                            maxBytes: 1000
                        )
                    )
                )
        )
        // Without forks in the answer, nothing is read: the field is absent on the wire.
        let plain = try SyncWire.encode(SyncResponse.heads(HeadsResponse(heads: mine, forks: [])))
        #expect(!String(decoding: plain.body, as: UTF8.self).contains("forks"))
    }

    /// An answer of another kind than asked for, or an event out of turn, stops the sync with a
    /// sentence; so does a pull whose commits the replica could not take (no progress).
    @Test func aWrongAnswerOrNoProgressStopsTheSync() throws {
        var session = SyncSession()
        _ = try session.start(digest: Self.summaryDigest)
        let wrong = #expect(throws: SyncError.self) { try session.next(.answered(.stateDigests([:]))) }
        #expect(wrong?.message.contains("answered a summary with something else") == true)

        var outOfTurn = SyncSession()
        _ = try outOfTurn.start(digest: Self.summaryDigest)
        #expect(throws: SyncError.self) { try outOfTurn.next(.localDigests([:])) }

        var stuck = SyncSession()
        _ = try stuck.start(digest: Self.summaryDigest)
        _ = try stuck.next(.answered(.summary(SummaryResponse(upToDate: false, scopeDigests: ["s1": "x"]))))
        _ = try stuck.next(.localHeads([]))
        _ = try stuck.next(.answered(.heads(HeadsResponse(heads: [FeedHead(author: "c", scope: "s1", head: 3)]))))
        _ = try stuck.next(.answered(.pull(records: [[1, 2, 3]], more: true)))
        let noProgress = #expect(throws: SyncError.self) {
            try stuck.next(.took(ImportReport(), heads: [], prefetched: nil))
        }
        #expect(noProgress?.code == .noProgress)
    }
}
