import CDNNL
import Foundation

/// One oneDNN primitive SonoKit created: what it computes ("block1_conv1 forward") and the
/// implementation oneDNN chose for this CPU ("brgconv:avx512_core", "jit:avx2", "ref:any").
public struct KernelChoice: Hashable, Sendable, CustomStringConvertible {
    public let operation: String
    public let implementation: String
    /// oneDNN's primitive kind: "convolution", "pooling", "batch_normalization", "eltwise",
    /// "reorder", ...
    public let kind: String
    /// True for forward propagation (training or inference), false for backward and reorders.
    public let isForward: Bool

    public init(operation: String, implementation: String, kind: String = "", isForward: Bool = false) {
        self.operation = operation
        self.implementation = implementation
        self.kind = kind
        self.isForward = isForward
    }

    /// A forward convolution: the kernels that dominate every CNN's time.
    public var isConvolutionForward: Bool { kind == "convolution" && isForward }

    /// True for oneDNN's reference implementations ("ref:any", "ref_fused:...", ...): portable
    /// scalar C++ loops meant for correctness checks, 100-1000x slower than the JIT kernels
    /// (a 3x3 convolution ran at 0.1 GFLOP/s instead of 75 on an AVX2 CPU).
    public var isReference: Bool { Self.isReference(implementation) }

    static func isReference(_ implementation: String) -> Bool {
        implementation.split(separator: ":").contains { $0.hasPrefix("ref") }
    }

    public var description: String { "\(operation): \(implementation)" }
}

/// Watches every oneDNN primitive the CNN core creates, so that a reference kernel never runs
/// unnoticed: on a CPU or a layout that oneDNN has no JIT kernel for, oneDNN silently falls back
/// to its reference implementation, and a job that takes a minute takes a day.
///
/// A reference implementation is a bug in SonoKit (a layout, type or algorithm was forced that
/// this CPU has no fast kernel for): it is recorded (`referenceKernels`, which the tests check
/// for every architecture and mode at the native ISA, `AVX2` and `SSE41`) and a warning naming
/// the layer, the implementation and the CPU's ISA is printed once per operation on stderr.
public enum KernelGuard {
    private static let lock = NSLock()
    private nonisolated(unsafe) static var seen = Set<KernelChoice>()
    private nonisolated(unsafe) static var warned = Set<String>()
    /// Print the warning (on by default; tests that provoke a reference kernel on purpose turn
    /// it off).
    public nonisolated(unsafe) static var printsWarnings = true

    /// Every distinct (operation, implementation) created in this process so far, sorted.
    public static var choices: [KernelChoice] {
        lock.lock(); defer { lock.unlock() }
        return seen.sorted { ($0.operation, $0.implementation) < ($1.operation, $1.implementation) }
    }

    /// The reference implementations among `choices` (empty when all is well).
    public static var referenceKernels: [KernelChoice] { choices.filter(\.isReference) }

    static func record(_ choice: KernelChoice) {
        lock.lock()
        let isNew = seen.insert(choice).inserted
        let warn = isNew && choice.isReference && printsWarnings && warned.insert(choice.operation).inserted
        lock.unlock()
        if warn {
            FileHandle.standardError.write(Data("""
                sonokit: warning: oneDNN runs \(choice.operation) with its reference implementation \
                '\(choice.implementation)' on this CPU (\(CPUInfo.current.summary)); it will be 100-1000x \
                slower than normal. This is a SonoKit bug: please report this line.\n
                """.utf8))
        }
    }
}

/// The processor SonoKit runs on, as oneDNN sees it.
public struct CPUInfo: Sendable {
    /// "AMD EPYC 9R14 (family 25, model 17)", from /proc/cpuinfo ("unknown CPU" elsewhere).
    public let model: String
    /// oneDNN's effective instruction set: the CPU's best, lowered by `ONEDNN_MAX_CPU_ISA`
    /// ("avx512_core_bf16", "avx2", "sse41", ...).
    public let isa: String
    /// True when the effective ISA multiplies bfloat16 natively (AVX-512 BF16 `vdpbf16ps`, or AMX).
    public let hasNativeBF16: Bool

    public static let current: CPUInfo = {
        let raw = dnnl_get_effective_cpu_isa()
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx512_mic_4ops, "avx512_mic_4ops"), (dnnl_cpu_isa_avx512_mic, "avx512_mic"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"),
            (dnnl_cpu_isa_sse41, "sse41"), (dnnl_cpu_isa_all, "no SIMD"),
        ]
        let isa = names.first { $0.0 == raw }?.1 ?? "isa 0x\(String(raw.rawValue, radix: 16))"
        var model = "unknown CPU"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            // The first processor's fields; virtual machines often shorten the model name
            // ("AMD EPYC"), so the family and model numbers come along (Zen 3: 25/1, Zen 4: 25/17,
            // Zen 5: 26/2 ...).
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            if let name = fields["model name"] {
                model = name
                if let family = fields["cpu family"], let number = fields["model"] { model += " (family \(family), model \(number))" }
            }
        }
        return CPUInfo(model: model, isa: isa, hasNativeBF16: raw.rawValue & bf16 == bf16)
    }()

    /// "AMD EPYC 9R14 (family 25, model 17), oneDNN ISA avx512_core_bf16".
    public var summary: String { "\(model), oneDNN ISA \(isa)" }
}
