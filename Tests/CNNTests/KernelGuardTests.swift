import CDNNL
import Foundation
import XCTest
@testable import CNN
import SonoKitCore
import SonoKitTestSupport

/// No oneDNN reference kernel, ever, on any x86-64 CPU.
///
/// oneDNN falls back silently to its scalar reference implementation ("ref:any") when a layout,
/// type or algorithm is forced that the CPU has no JIT kernel for. That once made VGG16 feature
/// extraction ~750x slower on AVX2-only CPUs (activations forced to nChw16c) while every other
/// test passed. These tests create every primitive of every architecture and mode — VGG16 frozen
/// (inference and training step), VGG16 with block5 fine-tuned, `small` (training and inference),
/// bf16 where the CPU has it — and fail on any reference implementation: at the native ISA in
/// this process, and at AVX2 and SSE4.1 in child processes (`ONEDNN_MAX_CPU_ISA` can only lower
/// the ISA), so the AVX2 path is checked on every machine.
final class KernelGuardTests: XCTestCase {
    /// Set in the child processes so that they run the checks and do not spawn again.
    static let childMarker = "SONOKIT_KERNEL_GUARD_CHILD"
    /// The operation name of the deliberately slow primitive of `testGuardCatchesAForcedLayoutWithoutKernel`.
    static let forcedOperation = "forced nChw16c test convolution"

    /// Reference kernels created in this process, except the deliberate one.
    private var unexpectedReferenceKernels: [KernelChoice] {
        KernelGuard.referenceKernels.filter { $0.operation != Self.forcedOperation }
    }

    // MARK: The checks, at this process's ISA

    /// Every primitive of each scenario, created without running (batch 8, 224x224x3).
    func testNoReferenceKernelsAtThisISA() throws {
        print("kernel guard: \(CPUInfo.current.summary)")
        var scenarios: [(String, () throws -> [KernelChoice])] = [
            ("vgg16 frozen, inference", { try self.vgg16(unfreeze: []).prepareKernels(batch: 8, training: false) }),
            ("vgg16 frozen, training step", { try self.vgg16(unfreeze: []).prepareKernels(batch: 8, training: true) }),
            ("vgg16 block5 fine-tuned, training step", { try self.vgg16(unfreeze: ["block5"]).prepareKernels(batch: 8, training: true) }),
            ("vgg16 without the frozen pipeline (layer by layer), inference", {
                let m = try self.vgg16(unfreeze: [])
                m.usesFrozenPipeline = false
                return try m.prepareKernels(batch: 8, training: false)
            }),
            ("small, training step", { try self.small().prepareKernels(batch: 8, training: true) }),
            ("small, inference", { try self.small().prepareKernels(batch: 8, training: false) }),
        ]
        if CPUInfo.current.hasNativeBF16 {
            scenarios.append(("vgg16 frozen bf16, inference", {
                let m = try self.vgg16(unfreeze: [])
                m.frozenPrecision = .bf16
                return try m.prepareKernels(batch: 8, training: false)
            }))
        }
        for (name, make) in scenarios {
            let choices = try make()
            XCTAssertFalse(choices.isEmpty, "\(name): no oneDNN primitive was created")
            let reference = choices.filter(\.isReference)
            XCTAssertEqual(reference, [], "\(name) at ISA \(CPUInfo.current.isa): reference kernels \(reference)")
            let convolutions = Set(choices.filter(\.isConvolutionForward)
                .map(\.implementation))
            print("kernel guard: \(name): \(choices.count) primitives, convolutions \(convolutions.sorted().joined(separator: ", "))")
        }
        XCTAssertEqual(unexpectedReferenceKernels, [], "reference kernels created in this process")
    }

    /// Running a frozen VGG16-like network and a small training step end to end at this ISA
    /// gives finite results with only JIT kernels (small inputs: the check is of the path, not
    /// the speed).
    func testFrozenPipelineRunsAtThisISA() throws {
        let m = try vgg16(unfreeze: [])
        let x = randomTensor([2, 64, 64, 3], seed: 1, scale: 100)
        let features = try m.features(x)
        XCTAssertEqual(features.shape, [2, 512])
        XCTAssertTrue(features.scalars.allSatisfy(\.isFinite))
        // The layer-by-layer path agrees with the pipeline (different layouts, same arithmetic).
        m.usesFrozenPipeline = false
        m.usesWinograd = false
        let direct = try m.features(x)
        XCTAssertLessThan(relativeError(features, direct), 1e-4)
        XCTAssertEqual(unexpectedReferenceKernels, [])
    }

