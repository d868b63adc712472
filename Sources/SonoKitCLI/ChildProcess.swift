#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A child process run to completion with its standard output captured and its peak resident
/// memory and CPU time (from wait4's rusage, the kernel's own accounting) reported.
public struct ChildProcessResult {
    public var status: Int32
    public var output: String
    public var peakRSSMiB: Double
    /// User plus system CPU seconds of the child (not of its own children).
    public var cpuSeconds: Double = 0
}

/// A child that did not exit within its deadline: it and everything it started (its process
/// group) were killed.
public struct ChildProcessTimedOut: Error, CustomStringConvertible, Equatable {
    /// The command line, as given.
    public var command: [String]
    /// The deadline it missed, in seconds.
    public var seconds: TimeInterval
    public var description: String {
        "`\(command.joined(separator: " "))` did not finish within its \(Self.format(seconds)) s deadline; it and the processes it started were killed. "
            + "Run it by hand to see where it stops (a missing input, a prompt, a browser or interpreter that hangs)."
    }

    static func format(_ seconds: TimeInterval) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}

public enum ChildProcess {
    /// The deadline when none is given: longer than any step the benchmarks run as a child on the
    /// shared 2-core machine (the slowest, a Keras or SonoKit training run of `sonokit-bench train`,
    /// takes minutes to tens of minutes), short enough that a hung child (a browser that never
    /// exits, an interpreter waiting on input) ends the run the same day.
    public static let defaultTimeout: TimeInterval = 3 * 3600

    /// How long a child gets between SIGTERM and SIGKILL at its deadline.
    static let terminationGrace: TimeInterval = 2

    /// Runs `arguments[0]` (searched in PATH) with the given arguments; stderr is inherited
    /// unless `quietStderr`. The child runs in a process group of its own; if it has not exited
    /// `timeout` seconds after it started, the whole group gets SIGTERM, then SIGKILL
    /// `terminationGrace` seconds later, and `ChildProcessTimedOut` is thrown (naming the command
    /// and the deadline). Standard input is /dev/null, so a child that asks a question gets
    /// end-of-file instead of waiting for an answer.
    public static func run(_ arguments: [String], environment: [String: String] = [:], quietStderr: Bool = false,
                           timeout: TimeInterval = defaultTimeout) throws -> ChildProcessResult {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if quietStderr { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
        // A process group of its own (its id = the child's pid), so that the deadline reaches
        // what the child starts too (chromium's renderers, a Python interpreter's workers).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let start = DispatchTime.now()
        let rc = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, &envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw ValidationErrorMessage("cannot start \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        let deadline = start.uptimeNanoseconds + UInt64(max(0, timeout) * 1e9)
        func remainingMilliseconds() -> Int32 {
            let now = DispatchTime.now().uptimeNanoseconds
            return now >= deadline ? 0 : Int32(min(Double(deadline - now) / 1e6 + 1, Double(Int32.max)))
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        // Read until end of file (every writer closed the pipe) or the deadline.
        while true {
            let wait = remainingMilliseconds()
            if wait == 0 { timedOut = true; break }
            var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, wait)
            if ready < 0 { if errno == EINTR { continue }; break }
            if ready == 0 { continue }   // the deadline is checked at the top
            let n = read(fds[0], &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        close(fds[0])
        var status: Int32 = 0
        var usage = rusage()
        // The child closed its output; it may still run (or a grandchild kept the pipe while the
        // child exited): wait for the child itself, up to the same deadline.
        while !timedOut {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if remainingMilliseconds() == 0 { timedOut = true; break }
            usleep(2_000)
        }
        if timedOut {
            kill(-pid, SIGTERM)
            let grace = DispatchTime.now().uptimeNanoseconds + UInt64(terminationGrace * 1e9)
            var reaped = false
            while DispatchTime.now().uptimeNanoseconds < grace {
                if wait4(pid, &status, WNOHANG, &usage) == pid { reaped = true; break }
                usleep(5_000)
            }
            // SIGKILL the group even when the child itself obeyed SIGTERM: what it started may not have.
            kill(-pid, SIGKILL)
            if !reaped { _ = wait4(pid, &status, 0, &usage) }
            throw ChildProcessTimedOut(command: arguments, seconds: timeout)
        }
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return ChildProcessResult(status: exit, output: String(decoding: data, as: UTF8.self),
                                  peakRSSMiB: Double(usage.ru_maxrss) / 1024,
                                  cpuSeconds: seconds(usage.ru_utime) + seconds(usage.ru_stime))
    }
}

struct ValidationErrorMessage: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
}
