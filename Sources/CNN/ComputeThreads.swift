import CDNNL

/// The number of threads the network's kernels (oneDNN on OpenMP) run on.
public enum ComputeThreads {
    /// Sets the OpenMP threads of every later oneDNN call, on any calling thread (n >= 1). The
    /// commands set it from `CPUBudget.current` at start-up, so that a Slurm task with
    /// `--cpus-per-task=4`, or a container with a CPU quota, runs 4 threads and not one per core
    /// of the node. Results depend on the thread count (reduction order): the same count gives
    /// the same bits.
    public static func set(_ n: Int) {
        precondition(n >= 1, "thread count \(n)")
        DNNL.threads = n
        DNNL.applyThreads()
    }

    /// The count set, or the OpenMP runtime's default when none was set.
    public static var current: Int { DNNL.threads > 0 ? DNNL.threads : Int(omp_get_max_threads()) }
}
