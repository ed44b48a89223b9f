/// A QR code (ISO/IEC 18004) of a short text, drawn as SVG on the server: byte mode, error
/// correction level M, the smallest of versions 1 to 10 that holds it (up to 213 bytes), the mask
/// with the lowest penalty. Enough for an enrollment command; nothing is fetched from elsewhere.
enum QRCode {
    struct Failure: Error {}

    /// Per version (1…10) at level M: error-correction codewords per block, and the blocks as
    /// (count, data codewords).
    static let blocks: [(ec: Int, groups: [(count: Int, data: Int)])] = [
        (10, [(1, 16)]), (16, [(1, 28)]), (26, [(1, 44)]), (18, [(2, 32)]), (24, [(2, 43)]), (16, [(4, 27)]),
        (18, [(4, 31)]), (22, [(2, 38), (2, 39)]), (22, [(3, 36), (2, 37)]), (26, [(4, 43), (1, 44)]),
    ]

    /// The centres of the alignment patterns per version.
    static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
    ]

    /// The version information of versions 7 to 10 (18 bits, BCH-coded).
    static let versionBits: [Int: Int] = [7: 0x07C94, 8: 0x085BC, 9: 0x09A99, 10: 0x0A4D3]

    /// The modules of `text`'s code, row by row (true is dark), without the quiet zone.
    static func modules(for text: String) throws -> [[Bool]] {
        let bytes = Array(text.utf8)
        guard
            let version = (1...10).first(where: { version in
                let capacity = blocks[version - 1].groups.reduce(0) { $0 + $1.count * $1.data } * 8
                return 4 + (version < 10 ? 8 : 16) + bytes.count * 8 <= capacity
            })
        else { throw Failure() }
        let codewords = interleaved(data(bytes, version: version), version: version)
        var best: (penalty: Int, matrix: [[Bool]])?
        for mask in 0..<8 {
            var symbol = Symbol(version: version)
            symbol.place(codewords, mask: mask)
            let penalty = symbol.penalty()
            if best == nil || penalty < best!.penalty { best = (penalty, symbol.dark) }
        }
        return best!.matrix
    }

    /// An SVG of the code with a quiet zone of four modules, `scale` pixels a module.
    static func svg(for text: String, scale: Int = 4) throws -> String {
        let matrix = try modules(for: text)
        let size = matrix.count + 8
        var path = ""
        for (y, row) in matrix.enumerated() {
            for (x, dark) in row.enumerated() where dark { path += "M\(x + 4) \(y + 4)h1v1h-1z" }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="二维码" width="\(size * scale)" height="\(size * scale)" viewBox="0 0 \(size) \(size)" shape-rendering="crispEdges"><rect width="\(size)" height="\(size)" fill="#fff"/><path d="\(path)" fill="#000"/></svg>
            """
    }

    /// The data codewords: mode, count, bytes, terminator, padding.
    static func data(_ bytes: [UInt8], version: Int) -> [UInt8] {
        let capacity = blocks[version - 1].groups.reduce(0) { $0 + $1.count * $1.data }
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        append(0, min(4, capacity * 8 - bits.count))
        while bits.count % 8 != 0 { bits.append(false) }
        var out = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while out.count < capacity {
            out.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return out
    }

    /// The data split in blocks, each with its Reed–Solomon codewords, interleaved.
    static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] {
        let layout = blocks[version - 1]
        var dataBlocks: [[UInt8]] = []
        var start = 0
        for group in layout.groups {
            for _ in 0..<group.count {
                dataBlocks.append(Array(data[start..<start + group.data]))
                start += group.data
            }
        }
        let ecBlocks = dataBlocks.map { ReedSolomon.remainder($0, degree: layout.ec) }
        var out: [UInt8] = []
        for index in 0..<(dataBlocks.map(\.count).max() ?? 0) {
            for block in dataBlocks where index < block.count { out.append(block[index]) }
        }
        for index in 0..<layout.ec {
            for block in ecBlocks { out.append(block[index]) }
        }
        return out
    }

    /// The symbol being drawn: its modules, and which are function patterns.
    struct Symbol {
        let version: Int
        let size: Int
        var dark: [[Bool]]
        var reserved: [[Bool]]

        init(version: Int) {
            self.version = version
            size = 17 + 4 * version
            dark = Array(repeating: Array(repeating: false, count: size), count: size)
            reserved = dark
            drawFunctionPatterns()
        }

        mutating func set(_ x: Int, _ y: Int, _ value: Bool) {
            dark[y][x] = value
            reserved[y][x] = true
        }

        mutating func drawFunctionPatterns() {
            for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
                for dy in -4...4 {
                    for dx in -4...4 {
                        let (x, y) = (cx + dx, cy + dy)
                        guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                        let distance = max(abs(dx), abs(dy))
                        set(x, y, distance != 2 && distance != 4)
                    }
                }
            }
            for index in 8..<(size - 8) {
                set(index, 6, index % 2 == 0)
                set(6, index, index % 2 == 0)
            }
            let centres = QRCode.alignment[version - 1]
            for cy in centres {
                for cx in centres {
                    // Not over the finder patterns.
                    if (cx == 6 && cy == 6) || (cx == 6 && cy == centres.last!) || (cx == centres.last! && cy == 6) {
                        continue
                    }
                    for dy in -2...2 {
                        for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1) }
                    }
                }
            }
            // The format areas (filled in by `drawFormat`) and the dark module.
            drawFormat(mask: 0)
            set(8, size - 8, true)
            if let bits = QRCode.versionBits[version] {
                for index in 0..<18 {
                    let bit = (bits >> index) & 1 == 1
                    set(size - 11 + index % 3, index / 3, bit)
                    set(index / 3, size - 11 + index % 3, bit)
                }
            }
        }

        /// The 15 format bits (level M, `mask`), BCH-coded and masked, in both places.
        mutating func drawFormat(mask: Int) {
            let data = (0b00 << 3) | mask
            var remainder = data
            for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
            let bits = ((data << 10) | remainder) ^ 0x5412
            func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
            for index in 0...5 { set(8, index, bit(index)) }
            set(8, 7, bit(6))
            set(8, 8, bit(7))
            set(7, 8, bit(8))
            for index in 9..<15 { set(14 - index, 8, bit(index)) }
            for index in 0..<8 { set(size - 1 - index, 8, bit(index)) }
            for index in 8..<15 { set(8, size - 15 + index, bit(index)) }
        }

        /// The codewords in the zigzag of two-module columns from the bottom right, masked.
        mutating func place(_ codewords: [UInt8], mask: Int) {
            var index = 0
            let total = codewords.count * 8
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                for vertical in 0..<size {
                    for column in 0..<2 {
                        let x = right - column
                        let upward = ((right + 1) & 2) == 0
                        let y = upward ? size - 1 - vertical : vertical
                        guard !reserved[y][x] else { continue }
                        var value = false
                        if index < total { value = (codewords[index >> 3] >> (7 - UInt8(index & 7))) & 1 == 1 }
                        index += 1
                        if Self.masked(mask, x, y) { value.toggle() }
                        dark[y][x] = value
                    }
                }
                right -= 2
            }
            drawFormat(mask: mask)
        }

        static func masked(_ mask: Int, _ x: Int, _ y: Int) -> Bool {
            switch mask {
            case 0: (x + y) % 2 == 0
            case 1: y % 2 == 0
            case 2: x % 3 == 0
            case 3: (x + y) % 3 == 0
            case 4: (x / 3 + y / 2) % 2 == 0
            case 5: x * y % 2 + x * y % 3 == 0
            case 6: (x * y % 2 + x * y % 3) % 2 == 0
            default: ((x + y) % 2 + x * y % 3) % 2 == 0
            }
        }

        /// The standard's penalty of the symbol: runs, 2×2 blocks, finder-like patterns, balance.
        func penalty() -> Int {
            var score = 0
            for line in 0..<size {
                for vertical in [false, true] {
                    var run = 1
                    var history: [Bool] = []
                    for index in 0..<size {
                        let value = vertical ? dark[index][line] : dark[line][index]
                        history.append(value)
                        if index > 0 {
                            let previous = vertical ? dark[index - 1][line] : dark[line][index - 1]
                            if value == previous {
                                run += 1
                                if run == 5 { score += 3 } else if run > 5 { score += 1 }
                            } else {
                                run = 1
                            }
                        }
                    }
                    let pattern: [Bool] = [true, false, true, true, true, false, true]
                    for start in 0...(size - 7) where Array(history[start..<start + 7]) == pattern {
                        let before = start >= 4 && !history[(start - 4)..<start].contains(true)
                        let after = start + 11 <= size && !history[(start + 7)..<(start + 11)].contains(true)
                        if before || after { score += 40 }
                    }
                }
            }
            for y in 0..<(size - 1) {
                for x in 0..<(size - 1) {
                    let value = dark[y][x]
                    if value == dark[y][x + 1] && value == dark[y + 1][x] && value == dark[y + 1][x + 1] { score += 3 }
                }
            }
            let darkCount = dark.reduce(0) { $0 + $1.filter { $0 }.count }
            let percent = darkCount * 100 / (size * size)
            score += abs(percent - 50) / 5 * 10
            return score
        }
    }
}

/// Reed–Solomon over GF(256) with the QR code's polynomial (x⁸ + x⁴ + x³ + x² + 1).
enum ReedSolomon {
    static let (exp, log): ([UInt8], [Int]) = {
        var exp = [UInt8](repeating: 0, count: 512)
        var log = [Int](repeating: 0, count: 256)
        var value = 1
        for index in 0..<255 {
            exp[index] = UInt8(value)
            log[value] = index
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        for index in 255..<512 { exp[index] = exp[index - 255] }
        return (exp, log)
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        a == 0 || b == 0 ? 0 : exp[log[Int(a)] + log[Int(b)]]
    }

    /// The generator polynomial of `degree`, highest coefficient first (without the leading 1).
    static func generator(_ degree: Int) -> [UInt8] {
        var polynomial: [UInt8] = [1]
        for index in 0..<degree {
            var next = [UInt8](repeating: 0, count: polynomial.count + 1)
            for (position, coefficient) in polynomial.enumerated() {
                next[position] ^= coefficient
                next[position + 1] ^= multiply(coefficient, exp[index])
            }
            polynomial = next
        }
        return Array(polynomial.dropFirst())
    }

    /// The `degree` error-correction codewords of `data`.
    static func remainder(_ data: [UInt8], degree: Int) -> [UInt8] {
        let generator = generator(degree)
        var remainder = [UInt8](repeating: 0, count: degree)
        for byte in data {
            let factor = byte ^ remainder[0]
            remainder.removeFirst()
            remainder.append(0)
            for index in 0..<degree { remainder[index] ^= multiply(generator[index], factor) }
        }
        return remainder
    }
}
