import Foundation

/// A request's nonce: the 16 random bytes `docs/sync-protocol.md` requires, nothing longer, so
/// that what the cache keeps per request is fixed whatever a client sends.
struct Nonce: Hashable, Sendable {
    let high: UInt64
    let low: UInt64

    /// The nonce of a `nonce` parameter: base64 of exactly 16 bytes, or nil.
    init?(base64 text: String) {
        guard text.utf8.count == 24, let data = Data(base64Encoded: text), data.count == 16 else { return nil }
        let bytes = [UInt8](data)
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The 16 bytes.
    var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }
}

/// Nonces seen within the signature window, so a captured request cannot be replayed.
///
/// Bounded whatever the clients send: each entry is 16 bytes and an expiry at most two windows
/// away (the hub refuses a `created` outside the window and an `expires` more than a lifetime past
/// it), and there are at most `capacity` of them. When the cache is full of live nonces, new
/// requests are refused (`busy`) until some expire, rather than remembered in memory without end.
actor NonceCache {
    enum Outcome: Equatable {
        case remembered
        case replayed
        case full
    }

    let capacity: Int
    private var seen: [Nonce: Int64] = [:]
    private var lastPrune: Int64 = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a nonce cache holds at least one nonce")
        self.capacity = capacity
    }

    /// How many nonces are remembered now.
    var count: Int { seen.count }

    /// Whether `nonce` was seen and has not expired.
    func contains(_ nonce: Nonce, now: Int64) -> Bool {
        if let expiry = seen[nonce], expiry >= now { return true }
        return false
    }

    /// Remembers a nonce valid until `expiry`, unless it was seen before (a replay) or the cache is
    /// full of nonces that have not expired.
    func insert(_ nonce: Nonce, expiry: Int64, now: Int64) -> Outcome {
        if contains(nonce, now: now) { return .replayed }
        if now - lastPrune > 60 || (seen.count >= capacity && now != lastPrune) {
            seen = seen.filter { $0.value >= now }
            lastPrune = now
        }
        guard seen.count < capacity else { return .full }
        seen[nonce] = expiry
        return .remembered
    }
}
