import Foundation

/// The parts of RFC 8941 Structured Field Values that HTTP message signatures use: items
/// (integers, strings, tokens, byte sequences, booleans), parameters, inner lists and dictionaries.
public enum StructuredField {
    /// A bare item.
    public enum Item: Hashable, Sendable {
        case integer(Int64)
        case string(String)
        case token(String)
        case bytes([UInt8])
        case boolean(Bool)
    }

    /// Parameters, in order.
    public typealias Parameters = [(key: String, value: Item)]

    /// A member of a dictionary or list: an item or an inner list, with parameters.
    public enum Member {
        case item(Item, Parameters)
        case innerList([(Item, Parameters)], Parameters)
    }

    // MARK: Serialization

    /// Serializes a bare item.
    public static func serialize(_ item: Item) -> String {
        switch item {
        case .integer(let value): return String(value)
        case .string(let value):
            var out = "\""
            for char in value {
                if char == "\"" || char == "\\" { out.append("\\") }
                out.append(char)
            }
            return out + "\""
        case .token(let value): return value
        case .bytes(let value): return ":" + Data(value).base64EncodedString() + ":"
        case .boolean(let value): return value ? "?1" : "?0"
        }
    }

    /// Serializes parameters (`;key=value`, or `;key` for true).
    public static func serialize(_ parameters: Parameters) -> String {
        parameters.map { key, value in
            if case .boolean(true) = value { return ";" + key }
            return ";" + key + "=" + serialize(value)
        }.joined()
    }

    /// Serializes a dictionary member's value: an item or an inner list, with its parameters.
    public static func serialize(_ member: Member) -> String {
        switch member {
        case .item(let item, let parameters): serialize(item) + serialize(parameters)
        case .innerList(let items, let parameters): serializeInnerList(items, parameters)
        }
    }

    /// Serializes an inner list with its parameters.
    public static func serializeInnerList(_ items: [(Item, Parameters)], _ parameters: Parameters) -> String {
        "(" + items.map { serialize($0.0) + serialize($0.1) }.joined(separator: " ") + ")" + serialize(parameters)
    }

    // MARK: Parsing

