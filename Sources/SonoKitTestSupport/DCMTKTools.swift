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
        let output = try ChildProcess.run(process, timeout: 300)
        guard output.status == 0 else {
            throw Failure(description: "\(tool) \(arguments.joined(separator: " ")): \(output.stderr)")
        }
        return output.stdout
    }

    /// What dicom3tools' `dciodvfy` (the IOD validator; Debian package `dicom3tools`, installed by
    /// scripts/setup.sh) says about the file: its standard error and output together, one message
    /// per line ("Error - ...", "Warning - ..."). dciodvfy exits non-zero for files with errors,
    /// so the status is not used: callers look for lines starting with "Error".
    public static func dciodvfy(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["dciodvfy", "-new", path]
        let output = try ChildProcess.run(process, timeout: 120)
        return output.stderr + output.stdout
    }

    /// The DCMTK renderer that can decode a transfer syntax: dcml2pnm for JPEG-LS, dcmj2pnm
    /// (JPEG, RLE and native) otherwise.
    public static func renderer(forTransferSyntax uid: String) -> String {
        uid.hasPrefix("1.2.840.10008.1.2.4.8") ? "dcml2pnm" : "dcmj2pnm"
    }
}
