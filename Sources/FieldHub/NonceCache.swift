/// Nonces seen within the signature window, so a captured request cannot be replayed.
actor NonceCache {
    private var seen: [String: Int64] = [:]
    private var lastPrune: Int64 = 0

    /// Records a nonce valid until `expiry`; false if it was seen before and has not expired.
    func insert(_ nonce: String, expiry: Int64, now: Int64) -> Bool {
        if now - lastPrune > 60 {
            seen = seen.filter { $0.value >= now }
            lastPrune = now
        }
        if let existing = seen[nonce], existing >= now { return false }
        seen[nonce] = expiry
        return true
    }
}
