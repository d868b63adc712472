import Foundation

/// Writes a line to standard error (warnings and progress never mix with JSON on stdout).
func warn(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A failure a command reports in one sentence (exit status 1, no usage text).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
