#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A DCMTK network tool (storescp) running in the background on a free loopback port, as the
/// independent peer of a test. It runs under coreutils' `timeout`, so a test that forgets it, or
/// a tool that hangs, cannot outlive its deadline; `stop()` ends it earlier (SIGTERM to its group).
public final class ReferencePeer {
    public let port: UInt16
    let process = Process()
    private let log: URL

    /// Starts `tool arguments... PORT` (the port is appended) and waits until it accepts TCP
    /// connections (at most 20 s).
    public init(_ tool: String, _ arguments: [String], deadline: Int = 300) throws {
        port = try Self.freePort()
        log = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-peer-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "TERM", "-k", "2", "\(deadline)", tool] + arguments + ["\(port)"]
        process.standardOutput = handle
        process.standardError = handle
        // Whatever the tool writes without an output folder (storescp's default is the current
        // one) lands in the temporary folder, never in the repository.
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        try process.run()
        let start = Date()
        while !Self.accepts(port) {
            guard process.isRunning else { throw Failure("\(tool) exited: \(output)") }
            guard Date().timeIntervalSince(start) < 20 else { stop(); throw Failure("\(tool) did not listen on \(port) within 20 s: \(output)") }
            usleep(20_000)
        }
    }

    deinit { stop() }

    /// What the tool wrote so far.
    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: log)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// A TCP port that was free a moment ago (bound to port 0 on loopback, then closed): tests
    /// running in parallel each get their own.
    public static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure("cannot bind a loopback port") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// The parts of a DICOM Part 10 file a test compares, read here without DCMTK: the SOP Instance
/// UID and transfer syntax from the file meta information (group 0002, always explicit VR little
/// endian, PS3.10 §7.1) and the bytes of the dataset after it.
public struct Part10 {
    public let sopInstanceUID: String
    public let transferSyntax: String
    public let dataset: Data

    public init(_ url: URL) throws {
        let data = try Data(contentsOf: url)
        guard data.count >= 132, data[128..<132] == Data("DICM".utf8) else { throw ReferencePeer.Failure("\(url.path): no DICM prefix") }
        var offset = 132, values: [UInt32: String] = [:]
        func u16(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        while offset + 8 <= data.count, u16(offset) == 0x0002 {
            let tag = UInt32(u16(offset)) << 16 | UInt32(u16(offset + 2))
            let vr = String(decoding: data[(offset + 4)..<(offset + 6)], as: UTF8.self)
            let long = ["OB", "OW", "OF", "SQ", "UT", "UN"].contains(vr)
            let length = long ? u32(offset + 8) : u16(offset + 6)
            let start = offset + (long ? 12 : 8)
            guard start + length <= data.count else { throw ReferencePeer.Failure("\(url.path): truncated meta element") }
            values[tag] = String(decoding: data[start..<(start + length)], as: UTF8.self)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\0 "))
            offset = start + length
        }
        sopInstanceUID = values[0x0002_0003] ?? ""
        transferSyntax = values[0x0002_0010] ?? ""
        dataset = data.subdata(in: offset..<data.count)
    }
}

/// An association configuration for `storescu -xf FILE Push` proposing each (SOP class, transfer
/// syntax of SampleStudies) pair in its own presentation context, so that every file goes in its
/// own transfer syntax in one association (storescu's own proposal has one context per SOP class,
/// and its -x options propose one compressed syntax at most: it would try to convert the others).
public enum StorescuConfiguration {
    /// The ultrasound image storage classes, as DCMTK names them.
    public static let ultrasound = ["UltrasoundImageStorage", "UltrasoundMultiframeImageStorage"]

    /// Writes the configuration for `sopClasses` into `folder` and returns storescu's arguments for it.
    public static func arguments(sopClasses: [String] = ultrasound, writingInto folder: URL) throws -> [String] {
        let syntaxes = StorescpConfiguration.transferSyntaxes
        var text = "[[TransferSyntaxes]]\n"
        for (index, syntax) in syntaxes.enumerated() { text += "[TS\(index)]\nTransferSyntax1 = \(syntax)\n" }
        text += "[[PresentationContexts]]\n[PushContexts]\n"
        var number = 0
        for sopClass in sopClasses {
            for index in syntaxes.indices { number += 1; text += "PresentationContext\(number) = \(sopClass)\\TS\(index)\n" }
        }
        text += "[[Profiles]]\n[Push]\nPresentationContexts = PushContexts\n"
        let file = folder.appendingPathComponent("storescu-push.cfg")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return ["-xf", file.path, "Push"]
    }
}

/// An association configuration for `storescp -xf FILE SonoKit` accepting every transfer syntax
/// of SampleStudies (storescp's `+xa` lacks JPEG lossless process 14, selection value other
/// than 1, `.4.57`) for the ultrasound, secondary capture, SR and key object SOP classes.
public enum StorescpConfiguration {
    public static let transferSyntaxes = [
        "LittleEndianExplicit", "LittleEndianImplicit", "BigEndianExplicit", "DeflatedLittleEndianExplicit",
        "JPEGBaseline", "JPEGExtended:Process2+4", "JPEGLossless:Non-hierarchical-1stOrderPrediction",
        "JPEGLossless:Non-hierarchical:Process14", "JPEGLSLossless", "JPEGLSLossy", "RLELossless",
    ]
    public static let sopClasses = [
        "UltrasoundImageStorage", "UltrasoundMultiframeImageStorage", "SecondaryCaptureImageStorage",
        "BasicTextSRStorage", "EnhancedSRStorage", "ComprehensiveSRStorage", "KeyObjectSelectionDocumentStorage",
    ]

    /// Writes the configuration into `folder` and returns storescp's arguments for it.
    public static func arguments(writingInto folder: URL) throws -> [String] {
        var text = "[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicit\nTransferSyntax2 = LittleEndianImplicit\n[All]\n"
        for (index, syntax) in transferSyntaxes.enumerated() { text += "TransferSyntax\(index + 1) = \(syntax)\n" }
        text += "[[PresentationContexts]]\n[SonoKitContexts]\nPresentationContext1 = VerificationSOPClass\\Uncompressed\n"
        for (index, sopClass) in sopClasses.enumerated() { text += "PresentationContext\(index + 2) = \(sopClass)\\All\n" }
        text += "[[Profiles]]\n[SonoKit]\nPresentationContexts = SonoKitContexts\n"
        let file = folder.appendingPathComponent("storescp-sonokit.cfg")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return ["-xf", file.path, "SonoKit"]
    }
}
