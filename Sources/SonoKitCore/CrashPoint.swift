#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The test hook that proves crash safety at every commit point rather than at a sampled moment
/// (as SQLite proves its own by failing at every write).
///
/// Every place where a run makes something durable calls `reached(_:)` just before doing it:
/// `AtomicFile.replace` (every output file, checkpoint, model card, cache entry, report) before its
/// rename, and the catalog before each SQLite transaction commits. When the environment variable
/// `SONOKIT_CRASH_AT` holds a positive integer N, the Nth call in the process writes
/// `sonokit: crash point N (label)` to stderr and kills the process with SIGKILL, which is what
/// `kill -9` or a power cut would do at that moment: the Nth durable step has not happened, steps
/// 1...N-1 have, and nothing runs afterwards (no cleanup, no `defer`, no buffered output).
/// Killing between the Nth step and the next point is the same state as killing at point N+1,
/// so iterating N = 1, 2, ... until a run finishes visits every distinct state a crash can leave.
///
/// Unset (every real run), `reached` compares one constant read at start-up and returns; the
/// counter is only touched when a target is set.
public enum CrashPoint {
    /// The environment variable that arms the hook.
    public static let variable = "SONOKIT_CRASH_AT"

    /// The call to die at, read once from the environment; nil when unset, empty, or not a positive integer.
    public static let target: Int? = {
        guard let raw = getenv(variable), let n = Int(String(cString: raw)), n > 0 else { return nil }
        return n
    }()

    /// True when a target is set, so that callers can skip installing hooks that cost something.
    public static var isArmed: Bool { target != nil }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var calls = 0

    /// Counts one commit point (`label` says which, for the stderr line) and kills the process
    /// if it is the target. Thread-safe: concurrent writers each get a distinct count.
    public static func reached(_ label: @autoclosure () -> String) {
        guard let target else { return }
        lock.lock()
        calls += 1
        let n = calls
        lock.unlock()
        guard n == target else { return }
        let line = "sonokit: crash point \(n) (\(label()))\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        kill(getpid(), SIGKILL)
        // SIGKILL cannot be caught; the process ends before the next instruction.
        while true { pause() }
    }
}
