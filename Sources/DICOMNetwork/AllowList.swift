import Foundation

/// `--allow CALLING_AE@HOST`: the callers a listener accepts. An association is accepted when its
/// calling AE title equals an entry's title (after dropping insignificant spaces, case-sensitive as
/// PS3.5 AE values are) and its peer address is one of the entry's host's addresses. The host is an
/// IP address or a name, resolved once when the list is made (getaddrinfo: /etc/hosts, DNS), so a
/// name that later moves to another address needs a restart.
public struct AllowList: Sendable, Equatable {
    public struct Entry: Sendable, Equatable, CustomStringConvertible {
        public var aeTitle: String
        public var host: String
        /// The addresses of `host` (numeric, as DCMTK reports a peer's address).
        public var addresses: Set<String>
        public var description: String { "\(aeTitle)@\(host)" }
    }

    public var entries: [Entry]

    /// Parses and resolves `AE@HOST` texts; throws naming the text that cannot be an entry.
    public init(parsing texts: [String]) throws {
        entries = try texts.map { text in
            guard let at = text.lastIndex(of: "@") else {
                throw DicomNetworkError.invalidPeer(text, reason: "expected CALLING_AE@HOST, e.g. SCANNER1@10.0.0.7")
            }
            var host = String(text[text.index(after: at)...])
            if host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2 { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw DicomNetworkError.invalidPeer(text, reason: "the host is empty") }
            let title: String
            do { title = try DicomPeer.validAETitle(String(text[..<at])) } catch DicomNetworkError.invalidPeer(_, let reason) {
                throw DicomNetworkError.invalidPeer(text, reason: reason)
            }
            let addresses = Self.resolve(host)
            guard !addresses.isEmpty else { throw DicomNetworkError.invalidPeer(text, reason: "the host \"\(host)\" has no address (not an IP, not resolvable)") }
            return Entry(aeTitle: title, host: host, addresses: addresses)
        }
    }

    /// Why `callingAE` from `peerIP` is refused, or nil when an entry allows it.
    public func refusal(callingAE: String, peerIP: String) -> String? {
        let title = callingAE.trimmingCharacters(in: .init(charactersIn: " "))
        let sameTitle = entries.filter { $0.aeTitle == title }
        if sameTitle.isEmpty { return "calling AE title not on the allow-list" }
        let ip = Self.normalise(peerIP)
        if sameTitle.contains(where: { $0.addresses.contains(ip) }) { return nil }
        return "calling AE title allowed only from \(sameTitle.map(\.host).joined(separator: ", ")), not from this address"
    }

    /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 form.
    static func normalise(_ ip: String) -> String {
        ip.hasPrefix("::ffff:") && ip.contains(".") ? String(ip.dropFirst(7)) : ip
    }

    /// Every numeric address of `host` (itself when it is numeric).
    static func resolve(_ host: String) -> Set<String> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: Set<String> = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.insert(normalise(String(cString: buffer)))
            }
            node = current.pointee.ai_next
        }
        return addresses
    }
}
