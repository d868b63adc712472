import ArgumentParser
import SonoKitCLI
import CNN
import Foundation
import SonoKitCore

/// The work items of `sonokit-bench cnn`; each maps to the anchors' model and mode.
enum BenchLine: String, CaseIterable, ExpressibleByArgument {
    case vgg16TrainFP32 = "vgg16-train-fp32"
    case vgg16InferFP32 = "vgg16-infer-fp32"
    case vgg16TrainFP32Direct = "vgg16-train-fp32-direct"
    case vgg16InferFP32Direct = "vgg16-infer-fp32-direct"
    case smallTrainFP32 = "small-train-fp32"
    case vgg16TrainBF16 = "vgg16-train-bf16"
    case vgg16InferBF16 = "vgg16-infer-bf16"

    var architecture: Architecture { self == .smallTrainFP32 ? .small : .vgg16 }
    var training: Bool { self == .vgg16TrainFP32 || self == .smallTrainFP32 || self == .vgg16TrainBF16 || self == .vgg16TrainFP32Direct }
    /// Winograd convolutions in the frozen fp32 pipeline (the default); the `-direct` lines turn
    /// them off to show the same arithmetic as the anchors.
    var winograd: Bool { self != .vgg16TrainFP32Direct && self != .vgg16InferFP32Direct }
    var precision: Precision { self == .vgg16TrainBF16 || self == .vgg16InferBF16 ? .bf16 : .fp32 }
    /// `--model` and `--mode` of bench_torch.py / bench_keras.py doing the same work.
    var anchorModel: String { architecture == .small ? "smallcnn" : "vgg16_frozen" }
    var anchorMode: String { training ? "train" : "infer" }
    var title: String {
        let what = architecture == .small ? "small train step" : (training ? "VGG16 frozen-base train step" : "VGG16 inference (base)")
        return "\(what), \(precision.rawValue)\(precision == .fp32 && architecture == .vgg16 ? (winograd ? " (Winograd where oneDNN has it)" : " (direct)") : "")"
    }
}

