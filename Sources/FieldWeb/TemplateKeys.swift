import Foundation

/// The names a Mustache template looks up, resolved as Mustache does: against the stack of section
/// contexts, innermost first. A section over a list enters its first element; over a value that is
/// not a list or a Bool, that value.
package enum TemplateKeys {
    package static func unknown(in template: String, model: Any) -> [String] {
        var stack: [Any] = [model]
        var missing: [String] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            let triple = rest.hasPrefix("{")
            guard let close = rest.range(of: triple ? "}}}" : "}}") else { break }
            var tag = rest[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            rest = rest[close.upperBound...]
            if triple { tag.removeFirst() }
            let sigil = tag.first.map(String.init) ?? ""
            if ["#", "^", "/", "!", "&"].contains(sigil) {
                tag = String(tag.dropFirst()).trimmingCharacters(in: .whitespaces)
            }
            if sigil == "!" { continue }
            if sigil == "/" {
                stack.removeLast()
                continue
            }
            if tag == "." {
                if sigil == "#" || sigil == "^" { stack.append(stack.last!) }
                continue
            }
            let value = stack.reversed().lazy.compactMap { child(tag, of: $0) }.first
            if value == nil { missing.append(tag) }
            if sigil == "#" || sigil == "^" { stack.append(value.map(context) ?? stack.last!) }
        }
        return missing
    }

    /// The value of `name` in `object` (unwrapped), or nil when it has no such key.
    static func child(_ name: String, of object: Any) -> Any? {
        for case (let label?, let value) in Mirror(reflecting: object).children where label == name {
            return unwrapped(value) ?? "nil"
        }
        return nil
    }

    static func unwrapped(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first.map { unwrapped($0.value) } ?? nil
    }

    /// The context a section over `value` enters.
    static func context(_ value: Any) -> Any {
        if let list = value as? [Any] { return list.first ?? value }
        return value
    }
}
