import Foundation

/// The CPUs this process may use: the smallest of what the scheduler granted
/// (`SLURM_CPUS_PER_TASK`), the cgroup's CPU bandwidth limit (cgroup v2 `cpu.max`, v1
/// `cpu.cfs_quota_us / cpu.cfs_period_us`, rounded up: a quota of 1.5 CPUs allows 2 busy threads
/// half the time), and the CPUs the process may run on (its affinity mask, which Slurm's cpuset
/// confinement sets; `ProcessInfo.activeProcessorCount`).
///
/// Threads beyond this only time-share the same CPUs: with a quota they are throttled, with
/// OpenMP's busy-waiting they slow every thread down. Every default thread count of SonoKit comes
/// from here, and the network's OpenMP threads are set to it at start-up.
public struct CPUBudget: Equatable, Sendable, CustomStringConvertible {
    public var count: Int
    /// Which limit gave `count` (for logs: "SLURM_CPUS_PER_TASK=4", "cgroup cpu.max 150000 100000").
    public var source: String

    public init(count: Int, source: String) {
        self.count = count
        self.source = source
    }

    public var description: String { "\(count) CPU\(count == 1 ? "" : "s") (\(source))" }

    /// The budget of this process (computed once).
    public static let current = resolve(environment: ProcessInfo.processInfo.environment,
                                        processors: ProcessInfo.processInfo.activeProcessorCount,
                                        readFile: { try? String(contentsOfFile: $0, encoding: .utf8) })

    /// The budget from an environment, the affinity count and a file reader (injected for tests;
    /// a file that cannot be read is no limit). A malformed `SLURM_CPUS_PER_TASK` is ignored.
    public static func resolve(environment: [String: String], processors: Int, readFile: (String) -> String?) -> CPUBudget {
        var best = CPUBudget(count: max(1, processors), source: "CPU affinity")
        if let text = environment["SLURM_CPUS_PER_TASK"], let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 1, n < best.count {
            best = CPUBudget(count: n, source: "SLURM_CPUS_PER_TASK=\(n)")
        }
        if let quota = cgroupQuota(readFile: readFile), quota.count < best.count {
            best = quota
        }
        return best
    }

    /// The tightest CPU bandwidth limit on this process's cgroup or any ancestor, nil if none.
    static func cgroupQuota(readFile: (String) -> String?) -> CPUBudget? {
        guard let membership = readFile("/proc/self/cgroup") else { return nil }
        var limits: [CPUBudget] = []
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let controllers = parts[1].split(separator: ","), path = String(parts[2])
            if parts[0] == "0", parts[1].isEmpty {
                for folder in ancestors(path, mount: "/sys/fs/cgroup") {
                    guard let text = readFile(folder + "/cpu.max") else { continue }
                    let fields = text.split(whereSeparator: \.isWhitespace)
                    if fields.count == 2, let q = Double(fields[0]), let p = Double(fields[1]), q > 0, p > 0 {
                        limits.append(CPUBudget(count: max(1, Int((q / p).rounded(.up))), source: "cgroup \(folder)/cpu.max \(fields[0]) \(fields[1])"))
                    }
                }
            } else if controllers.contains("cpu") {
                for mount in ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuacct,cpu"] {
                    for folder in ancestors(path, mount: mount) {
                        guard let q = readFile(folder + "/cpu.cfs_quota_us").flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                              let p = readFile(folder + "/cpu.cfs_period_us").flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                              q > 0, p > 0 else { continue }
                        limits.append(CPUBudget(count: max(1, Int((q / p).rounded(.up))), source: "cgroup \(folder) cfs quota \(Int(q))/\(Int(p))"))
                    }
                }
            }
        }
        return limits.min { $0.count < $1.count }
    }

    /// `mount + path` and each of its parents up to `mount` itself.
    static func ancestors(_ path: String, mount: String) -> [String] {
        var components = path.split(separator: "/").map(String.init)
        var out: [String] = []
        while true {
            out.append(([mount] + components).joined(separator: "/"))
            if components.isEmpty { break }
            components.removeLast()
        }
        return out
    }
}
