import Foundation

/// Runs a prepared `Process` to the end and collects what it wrote. Standard output and standard
/// error are read at the same time, so a child that fills one pipe while we wait on the other
/// cannot block.
public enum ChildProcess {
    public struct Output {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    public static func run(_ process: Process) throws -> Output {
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        final class Collected: @unchecked Sendable { var data = Data() }
        let errData = Collected()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.data, as: UTF8.self))
    }
}
