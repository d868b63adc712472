import CDNNL

/// Process-wide memory settings for training loops.
public enum CNNRuntime {
    /// Makes glibc keep freed memory for reuse instead of returning it to the kernel.
    ///
    /// Why: a training step allocates and frees gigabytes of activations and gradients
    /// (hundreds of megabytes per layer at 224x224, batch 32). glibc serves blocks above 32 MiB
    /// with fresh `mmap`s and unmaps them on free, so every step page-faults every byte anew — on
    /// this 2-core machine that was half the `small` training step (sys time 3.8 s of 11 s;
    /// 12 -> 24 images/s with this setting). With `mmap` off and trimming off, freed blocks are
    /// reused by the next step. Call once at the start of a long-running command (training,
    /// benchmarks); the cost is that the process keeps its peak heap until it exits.
    public static func retainFreedMemory() {
        cdnnl_retain_freed_memory()
    }
}
