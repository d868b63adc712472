import Foundation

/// DCMTK's command-line tools (Debian's `dcmtk` package), the reference peers of the reader.
public enum DCMTKTools {
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Runs `tool arguments...` and returns its standard output; throws with its standard error
    /// when it exits non-zero.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The DCMTK renderer that can decode a transfer syntax: dcml2pnm for JPEG-LS, dcmj2pnm
    /// (JPEG, RLE and native) otherwise.
    public static func renderer(forTransferSyntax uid: String) -> String {
        uid.hasPrefix("1.2.840.10008.1.2.4.8") ? "dcml2pnm" : "dcmj2pnm"
    }
}
