import Foundation

/// A one-line progress display on standard error, redrawn in place on a terminal (files/s, ETA)
/// and silent when standard error is not a terminal (logs stay clean).
public final class ProgressLine {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastDraw = 0.0
    private let label: String

    public init(_ label: String) { self.label = label }

    /// Draws "label done/total  rate unit/s  ETA"; at most ten times a second.
    public func update(done: Int, total: Int, elapsed: Double, unit: String = "files") {
        guard isTerminal, done == total || elapsed - lastDraw >= 0.1 else { return }
        lastDraw = elapsed
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = done > 0 && done < total ? "  ETA \(Self.duration(elapsed / Double(done) * Double(total - done)))" : ""
        let line = "\(label) \(done)/\(total)  \(String(format: "%.1f", rate)) \(unit)/s\(eta)"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Ends the line (on a terminal).
    public func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
