/// The fuzzer's bytes read as decisions, so that every input is a well-framed commit or request
/// whose fields the fuzzer chooses: structure-aware fuzzing. Past the end of the input every
/// decision reads zeros, so any byte string is a valid input.
///
/// Each decision takes a fixed number of bytes (`FuzzScript` writes them the same way, for seeds):
/// `pick` one byte, `u64` eight bytes big-endian, `number` one byte (an index into `extremes`, or
/// past it eight more bytes of a raw value), `bytes` one byte of length and then the bytes.
public struct FuzzInput {
    let bytes: [UInt8]
    var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The values at the edges of every integer type a field is read or stored as.
    public static let extremes: [UInt64] = [
        0, 1, 2, 3, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 53, (1 << 63) - 1, 1 << 63, (1 << 63) + 1, .max - 1, .max,
        1_000_000, 300,
    ]

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// One of `count` choices.
    mutating func pick(_ count: Int) -> Int { Int(byte()) % max(count, 1) }

    mutating func pick<T>(_ options: [T]) -> T { options[pick(options.count)] }

    mutating func flag() -> Bool { byte() & 1 == 1 }

    mutating func u64() -> UInt64 { (0..<8).reduce(UInt64(0)) { value, _ in value << 8 | UInt64(byte()) } }

    /// An extreme value most of the time, else any value.
    mutating func number() -> UInt64 {
        let index = Int(byte())
        return index < Self.extremes.count ? Self.extremes[index] : u64()
    }

    /// A number near `base`: the base, one past it, an extreme, or any value.
    mutating func number(near base: UInt64) -> UInt64 {
        switch pick(4) {
        case 0: base
        case 1: base &+ 1
        case 2: base &+ UInt64(byte())
        default: number()
        }
    }

    /// Up to `limit` bytes.
    mutating func bytes(upTo limit: Int) -> [UInt8] {
        let count = min(Int(byte()), limit)
        return (0..<count).map { _ in byte() }
    }

    /// A text: one of the interesting ones, or bytes (which may not be UTF-8).
    mutating func text(_ interesting: [String]) -> String {
        let index = pick(interesting.count + 1)
        if index < interesting.count { return interesting[index] }
        return String(decoding: bytes(upTo: 64), as: UTF8.self)
    }
}

/// Writes the bytes `FuzzInput` reads as the given decisions: how the review's inputs become seeds
/// of the corpus. A class, so that decisions chain (`script.pick(0).number(1)`).
public final class FuzzScript {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    @discardableResult
    public func pick(_ index: Int) -> Self {
        bytes.append(UInt8(index))
        return self
    }

    @discardableResult
    public func u64(_ value: UInt64) -> Self {
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
        return self
    }

    /// `FuzzInput.number()` reading `value`: its index among the extremes, or a raw value.
    @discardableResult
    public func number(_ value: UInt64) -> Self {
        if let index = FuzzInput.extremes.firstIndex(of: value) { return pick(index) }
        pick(255)
        return u64(value)
    }

    @discardableResult
    public func raw(_ more: [UInt8]) -> Self {
        bytes += more
        return self
    }
}