/// `sonokit-bench cnn`: SonoKit's CNN core against PyTorch (and Keras when installed) on the
/// same work — same model, batch, 224x224x3 synthetic images, thread count — in one invocation.
///
/// Every measurement runs in its own child process (SonoKit lines re-run this executable with
/// `--worker`), so that each reports its own peak resident memory from the kernel (wait4).
struct BenchCNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn",
        abstract: "Benchmark the CNN core against PyTorch and Keras (images/s, ratio, GFLOP/s, peak memory).",
        discussion: """
        Lines: VGG16 frozen-base training step, VGG16 inference (fp32 with Winograd convolutions, the
        default, and with direct convolutions), small training step (fp32), and the VGG16 lines with
        bf16 frozen layers, with the pooled-feature error of bf16 against fp32.
        ratio = SonoKit images/s / fastest anchor's images/s (bf16 lines: against the fp32 anchors).
        Anchors need a Python with torch + torchvision (and tensorflow + keras for Keras); an anchor
        that is not installed is reported as such and the others are printed.
        The header names the CPU, oneDNN's effective ISA and the measured FMA peak (fma_peak.c,
        built with cc when present); each line names the convolution kernel oneDNN chose and the
        share of that peak reached. --max-isa caps the ISA of SonoKit and of the anchors
        (ONEDNN_MAX_CPU_ISA for SonoKit and TensorFlow, ATEN_CPU_CAPABILITY for PyTorch), so an
        AVX-512 machine measures the AVX2 path too. bf16 lines need native bf16 (AVX-512 BF16) and
        are skipped elsewhere.

        Examples:
          sonokit-bench cnn --python /tmp/anchors/bin/python
          sonokit-bench cnn --python /tmp/anchors/bin/python --max-isa AVX2
          sonokit-bench cnn --lines vgg16-infer-fp32 vgg16-infer-bf16 --steps 3
          sonokit-bench cnn --no-anchors
        """
    )

    @Option(help: "Images per batch.") var batch = 32
    @Option(help: "Timed steps per line.") var steps = 5
    @Option(help: "Untimed warm-up steps per line.") var warmup = 2
    @Option(help: "Python interpreter for the anchors (env SONOKIT_BENCH_PYTHON).")
    var python = ProcessInfo.processInfo.environment["SONOKIT_BENCH_PYTHON"] ?? "python3"
    @Option(help: "Folder holding bench_torch.py, bench_keras.py and common.py (default: scripts/bench).")
    var anchors = "scripts/bench"
    @Option(parsing: .upToNextOption, help: "Lines to run: \(BenchLine.allCases.map(\.rawValue).joined(separator: ", ")).")
    var lines: [BenchLine] = BenchLine.allCases
    @Option(help: "Measurements per line and tool, interleaved (SonoKit, anchors, SonoKit, ...); the best is reported, which discounts load from other processes on a shared machine.")
    var repeats = 2
    @Flag(help: "Run SonoKit only.") var noAnchors = false
    @Option(help: "Cap the instruction set of SonoKit and the anchors: \(BenchCNN.isaCaps.map(\.cap).joined(separator: ", ")).")
    var maxIsa: String?
    @Option(help: .hidden) var worker: BenchLine?
    @Flag(help: .hidden) var featureErrorWorker = false

    func validate() throws {
        guard batch > 0, steps > 0, warmup >= 0, repeats > 0 else {
            throw ValidationError("--batch, --steps and --repeats must be positive, --warmup not negative.")
        }
        if let maxIsa, !Self.isaCaps.contains(where: { $0.cap == maxIsa.uppercased() }) {
            throw ValidationError("--max-isa \(maxIsa) is not one of \(Self.isaCaps.map(\.cap).joined(separator: ", ")).")
        }
    }

    /// ISA caps: oneDNN's `ONEDNN_MAX_CPU_ISA` value and PyTorch's matching `ATEN_CPU_CAPABILITY`.
    static let isaCaps: [(cap: String, aten: String)] = [
        ("SSE41", "default"), ("AVX", "default"), ("AVX2", "avx2"), ("AVX2_VNNI", "avx2"), ("AVX512_CORE", "avx512"),
        ("AVX512_CORE_VNNI", "avx512"), ("AVX512_CORE_BF16", "avx512"), ("AVX512_CORE_AMX", "avx512"), ("ALL", "avx512"),
    ]

    /// The environment of every measured process: the ISA cap, when given.
    private var capEnvironment: [String: String] {
        guard let cap = maxIsa?.uppercased(), let aten = Self.isaCaps.first(where: { $0.cap == cap })?.aten else { return [:] }
        return ["ONEDNN_MAX_CPU_ISA": cap, "ATEN_CPU_CAPABILITY": aten]
    }

    /// The FMA peak of this machine on all cores, GFLOP/s (fma_peak.c built with cc; nil when
    /// there is no C compiler). AVX2 and narrower caps use the 256-bit loop.
    private func measureFMAPeak() -> (gflops: Double, loop: String)? {
        let source = "\(anchors)/fma_peak.c"
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-fma-peak-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: binary) }
        guard FileManager.default.fileExists(atPath: source),
              let cc = try? ChildProcess.run(["cc", "-O3", "-march=native", "-pthread", source, "-o", binary], quietStderr: true),
              cc.status == 0,
              let r = try? ChildProcess.run([binary, "\(ProcessInfo.processInfo.activeProcessorCount)", "1"]),
              let obj = parseResult(r), let wide = obj["avx512_gflops"] as? Double, let narrow = obj["avx2_gflops"] as? Double
        else { return nil }
        let cap = maxIsa?.uppercased() ?? "ALL"
        if cap.hasPrefix("AVX512") || cap == "ALL" { return wide >= narrow ? (wide, "512-bit") : (narrow, "256-bit") }
        return (narrow, "256-bit")
    }

    func run() throws {
        if let worker { return try runWorker(worker) }
        if featureErrorWorker { return try runFeatureErrorWorker() }
        try runAll()
    }

    // MARK: Parent: run every line and print the table

    private struct Measurement {
        var imagesPerSecond: Double
        var gflops: Double?
        var peakMiB: Double
        var extra: [String: Any]
    }

    private func parseResult(_ r: ChildProcessResult) -> [String: Any]? {
        guard let line = r.output.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }),
              let obj = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any] else { return nil }
        return obj
    }

    private func measure(_ args: [String], quiet: Bool) -> Measurement? {
        guard let r = try? ChildProcess.run(args, environment: capEnvironment, quietStderr: quiet), r.status == 0, let obj = parseResult(r),
              let ips = obj["images_per_s"] as? Double else { return nil }
        return Measurement(imagesPerSecond: ips, gflops: obj["achieved_gflops_s"] as? Double, peakMiB: r.peakRSSMiB, extra: obj)
    }

    private func runAll() throws {
        let me = "/proc/self/exe"
        let common = ["--batch", "\(batch)", "--steps", "\(steps)", "--warmup", "\(warmup)"]
        var anchorNames: [(String, String)] = []
        if !noAnchors {
            let torch = try? ChildProcess.run([python, "-c", "import torch"], quietStderr: true)
            if torch?.status == 0 { anchorNames.append(("PyTorch", "bench_torch.py")) } else {
                print("PyTorch anchor: not installed for \(python) (pip install torch torchvision); skipped.")
            }
            let keras = try? ChildProcess.run([python, "-c", "import keras, tensorflow"], quietStderr: true)
            if keras?.status == 0 { anchorNames.append(("Keras", "bench_keras.py")) } else {
                print("Keras anchor: not installed for \(python) (pip install tensorflow-cpu keras); skipped.")
            }
        }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        defer { fflush(stdout) }
        // The cap applies to this process too (oneDNN reads it once, at its first use: here).
        for (k, v) in capEnvironment { setenv(k, v, 1) }
        let cpu = CPUInfo.current
        print("sonokit-bench cnn: batch \(batch), 224x224x3, \(steps) timed steps after \(warmup) warm-up, best of \(repeats), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, load average \(load)")
        print("CPU: \(cpu.model); oneDNN ISA \(cpu.isa)\(maxIsa.map { " (capped with --max-isa \($0.uppercased()); PyTorch ATEN_CPU_CAPABILITY=\(capEnvironment["ATEN_CPU_CAPABILITY"] ?? "?"))" } ?? " (native)")")
        let peak = measureFMAPeak()
        if let peak {
            print(String(format: "FMA peak: %.0f GFLOP/s on %d cores (fma_peak.c, %@ loop)", peak.gflops, ProcessInfo.processInfo.activeProcessorCount, peak.loop))
        } else {
            print("FMA peak: not measured (needs cc and \(anchors)/fma_peak.c)")
        }
        fflush(stdout)
        var lines = self.lines
        if !cpu.hasNativeBF16, lines.contains(where: { $0.precision == .bf16 }) {
            print("bf16 lines skipped: this CPU has no native bf16 arithmetic at ISA \(cpu.isa) (SonoKit refuses --precision bf16 here; fp32 is the fast path).")
            lines.removeAll { $0.precision == .bf16 }
        }
        var featureError: String = "-"
        if lines.contains(where: { $0.precision == .bf16 }) {
            if let r = try? ChildProcess.run([me, "cnn", "--feature-error-worker"], environment: capEnvironment), let obj = parseResult(r),
               let e = obj["feature_error"] as? Double {
                featureError = String(format: "%.2e (%@)", e, (obj["weights"] as? String) ?? "?")
            }
        }
        var rows: [[String]] = []
        var anchorCache: [String: [String: Measurement?]] = [:]
        /// The best of two measurements (higher images/s; its own peak memory).
        func best(_ a: Measurement?, _ b: Measurement?) -> Measurement? {
            guard let a else { return b }
            guard let b else { return a }
            return a.imagesPerSecond >= b.imagesPerSecond ? a : b
        }
        for line in lines {
            var ours: Measurement?
            var theirs: [String: Measurement?] = [:]
            let key = "\(line.anchorModel)/\(line.anchorMode)"
            let cached = anchorCache[key]
            for _ in 0..<repeats {
                ours = best(ours, measure([me, "cnn", "--worker", line.rawValue] + common, quiet: false))
                if cached == nil {
                    for (name, script) in anchorNames {
                        let m = measure([python, "\(anchors)/\(script)", "--model", line.anchorModel, "--mode", line.anchorMode] + common, quiet: true)
                        theirs[name] = best(theirs[name] ?? nil, m)
                    }
                }
            }
            if let cached { theirs = cached } else { anchorCache[key] = theirs }
            let fastest = theirs.values.compactMap { $0?.imagesPerSecond }.max()
            func ips(_ m: Measurement?) -> String { m.map { String(format: "%.2f", $0.imagesPerSecond) } ?? "failed" }
            var row = [line.title, ips(ours)]
            for (name, _) in anchorNames { row.append(ips(theirs[name] ?? nil)) }
            row.append(ours != nil && fastest != nil ? String(format: "%.2f", ours!.imagesPerSecond / fastest!) : "-")
            row.append(ours?.gflops.map { String(format: "%.0f", $0) } ?? "-")
            row.append(ours?.gflops.flatMap { g in peak.map { String(format: "%.0f%%", 100 * g / $0.gflops) } } ?? "-")
            row.append((ours?.extra["conv_impl"] as? [String])?.joined(separator: ", ") ?? "-")
            var mem = [ours.map { String(format: "%.0f", $0.peakMiB) } ?? "-"]
            for (name, _) in anchorNames { mem.append((theirs[name] ?? nil).map { String(format: "%.0f", $0.peakMiB) } ?? "-") }
            row.append(mem.joined(separator: " / "))
            row.append(line.precision == .bf16 ? featureError : "-")
            rows.append(row)
            // One line per finished measurement, flushed, so that an interrupted run still reports.
            print("  " + row.joined(separator: " | "))
            fflush(stdout)
        }
        let header = ["line", "SonoKit img/s"] + anchorNames.map { "\($0.0) img/s" } + ["ratio", "SonoKit GFLOP/s*", "of FMA peak", "SonoKit conv kernel",
                      "peak MiB (SonoKit" + anchorNames.map { " / \($0.0)" }.joined() + ")", "bf16 feature error"]
        let table = [header] + rows
        let widths = (0..<header.count).map { c in table.map { $0[c].count }.max()! }
        for (i, r) in table.enumerated() {
            print(r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: " | "))
            if i == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-")) }
        }
        print("ratio = SonoKit / fastest anchor; bf16 feature error = max|bf16 - fp32| / max|fp32| of the pooled 512-d features.")
        print("* GFLOP/s counts the direct-convolution FLOPs (as the anchors do); Winograd lines do fewer multiplications for the same result.")
    }

    // MARK: Workers (child processes)

    /// Synthetic batches as the anchors make them: uint8 pixels / 255 in [0, 1], 0/1 labels.
    private func syntheticBatches(count: Int, seed: UInt64) -> [(Tensor, [Float])] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let x = (0..<(batch * 224 * 224 * 3)).map { _ in Float(rng.next() % 256) / 255 }
            return (Tensor(shape: [batch, 224, 224, 3], scalars: x), (0..<batch).map { _ in Float(rng.next() % 2) })
        }
    }

    private func runWorker(_ line: BenchLine) throws {
        CNNRuntime.retainFreedMemory()
        var rng = SplitMix64(seed: 0)
        let model = try line.architecture.make(rng: &rng)
        model.frozenPrecision = line.precision
        model.usesWinograd = line.winograd
        let data = syntheticBatches(count: 3, seed: 1)
        let adam = Adam(learningRate: 1e-3)
        // Every primitive of the step, created up front: which convolution kernels oneDNN chose.
        let kernels = try model.prepareKernels(batch: batch, training: line.training)
        let convolutions = Set(kernels.filter(\.isConvolutionForward)
            .map(\.implementation)).sorted()
        func step(_ x: Tensor, _ y: [Float]) throws {
            if line.training {
                var ctx = ForwardContext(training: true, rng: SplitMix64(seed: 2))
                let z = try model.logits(images: x, context: &ctx)
                try model.backward(BinaryCrossEntropy.lossAndGradient(logits: z, labels: y).gradient)
                adam.step(model.trainableParameters)
            } else {
                _ = try model.features(x)
            }
        }
        for i in 0..<warmup { try step(data[i % 3].0, data[i % 3].1) }
        var times: [Double] = []
        for i in 0..<steps {
            let (x, y) = data[(warmup + i) % 3]
            let t0 = DispatchTime.now().uptimeNanoseconds
            try step(x, y)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let ips = Double(batch * steps) / times.reduce(0, +)
        let flops = line.training ? model.trainingFLOPs : model.forwardFLOPs(upToFeatures: true)
        let result: [String: Any] = [
            "framework": "sonokit", "line": line.rawValue, "images_per_s": ips,
            "step_s_median": times.sorted()[times.count / 2], "gflops_per_image": flops / 1e9,
            "achieved_gflops_s": ips * flops / 1e9, "conv_impl": convolutions, "isa": CPUInfo.current.isa,
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print("RESULT " + String(decoding: json, as: UTF8.self))
    }

    /// Max relative error of bf16 pooled features against fp32 on 8 synthetic caffe-normalised
    /// images, with the ImageNet weights when installed (random weights otherwise).
    private func runFeatureErrorWorker() throws {
        var rng = SplitMix64(seed: 0)
        let model = try Architecture.vgg16.make(rng: &rng)
        var weights = "random weights"
        if let url = try? PretrainedWeights.vgg16ImageNet() {
            try model.loadWeights(from: url)
            weights = "ImageNet weights"
        }
        var pix = SplitMix64(seed: 3)
        let mean: [Float] = [103.939, 116.779, 123.68]
        let n = 8
        let x = Tensor(shape: [n, 224, 224, 3], scalars: (0..<(n * 224 * 224 * 3)).map { Float(pix.next() % 256) - mean[$0 % 3] })
        let fp32 = try model.features(x)
        model.frozenPrecision = .bf16
        let bf16 = try model.features(x)
        let error = Double(bf16.maxAbsDifference(fp32) / max(fp32.maxAbs, 1e-12))
        let json = try JSONSerialization.data(withJSONObject: ["feature_error": error, "weights": weights] as [String: Any])
        print("RESULT " + String(decoding: json, as: UTF8.self))
    }
}
