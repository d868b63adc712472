import Foundation

/// A DICOM application entity on the network: its AE title, host and TCP port, written
/// `AE@HOST:PORT` on the command line (`PACS@10.0.0.5:104`, `SCP@[::1]:11112`).
///
/// AE titles follow PS3.5 §6.2 (VR AE): 1 to 16 characters of the default repertoire without
/// backslash or control characters, not only spaces; leading and trailing spaces are not
/// significant and are dropped.
public struct DicomPeer: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var aeTitle: String
    public var host: String
    public var port: UInt16

    public init(aeTitle: String, host: String, port: UInt16) throws {
        self.aeTitle = try DicomPeer.validAETitle(aeTitle)
        guard !host.isEmpty else { throw DicomNetworkError.invalidPeer("\(aeTitle)@:\(port)", reason: "the host is empty") }
        guard port > 0 else { throw DicomNetworkError.invalidPeer("\(aeTitle)@\(host):0", reason: "port 0 is not a port a peer listens on") }
        self.host = host
        self.port = port
    }

    /// Parses `AE@HOST:PORT` (an IPv6 host in brackets). The AE title is everything before the
    /// last `@`, the port everything after the last `:`.
    public init(parsing text: String) throws {
        guard let at = text.lastIndex(of: "@"), let colon = text.lastIndex(of: ":"), at < colon else {
            throw DicomNetworkError.invalidPeer(text, reason: "expected AE@HOST:PORT, e.g. PACS@10.0.0.5:104")
        }
        var host = String(text[text.index(after: at)..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2 { host = String(host.dropFirst().dropLast()) }
        let portText = String(text[text.index(after: colon)...])
        guard let port = UInt16(portText), port > 0 else {
            throw DicomNetworkError.invalidPeer(text, reason: "the port \"\(portText)\" is not a number from 1 to 65535")
        }
        do { try self.init(aeTitle: String(text[..<at]), host: host, port: port) } catch DicomNetworkError.invalidPeer(_, let reason) {
            throw DicomNetworkError.invalidPeer(text, reason: reason)
        }
    }

    public var description: String {
        "\(aeTitle)@\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// `title` without its insignificant leading and trailing spaces, or an error naming the rule it breaks.
    public static func validAETitle(_ title: String) throws -> String {
        let trimmed = title.trimmingCharacters(in: .init(charactersIn: " "))
        guard !trimmed.isEmpty else { throw DicomNetworkError.invalidPeer(title, reason: "the AE title is empty") }
        guard trimmed.utf8.count <= 16 else {
            throw DicomNetworkError.invalidPeer(title, reason: "the AE title \"\(trimmed)\" is longer than 16 characters")
        }
        guard trimmed.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F && $0 != "\\" }) else {
            throw DicomNetworkError.invalidPeer(title, reason: "the AE title \"\(trimmed)\" has a backslash, control or non-ASCII character")
        }
        return trimmed
    }
}

/// What went wrong on the network, naming the peer or file.
public enum DicomNetworkError: Error, CustomStringConvertible, Equatable {
    /// An `AE@HOST:PORT` (or AE title) that cannot name a peer.
    case invalidPeer(String, reason: String)
    /// The association could not be made, or broke (DCMTK's words: refused connection, A-ASSOCIATE-RJ, timeout).
    case association(peer: String, detail: String)
    /// A listener setting out of range (PDU size, association count), with the rule it breaks.
    case invalidSetting(String)
    /// TLS files that cannot be used (naming the file and what is wrong), before any connection.
    case tls(String)

    public var description: String {
        switch self {
        case .invalidPeer(let text, let reason): return "\(text): not a DICOM peer: \(reason)"
        case .association(let peer, let detail): return "\(peer): \(detail)"
        case .invalidSetting(let reason): return reason
        case .tls(let reason): return "TLS: \(reason)"
        }
    }
}