    /// A parse failure, with where it happened.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    /// Parses a dictionary (RFC 8941 §4.2.2), keeping member order.
    public static func parseDictionary(_ text: String) throws(ParseError) -> [(key: String, value: Member)] {
        var parser = Parser(Array(text.utf8))
        parser.skipSpaces()
        var members: [(key: String, value: Member)] = []
        if parser.atEnd { return members }
        while true {
            let key = try parser.key()
            let member: Member
            if parser.peek == UInt8(ascii: "=") {
                parser.advance()
                member = try parser.member()
            } else {
                member = .item(.boolean(true), try parser.parameters())
            }
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].value = member
            } else {
                members.append((key, member))
            }
            parser.skipWhitespace()
            if parser.atEnd { return members }
            guard parser.peek == UInt8(ascii: ",") else { throw parser.fail("expected ',' between dictionary members") }
            parser.advance()
            parser.skipWhitespace()
            if parser.atEnd { throw parser.fail("a dictionary ends with ','") }
        }
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }
        mutating func advance() { index += 1 }

        func fail(_ message: String) -> ParseError { ParseError(message: "\(message) at byte \(index)") }

        mutating func skipSpaces() { while peek == 0x20 { advance() } }
        mutating func skipWhitespace() { while peek == 0x20 || peek == 0x09 { advance() } }

        mutating func key() throws(ParseError) -> String {
            guard let first = peek, (first >= 0x61 && first <= 0x7A) || first == UInt8(ascii: "*") else {
                throw fail("a key starts with a lowercase letter or '*'")
            }
            var out = ""
            while let char = peek,
                (char >= 0x61 && char <= 0x7A) || (char >= 0x30 && char <= 0x39) || "_-.*".utf8.contains(char)
            {
                out.unicodeScalars.append(Unicode.Scalar(char))
                advance()
            }
            return out
        }

        mutating func member() throws(ParseError) -> Member {
            if peek == UInt8(ascii: "(") {
                advance()
                var items: [(Item, Parameters)] = []
                while true {
                    skipSpaces()
                    if peek == UInt8(ascii: ")") {
                        advance()
                        return .innerList(items, try parameters())
                    }
                    let item = try bareItem()
                    items.append((item, try parameters()))
                    guard peek == 0x20 || peek == UInt8(ascii: ")") else {
                        throw fail("expected ' ' or ')' in an inner list")
                    }
                }
            }
            let item = try bareItem()
            return .item(item, try parameters())
        }

        mutating func parameters() throws(ParseError) -> Parameters {
            var out: Parameters = []
            while peek == UInt8(ascii: ";") {
                advance()
                skipSpaces()
                let key = try key()
                var value = Item.boolean(true)
                if peek == UInt8(ascii: "=") {
                    advance()
                    value = try bareItem()
                }
                if let existing = out.firstIndex(where: { $0.key == key }) {
                    out[existing].value = value
                } else {
                    out.append((key, value))
                }
            }
            return out
        }

        mutating func bareItem() throws(ParseError) -> Item {
            guard let char = peek else { throw fail("expected an item") }
            switch char {
            case UInt8(ascii: "-"), 0x30...0x39: return try integer()
            case UInt8(ascii: "\""): return try string()
            case UInt8(ascii: ":"): return try byteSequence()
            case UInt8(ascii: "?"):
                advance()
                guard let value = peek, value == 0x30 || value == 0x31 else { throw fail("a boolean is ?0 or ?1") }
                advance()
                return .boolean(value == 0x31)
            case UInt8(ascii: "*"), 0x41...0x5A, 0x61...0x7A: return token()
            default: throw fail("unexpected character in an item")
            }
        }

        mutating func integer() throws(ParseError) -> Item {
            var negative = false
            if peek == UInt8(ascii: "-") {
                negative = true
                advance()
            }
            var digits = 0
            var value: Int64 = 0
            while let char = peek, char >= 0x30 && char <= 0x39 {
                digits += 1
                guard digits <= 15 else { throw fail("an integer has at most 15 digits") }
                value = value * 10 + Int64(char - 0x30)
                advance()
            }
            guard digits > 0 else { throw fail("expected digits") }
            if peek == UInt8(ascii: ".") { throw fail("decimals are not used here") }
            return .integer(negative ? -value : value)
        }

        mutating func string() throws(ParseError) -> Item {
            advance()
            var out: [UInt8] = []
            while let char = peek {
                advance()
                if char == UInt8(ascii: "\\") {
                    guard let next = peek, next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") else {
                        throw fail("bad escape in a string")
                    }
                    out.append(next)
                    advance()
                } else if char == UInt8(ascii: "\"") {
                    return .string(String(decoding: out, as: UTF8.self))
                } else if char < 0x20 || char > 0x7E {
                    throw fail("a string holds printable ASCII only")
                } else {
                    out.append(char)
                }
            }
            throw fail("a string is not closed")
        }

        mutating func token() -> Item {
            // tchar (RFC 9110), plus ':' and '/'.
            let extra = Set("!#$%&'*+-.^_`|~:/".utf8)
            var out = ""
            while let char = peek,
                (char >= 0x30 && char <= 0x39) || (char >= 0x41 && char <= 0x5A) || (char >= 0x61 && char <= 0x7A)
                    || extra.contains(char)
            {
                out.unicodeScalars.append(Unicode.Scalar(char))
                advance()
            }
            return .token(out)
        }

        mutating func byteSequence() throws(ParseError) -> Item {
            advance()
            let start = index
            while let char = peek, char != UInt8(ascii: ":") {
                let isBase64 =
                    (char >= 0x41 && char <= 0x5A) || (char >= 0x61 && char <= 0x7A) || (char >= 0x30 && char <= 0x39)
                    || char == UInt8(ascii: "+") || char == UInt8(ascii: "/") || char == UInt8(ascii: "=")
                guard isBase64 else { throw fail("a byte sequence holds base64 only") }
                advance()
            }
            guard peek == UInt8(ascii: ":") else { throw fail("a byte sequence is not closed") }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            advance()
            guard let data = Data(base64Encoded: text) else { throw fail("bad base64 in a byte sequence") }
            return .bytes([UInt8](data))
        }
    }
}