    /// bf16 is refused, with the ISA and the alternative named, where the CPU has no native bf16.
    func testBF16IsRefusedWithoutNativeBF16() throws {
        let avx2 = CPUInfo(model: "Test CPU", isa: "avx2", hasNativeBF16: false)
        XCTAssertThrowsError(try Precision.bf16.requireSupported(on: avx2)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("avx2") && text.contains("--precision fp32"), text)
        }
        XCTAssertNoThrow(try Precision.fp32.requireSupported(on: avx2))
        if !CPUInfo.current.hasNativeBF16 {
            let m = try vgg16(unfreeze: [])
            m.frozenPrecision = .bf16
            XCTAssertThrowsError(try m.features(randomTensor([1, 32, 32, 3], seed: 2))) { error in
                guard case CNNError.unsupportedPrecision = error else { return XCTFail("unexpected error \(error)") }
            }
        }
    }

    /// The guard can fail: a blocked layout forced on a CPU without a kernel for it is caught.
    /// nChw16c is AVX-512's register width; at AVX2 or SSE4.1 oneDNN 2.6 has only its reference
    /// convolution for it (what the frozen pipeline once forced).
    func testGuardCatchesAForcedLayoutWithoutKernel() throws {
        guard !CPUInfo.current.isa.hasPrefix("avx512") else {
            throw XCTSkip("runs in the AVX2 and SSE4.1 child processes, where nChw16c has no JIT convolution")
        }
        KernelGuard.printsWarnings = false
        defer { KernelGuard.printsWarnings = true }
        var src = try DNNL.desc([1, 64, 28, 28], dnnl_f32, dnnl_nChw16c)
        var dst = try DNNL.desc([1, 64, 28, 28], dnnl_f32, dnnl_nChw16c)
        var wts = try DNNL.desc([64, 64, 3, 3], dnnl_f32, dnnl_format_tag_any)
        var bias = try DNNL.desc([64], dnnl_f32, dnnl_x)
        var op = dnnl_convolution_desc_t()
        try DNNL.check(dnnl_convolution_forward_desc_init(&op, dnnl_forward_inference, dnnl_convolution_direct, &src, &wts, &bias, &dst,
                                                          DNNL.dimArray([1, 1]), DNNL.dimArray([1, 1]), DNNL.dimArray([1, 1])), "describe")
        let p = try DNNLPrimitive(op: &op, Self.forcedOperation)
        XCTAssertTrue(p.choice.isReference, "expected a reference kernel, got \(p.implementation)")
        XCTAssertTrue(KernelGuard.referenceKernels.contains(p.choice))
    }

    func testReferenceImplementationNames() {
        for name in ["ref:any", "ref_fused:any", "gemm:ref"] {
            XCTAssertTrue(KernelChoice(operation: "x", implementation: name).isReference, name)
        }
        for name in ["jit:avx2", "brgconv:avx512_core", "jit_wino_4x3:avx512_core", "x64:gemm:jit", "jit:uni", "simple:any", "bnorm_tbb_jit:avx2"] {
            XCTAssertFalse(KernelChoice(operation: "x", implementation: name).isReference, name)
        }
    }

    // MARK: The same checks at AVX2 and SSE4.1, in child processes

    func testNoReferenceKernelsAtAVX2() throws { try runChecks(maxISA: "AVX2", expectedISA: "avx2") }

    func testNoReferenceKernelsAtSSE41() throws { try runChecks(maxISA: "SSE41", expectedISA: "sse41") }

    /// Re-runs this class's checks in this test binary with `ONEDNN_MAX_CPU_ISA=maxISA`.
    private func runChecks(maxISA: String, expectedISA: String) throws {
        if ProcessInfo.processInfo.environment[Self.childMarker] != nil { throw XCTSkip("already in a child process") }
        let binary = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        let process = Process()
        process.executableURL = binary
        process.arguments = ["CNNTests.KernelGuardTests"]  // the child-process tests skip themselves there
        var environment = ProcessInfo.processInfo.environment
        environment["ONEDNN_MAX_CPU_ISA"] = maxISA
        environment[Self.childMarker] = "1"
        process.environment = environment
        let output = try ChildProcess.run(process, timeout: 900)
        let text = output.stdout + output.stderr
        XCTAssertEqual(output.status, 0, "checks at ONEDNN_MAX_CPU_ISA=\(maxISA) failed:\n\(text)")
        XCTAssertTrue(text.contains("oneDNN ISA \(expectedISA)"), "the child did not run at \(expectedISA):\n\(text)")
        for test in ["testNoReferenceKernelsAtThisISA", "testFrozenPipelineRunsAtThisISA", "testBF16IsRefusedWithoutNativeBF16",
                     "testGuardCatchesAForcedLayoutWithoutKernel"] {
            XCTAssertTrue(text.contains("KernelGuardTests.\(test)' passed"), "\(test) did not pass at \(expectedISA):\n\(text)")
        }
        print(text.split(separator: "\n").filter { $0.hasPrefix("kernel guard:") }.joined(separator: "\n"))
    }

    // MARK: Models (random weights: the kernels depend on shapes, not values)

    private func vgg16(unfreeze blocks: [String]) throws -> Model {
        var rng = SplitMix64(seed: 0)
        let m = try Architecture.vgg16.make(rng: &rng)
        if !blocks.isEmpty { try m.unfreeze(blocks) }
        return m
    }

    private func small() throws -> Model {
        var rng = SplitMix64(seed: 0)
        return try Architecture.small.make(rng: &rng)
    }
}
