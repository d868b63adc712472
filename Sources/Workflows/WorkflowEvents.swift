import Catalog
import Foundation

/// What a workflow reports while it runs, for whoever runs it: the CLI draws progress lines and
/// writes warnings to standard error; tests collect warnings or ignore everything (`.silent`).
/// A workflow never prints.
public final class WorkflowEvents: @unchecked Sendable {
    /// `(label, done, total, elapsed seconds, unit)`: a long loop advanced (e.g. "evaluate", 3, 40, 1.2, "instances").
    public var progress: (String, Int, Int, Double, String) -> Void
    /// The loop of this label is over (a progress line ends).
    public var progressFinished: (String) -> Void
    /// A problem that does not stop the workflow, as one sentence naming the file, line or option.
    public var warning: (String) -> Void
    /// Training's per-epoch log text (already formatted, newlines included).
    public var log: ((String) -> Void)?
    /// True when `log` goes to a terminal (training redraws its batch line in place).
    public var logIsTerminal: Bool

    public init(progress: @escaping (String, Int, Int, Double, String) -> Void = { _, _, _, _, _ in },
                progressFinished: @escaping (String) -> Void = { _ in },
                warning: @escaping (String) -> Void = { _ in },
                log: ((String) -> Void)? = nil, logIsTerminal: Bool = false) {
        self.progress = progress
        self.progressFinished = progressFinished
        self.warning = warning
        self.log = log
        self.logIsTerminal = logIsTerminal
    }

    /// Reports nothing.
    public static var silent: WorkflowEvents { WorkflowEvents() }

    /// A progress callback `(done, total)` for the loop `label`, timed from now.
    func progress(_ label: String, unit: String) -> @Sendable (Int, Int) -> Void {
        let start = Date()
        return { [self] done, total in self.progress(label, done, total, Date().timeIntervalSince(start), unit) }
    }
}

/// Why a workflow stopped, in one sentence a user can act on.
public enum WorkflowError: Error, CustomStringConvertible, Equatable {
    /// An input named on the command line is unusable (a missing catalog, an option that
    /// contradicts the run): the CLI shows it with the usage text.
    case invalidInput(String)
    /// The work itself failed (bad rows, an unreadable run, nothing to do).
    case failed(String)

    public var description: String {
        switch self {
        case .invalidInput(let message), .failed(let message): return message
        }
    }
}

/// Opens a catalog that must already exist (reading workflows never create an empty one).
public func openExistingCatalog(_ path: String) throws -> Catalog {
    guard FileManager.default.fileExists(atPath: path) else {
        throw WorkflowError.invalidInput("\(path): no such catalog; create one with `sonokit ingest DIR --catalog \(path)`")
    }
    return try Catalog(path: path)
}
