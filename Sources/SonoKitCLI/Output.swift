import ArgumentParser
import Foundation
import Workflows

/// Makes standard output line-buffered, so that progress reaches a log file, a pipe or a batch
/// system's output file line by line as it happens, not in 4 KiB blocks when the buffer fills
/// (or never, when a long step is interrupted). Every executable calls it first.
public func useLineBufferedStandardOutput() {
    setvbuf(stdout, nil, _IOLBF, 0)
}

/// Writes a line to standard error (warnings and progress never mix with JSON on stdout).
public func warn(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A failure a command reports in one sentence (exit status 1, no usage text).
public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension WorkflowEvents {
    /// What every command shows while a workflow runs: progress lines on a terminal (files/s,
    /// ETA), warnings and the training log on standard error.
    public static func terminal() -> WorkflowEvents {
        final class Lines: @unchecked Sendable {
            private var lines: [String: ProgressLine] = [:]
            private let lock = NSLock()
            func line(_ label: String) -> ProgressLine {
                lock.lock()
                defer { lock.unlock() }
                if let line = lines[label] { return line }
                let line = ProgressLine(label)
                lines[label] = line
                return line
            }
            /// The line of `label`, forgotten (a later loop of the same label starts afresh).
            func finished(_ label: String) -> ProgressLine {
                let line = self.line(label)
                lock.lock()
                lines[label] = nil
                lock.unlock()
                return line
            }
        }
        let lines = Lines()
        return WorkflowEvents(progress: { label, done, total, elapsed, unit in lines.line(label).update(done: done, total: total, elapsed: elapsed, unit: unit) },
                              progressFinished: { lines.finished($0).finish() },
                              warning: warn,
                              log: { FileHandle.standardError.write(Data($0.utf8)) },
                              logIsTerminal: isatty(STDERR_FILENO) != 0)
    }
}

/// Runs a workflow step, turning its errors into what ArgumentParser shows: an invalid input with
/// the usage text (exit status 64), a failure as one sentence (exit status 1).
public func workflow<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as WorkflowError {
        switch error {
        case .invalidInput(let message): throw ValidationError(message)
        case .failed(let message): throw CommandFailure(message)
        }
    }
}
