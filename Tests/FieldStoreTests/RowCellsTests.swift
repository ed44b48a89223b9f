import FieldCrypto
import Foundation
import Testing

@testable import FieldStore

@Suite struct RowCellsTests {
    @Test func theEncodingRoundTripsAndRefusesDamage() throws {
        var cells = RowCells()
        cells.commits = [LogKey.make(1, 1), LogKey.make(7, 3), LogKey.make(2, 0xFFFF_FFFF)]
        cells.heads = [
            .init(
                commit: 0,
                id: CommitID(unchecked: [UInt8](repeating: 1, count: 32)),
                timestamp: Timestamp(rawValue: 5)
            ),
            .init(
                commit: 2,
                id: CommitID(unchecked: [UInt8](repeating: 2, count: 32)),
                timestamp: Timestamp(rawValue: .max)
            ),
        ]
        cells.columns = ["deleted": [0], "名称": [1, 0], "x": [1]]
        let bytes = cells.encoded()
        #expect(try RowCells(decoding: bytes) == cells)
        #expect(try RowCells(decoding: RowCells().encoded()) == RowCells())
        for cut in 0..<bytes.count {
            #expect(throws: StoreError.self) { try RowCells(decoding: Array(bytes[..<cut])) }
        }
        #expect(throws: StoreError.self) { try RowCells(decoding: bytes + [0]) }
    }

    @Test func headsNoColumnNamesAreDropped() throws {
        var cells = RowCells()
        let a = CommitID(unchecked: [UInt8](repeating: 1, count: 32))
        let b = CommitID(unchecked: [UInt8](repeating: 2, count: 32))
        let first = cells.insert(commit: LogKey.make(1, 1))
        let second = cells.insert(commit: LogKey.make(2, 1))
        #expect(first == (0, true) && second == (1, true))
        #expect(cells.insert(commit: LogKey.make(1, 1)) == (0, false))
        let headA = RowCells.Head(commit: 0, id: a, timestamp: Timestamp(rawValue: 1))
        let headB = RowCells.Head(commit: 1, id: b, timestamp: Timestamp(rawValue: 2))
        cells.setHeads("x", [headA])
        cells.setHeads("y", [headB, headA])
        #expect(cells.heads.count == 2)
        cells.setHeads("y", [headB])
        cells.setHeads("x", [headB])
        #expect(cells.heads == [headB])
        #expect(cells.heads(of: "x") == [headB] && cells.heads(of: "y") == [headB])
        cells.setHeads("x", [])
        #expect(cells.columns["x"] == nil)
        #expect(try RowCells(decoding: cells.encoded()) == cells)
        cells.clearHeads()
        #expect(cells.commits.count == 2 && cells.heads.isEmpty && cells.columns.isEmpty)
    }

    /// The fast path against the rule: random histories of one cell, written by replicas that each
    /// supersede the heads they see, delivered to an observer in any order. Whenever a version
    /// supersedes every head the observer holds, the rule's heads are that version alone.
    @Test(arguments: 0..<20)
    func theFastPathAgreesWithTheRule(run: Int) throws {
        let seed = UInt64(run) &* 0x5851_F42D_4C95_7F2D &+ 17
        var rng = SplitMix(seed: seed)
        let authors = (1...4).map { try! SigningKey(seed: [UInt8](repeating: UInt8($0), count: 32)).publicKey }
        var views: [[CellVersion]] = Array(repeating: [], count: authors.count)
        var written: [CellVersion] = []
        var clock: UInt64 = 0
        for step in 0..<1000 {
            let writer = Int(rng.next() % UInt64(authors.count))
            if rng.next() % 3 == 0, !written.isEmpty {
                // A delivery to a writer's view.
                let version = written[Int(rng.next() % UInt64(written.count))]
                if !views[writer].contains(version) { views[writer].append(version) }
                continue
            }
            clock += 1 + rng.next() % 3
            let supersedes = Merge.heads(of: views[writer]).map(\.commit)
            let hasher = BLAKE2b.Hasher()
            hasher.update(field: "\(step) \(writer)")
            for id in supersedes { hasher.update(id.bytes) }
            let version = CellVersion(
                commit: CommitID(unchecked: hasher.finalize()),
                timestamp: Timestamp(rawValue: clock),
                author: authors[writer],
                value: .integer(Int64(rng.next() % 3)),
                supersedes: supersedes
            )
            written.append(version)
            views[writer].append(version)
        }
        // The observer takes every version once, in a random order.
        var order = written
        order.shuffle(using: &rng)
        var held: [CellVersion] = []
        var heads: [CommitID] = []
        var fast = 0
        for version in order {
            let takesFastPath = Merge.supersedesEveryHead(version.supersedes, heads: heads)
            held.append(version)
            let rule = Merge.heads(of: held)
            if takesFastPath {
                fast += 1
                #expect(rule.map(\.commit) == [version.commit], "seed \(seed): the fast path disagrees")
                heads = [version.commit]
            } else {
                heads = rule.map(\.commit)
            }
        }
        #expect(fast > 0, "seed \(seed): no version took the fast path")
    }
}
