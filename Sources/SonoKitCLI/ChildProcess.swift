#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A child process run to completion with its standard output captured and its peak resident
/// memory (from wait4's rusage, the kernel's own accounting) reported.
public struct ChildProcessResult {
    public var status: Int32
    public var output: String
    public var peakRSSMiB: Double
}

public enum ChildProcess {
    /// Runs `arguments[0]` (searched in PATH) with the given arguments; stderr is inherited
    /// unless `quietStderr`.
    public static func run(_ arguments: [String], environment: [String: String] = [:], quietStderr: Bool = false) throws -> ChildProcessResult {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        if quietStderr { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
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
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, &envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw ValidationErrorMessage("cannot start \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        close(fds[0])
        var status: Int32 = 0
        var usage = rusage()
        _ = wait4(pid, &status, 0, &usage)
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ChildProcessResult(status: exit, output: String(decoding: data, as: UTF8.self),
                                  peakRSSMiB: Double(usage.ru_maxrss) / 1024)
    }
}

struct ValidationErrorMessage: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
}
