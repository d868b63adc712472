import SonoKitCore
import XCTest

/// The CPU budget: the smallest of the affinity count, SLURM_CPUS_PER_TASK and the cgroup quota.
final class CPUBudgetTests: XCTestCase {
    static func files(_ table: [String: String]) -> (String) -> String? { { table[$0] } }

    // MARK: With no limit, the affinity count
    func testAffinityAloneGivesTheProcessorCount() {
        let b = CPUBudget.resolve(environment: [:], processors: 8, readFile: Self.files(["/proc/self/cgroup": "0::/\n"]))
        XCTAssertEqual(b.count, 8)
    }

    // MARK: Slurm's grant wins when smaller; a larger or malformed value is no limit
    func testSlurmCPUsPerTask() {
        XCTAssertEqual(CPUBudget.resolve(environment: ["SLURM_CPUS_PER_TASK": "3"], processors: 8, readFile: { _ in nil }),
                       CPUBudget(count: 3, source: "SLURM_CPUS_PER_TASK=3"))
        XCTAssertEqual(CPUBudget.resolve(environment: ["SLURM_CPUS_PER_TASK": "16"], processors: 8, readFile: { _ in nil }).count, 8)
        XCTAssertEqual(CPUBudget.resolve(environment: ["SLURM_CPUS_PER_TASK": "two"], processors: 8, readFile: { _ in nil }).count, 8)
    }

    // MARK: cgroup v2 cpu.max: ceil(quota / period), the tightest of the cgroup and its ancestors;
    // "max" is no limit
    func testCgroupV2Quota() {
        let files = Self.files(["/proc/self/cgroup": "0::/slurm/job7/step0\n",
                                "/sys/fs/cgroup/slurm/job7/step0/cpu.max": "max 100000\n",
                                "/sys/fs/cgroup/slurm/job7/cpu.max": "250000 100000\n",
                                "/sys/fs/cgroup/slurm/cpu.max": "400000 100000\n"])
        let b = CPUBudget.resolve(environment: ["SLURM_CPUS_PER_TASK": "4"], processors: 8, readFile: files)
        XCTAssertEqual(b.count, 3, "2.5 CPUs of quota allow 3 threads, fewer than Slurm's 4")
        XCTAssertTrue(b.source.contains("/sys/fs/cgroup/slurm/job7/cpu.max"), b.source)
    }

    // MARK: cgroup v1 cfs quota (-1 is no limit)
    func testCgroupV1Quota() {
        let files = Self.files(["/proc/self/cgroup": "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n",
                                "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "100000\n",
                                "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
                                "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
                                "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"])
        XCTAssertEqual(CPUBudget.resolve(environment: [:], processors: 8, readFile: files).count, 1)
    }

    // MARK: This machine: at least one CPU, at most the affinity count
    func testCurrentIsWithinTheAffinityCount() {
        XCTAssertGreaterThanOrEqual(CPUBudget.current.count, 1)
        XCTAssertLessThanOrEqual(CPUBudget.current.count, ProcessInfo.processInfo.activeProcessorCount)
    }
}
