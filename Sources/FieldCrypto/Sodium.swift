import CSodium

/// The one place that initialises libsodium.
///
/// `sodium_init()` is idempotent and thread-safe; calling it through a lazily initialised global
/// makes every entry point of this module safe to use first.
enum Sodium {
    private static let initialized: Bool = sodium_init() >= 0

    /// Traps if libsodium cannot initialise (no entropy source): nothing in this module can work then.
    static func ensureInitialized() {
        precondition(initialized, "libsodium failed to initialise (sodium_init < 0)")
    }

    /// Fills a buffer of `count` bytes from the operating system's secure random source.
    static func randomBytes(_ count: Int) -> [UInt8] {
        ensureInitialized()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return out
    }
}

/// Secure random bytes from libsodium.
public func secureRandomBytes(_ count: Int) -> [UInt8] {
    Sodium.randomBytes(count)
}
