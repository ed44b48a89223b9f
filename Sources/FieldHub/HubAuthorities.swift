import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The authorities (`host:port`) by which clients reach this server: a signed request naming any
/// other in its `@target-uri` was meant for another server and is refused (421), so a request
/// captured on its way to the hub cannot be replayed to a laptop's `fieldlog serve` (whose nonce
/// cache is its own), nor the other way round.
///
/// The server answers to the address it listens on with its port once bound (a loopback address
/// also as `127.0.0.1`, `localhost` and `[::1]`; a wildcard address, `0.0.0.0` or `::`, as every
/// address of this machine's interfaces, its host name and `localhost`), and to the configured URLs
/// (`HubConfiguration.publicURLs`: a reverse proxy in front of it, or a name in DNS).
final class HubAuthorities: Sendable {
    private let accepted = Mutex<Set<String>>([])
    private let configured: [String]
    private let host: String

    init(configured urls: [String], host: String) {
        configured = urls
        self.host = host
    }

    /// Fixes the accepted authorities once the server listens on `port`.
    func listening(on port: Int) {
        let hosts: [String]
        if ["0.0.0.0", "::", "[::]", ""].contains(host) {
            hosts = Self.interfaceAddresses() + Self.loopbackNames + [ProcessInfo.processInfo.hostName]
        } else if Self.loopbackNames.contains(host.lowercased()) || host.hasPrefix("127.") {
            hosts = Self.loopbackNames + [host]
        } else {
            hosts = [host]
        }
        let names = Set(
            configured.compactMap(Self.authority(ofURL:)) + hosts.compactMap { Self.normalize(host: $0, port: port) }
        )
        accepted.withLock { $0 = names }
    }

    /// Whether a request's `Host` names this server.
    func accepts(_ authority: String) -> Bool {
        guard let normalized = Self.normalize(authority: authority) else { return false }
        return accepted.withLock { $0.contains(normalized) }
    }

    /// Every authority accepted, sorted (for the log and the refusal's message).
    var all: [String] { accepted.withLock { $0.sorted() } }

    static let loopbackNames = ["127.0.0.1", "localhost", "::1"]

    /// `host[:port]` of an `http://` or `https://` URL, normalized; nil if it has no host.
    static func authority(ofURL text: String) -> String? {
        guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(), let host = parts.host,
            !host.isEmpty
        else {
            return nil
        }
        let port = parts.port ?? (scheme == "https" ? 443 : 80)
        return normalize(host: host, port: port)
    }

    /// A `Host` value as `host:port` with the host in lowercase, IPv6 in brackets, port 80 made explicit.
    static func normalize(authority: String) -> String? {
        guard let parts = URLComponents(string: "http://" + authority), let host = parts.host, !host.isEmpty,
            parts.path.isEmpty, parts.query == nil, parts.user == nil
        else { return nil }
        return normalize(host: host, port: parts.port ?? 80)
    }

    static func normalize(host: String, port: Int) -> String? {
        var bare = host.lowercased()
        if bare.hasPrefix("[") && bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        guard !bare.isEmpty else { return nil }
        return (bare.contains(":") ? "[\(bare)]" : bare) + ":\(port)"
    }

    /// The IPv4 and IPv6 addresses of this machine's interfaces.
    static func interfaceAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr else { continue }
            let family = Int32(address.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(address, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else {
                continue
            }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // A link-local IPv6 address carries its zone (`fe80::1%eth0`), which no Host names.
            addresses.append(String(text.split(separator: "%").first ?? ""))
        }
        return addresses
    }
}
