#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs a prepared `Process` to the end and collects what it wrote. Standard output and standard
/// error are read at the same time, so a child that fills one pipe while we wait on the other
/// cannot block.
///
/// Every child has a deadline: a hung child (a browser that never exits, a tool waiting for
/// input) must fail its test, not hang the suite. At the deadline the child's process group
/// (Foundation starts each child as the leader of its own group, so this includes what it
/// started, e.g. chromium's renderers) gets SIGTERM, then SIGKILL two seconds later, and
/// `TimedOut` is thrown with what the child had written.
public enum ChildProcess {
    public struct Output {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// A child that did not finish within its deadline (it and its process group were killed).
    public struct TimedOut: Error, CustomStringConvertible {
        public let command: String
        public let seconds: TimeInterval
        public let stdout: String
        public let stderr: String
        public var description: String {
            "\(command): no exit after \(Int(seconds)) s; killed (process group). stdout: \(stdout.suffix(2000)) stderr: \(stderr.suffix(2000))"
        }
    }

    /// The deadline when none is given: longer than any test's child needs on a loaded 2-core
    /// machine (the demo's whole path), short enough that a hang ends the suite's run.
    public static let defaultTimeout: TimeInterval = 1200

    /// Runs `process` (not yet started) with `input` on its standard input (none: no stdin pipe)
    /// and returns its status and output, or throws `TimedOut` after `timeout` seconds.
    public static func run(_ process: Process, input: Data? = nil, timeout: TimeInterval = defaultTimeout) throws -> Output {
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = input.map { _ in Pipe() }
        if let stdin { process.standardInput = stdin }
        try process.run()
        final class Collected: @unchecked Sendable { var data = Data() }
        let outData = Collected(), errData = Collected()
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.data = pipe.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
        }
        if let stdin, let input {
            DispatchQueue.global().async {
                try? stdin.fileHandleForWriting.write(contentsOf: input)
                try? stdin.fileHandleForWriting.close()
            }
        }
        let deadline = DispatchTime.now() + timeout
        var finished = group.wait(timeout: deadline) == .success
        // The pipes are closed; the child may still be exiting (or have closed them and run on).
        while finished && process.isRunning {
            if DispatchTime.now() >= deadline { finished = false; break }
            usleep(2_000)
        }
        if !finished {
            let pid = process.processIdentifier
            kill(-pid, SIGTERM)
            kill(pid, SIGTERM)
            var drained = group.wait(timeout: .now() + 2) == .success
            if !drained || process.isRunning {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                drained = group.wait(timeout: .now() + 5) == .success
            }
            // A grandchild outside the group may still hold the pipes: then the readers are left
            // blocked (and their buffers unread) rather than the suite.
            let command = ([process.executableURL?.path ?? "?"] + (process.arguments ?? [])).joined(separator: " ")
            throw TimedOut(command: command, seconds: timeout,
                           stdout: drained ? String(decoding: outData.data, as: UTF8.self) : "(pipe still open)",
                           stderr: drained ? String(decoding: errData.data, as: UTF8.self) : "(pipe still open)")
        }
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: outData.data, as: UTF8.self),
                      stderr: String(decoding: errData.data, as: UTF8.self))
    }
}
