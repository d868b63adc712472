import ArgumentParser
import SonoKitCLI
import Foundation

/// `sonokit-bench train`: the reference recipe's training — frozen VGG16 + head, Adam, 10 epochs,
/// no augmentation — over SampleStudies' training frames, in SonoKit and in Keras, in one
/// invocation: wall time and peak resident memory (each side in its own child process, wait4).
///
/// SonoKit runs `sonokit train` as a user would (DICOM decoding, preprocessing, validation every
/// epoch, checkpoints and model card included) twice: cold (empty frame and feature caches: every
/// frame decoded and sent through the base once) and warm (caches filled by the cold run: a second
/// experiment on the same data). Keras runs the anchors' `bench_cache.py --what fit`: `model.fit`
/// over the same number of in-memory images (no decoding, no validation), recomputing the frozen
/// base every epoch, as the reference recipe does.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Benchmark `sonokit train` (frozen VGG16, feature cache) against Keras fit on the same frames.",
        discussion: """
        Needs the ImageNet VGG16 weights for SonoKit (scripts/weights/fetch-vgg16-imagenet.sh) and a Python with \
        tensorflow + keras for the anchor (pip install tensorflow-cpu keras); without it, SonoKit alone is measured.

        Example:
          sonokit-bench train --python /tmp/anchors/bin/python
        """
    )

    @Option(help: "The sample export (with labels.csv).") var samples = "SampleStudies"
    @Option(help: "Epochs (the reference recipe: 10).") var epochs = 10
    @Option(help: "Python interpreter for the Keras anchor (env SONOKIT_BENCH_PYTHON).")
    var python = ProcessInfo.processInfo.environment["SONOKIT_BENCH_PYTHON"] ?? "python3"
    @Option(help: "Folder holding bench_cache.py, bench_keras.py and common.py.") var anchors = "scripts/bench"
    @Flag(help: "Run SonoKit only.") var noAnchors = false

    func run() throws {
        // The user's `sonokit`, built next to this benchmark.
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("sonokit").path
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-bench-train-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }
        let labels = (samples as NSString).appendingPathComponent("labels.csv")
        let declare = ["--classes", "benign,malignant", "--positive", "malignant"]
        for step in [[me, "ingest", samples, "--catalog", path("catalog.sqlite")],
                     [me, "manifest", "split", labels, "--catalog", path("catalog.sqlite")] + declare
                        + ["--ratios", "0.6,0.2,0.2", "--seed", "7", "--no-pixel-check", "-o", path("splits.csv")]] {
            let r = try ChildProcess.run(step, quietStderr: true)
            guard r.status == 0 else { throw CommandFailure("bench train: `\(step.dropFirst().joined(separator: " "))` failed:\n\(r.output)") }
        }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        print("sonokit-bench train: frozen VGG16 + head, Adam 1e-3, batch 32, \(epochs) epochs, no augmentation; "
              + "\(ProcessInfo.processInfo.activeProcessorCount) CPUs (shared machine: other jobs may run), load average \(load)")

        func sonokit(_ name: String) throws -> (seconds: Double, rss: Double, frames: Int) {
            let args = [me, "train", labels, "--catalog", path("catalog.sqlite")] + declare
                + ["--no-pixel-check", "--splits", path("splits.csv"), "--model", "vgg16", "--epochs", "\(epochs)", "--batch", "32",
                   "--frame-cache", path("frame-cache"), "--feature-cache", path("feature-cache"), "-o", path(name)]
            let start = Date()
            let r = try ChildProcess.run(args, quietStderr: true)
            let seconds = Date().timeIntervalSince(start)
            guard r.status == 0 else { throw CommandFailure("bench train: sonokit train failed:\n\(r.output)") }
            let frames = r.output.split(separator: "\n").first { $0.hasPrefix("Training vgg16 on ") }
                .flatMap { Int($0.dropFirst("Training vgg16 on ".count).split(separator: " ")[0]) } ?? 0
            return (seconds, r.peakRSSMiB, frames)
        }
        let cold = try sonokit("run-cold")
        let warm = try sonokit("run-warm")
        var rows = [["SonoKit, cold caches (decode + base once, head \(epochs) epochs, validation)", String(format: "%.1f", cold.seconds), String(format: "%.0f", cold.rss)],
                    ["SonoKit, warm caches (a second run on the same frames)", String(format: "%.1f", warm.seconds), String(format: "%.0f", warm.rss)]]
        var keras: (seconds: Double, rss: Double)?
        if !noAnchors {
            let probe = try? ChildProcess.run([python, "-c", "import keras, tensorflow"], quietStderr: true)
            if probe?.status == 0 {
                let r = try ChildProcess.run([python, "\(anchors)/bench_cache.py", "--what", "fit", "--n", "\(cold.frames)", "--epochs", "\(epochs)"],
                                             quietStderr: true)
                if r.status == 0, let line = r.output.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }),
                   let obj = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any],
                   let s = obj["fit_s"] as? Double {
                    keras = (s, r.peakRSSMiB)
                    rows.append(["Keras fit (\(obj["version"] as? String ?? "?")): base recomputed every epoch, in-memory images", String(format: "%.1f", s), String(format: "%.0f", r.peakRSSMiB)])
                } else {
                    print("Keras anchor failed:\n\(r.output)")
                }
            } else {
                print("Keras anchor: not installed for \(python) (pip install tensorflow-cpu keras); skipped.")
            }
        }
        print("\(cold.frames) training frames x \(epochs) epochs")
        let width = rows.map { $0[0].count }.max() ?? 0
        print("what".padding(toLength: width, withPad: " ", startingAt: 0) + "  wall s   peak RSS MiB")
        for r in rows { print(r[0].padding(toLength: width, withPad: " ", startingAt: 0) + "  " + r[1].leftPadded(6) + "   " + r[2].leftPadded(8)) }
        if let keras {
            print(String(format: "ratio (Keras wall time / SonoKit wall time): cold %.1fx, warm %.1fx", keras.seconds / cold.seconds, keras.seconds / warm.seconds))
        }
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
