import ArgumentParser
import SonoKitCLI
import Catalog
import DICOM
import Dispatch
import Foundation
import Imaging
import Preprocess
import SonoKitCore

/// `sonokit-bench preprocess`: decode + crop + resample + normalise throughput of SonoKit against
/// the pipeline a user would otherwise write (pydicom + Pillow + numpy), on the same frames and
/// crop boxes, in one run, with 1 and N threads / processes.
struct BenchPreprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Frames/s of decode+crop+resample+normalise: SonoKit vs pydicom+Pillow+numpy, 1 and N cores.",
        discussion: """
        SonoKit: DicomFile -> FramePreprocessor (crop decided per instance, frames resampled and
        normalised to float32 tensors; no frame cache). Reference: scripts/bench/preprocess_reference.py
        (pydicom pixel_array, numpy crop, PIL ImageOps.pad BILINEAR, numpy caffe normalisation),
        given the same frames and crop boxes, with N worker processes for N cores. Best of
        --repeats runs each; the machine's other load affects both alike.

        Example:
          sonokit-bench preprocess SampleStudies --threads 1,2
        """
    )

    @Argument(help: "Folders of DICOM files.") var folders: [String] = ["SampleStudies"]
    @Option(help: "Thread (and process) counts to measure, comma-separated.")
    var threads: String = "1,\(ProcessInfo.processInfo.activeProcessorCount)"
    @Option(help: "Repeats per measurement (the best is reported).") var repeats: Int = 3
    @Option(help: "Python interpreter with pydicom, Pillow and numpy for the reference.") var python: String = "python3"
    @Flag(help: "Measure SonoKit only.") var noReference = false
    @OptionGroup var preprocess: PreprocessOptions

    func run() throws {
        let config = try preprocess.config()
        guard preprocess.frameCache == nil else {
            throw ValidationError("bench preprocess measures decoding and uses its own temporary frame cache for the second-epoch row; drop --frame-cache")
        }
        let counts = threads.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        guard !counts.isEmpty else { throw ValidationError("--threads must list positive integers, e.g. 1,2") }
        let paths = try ExportWalker.files(under: folders).map(\.path).filter(DicomFile.looksLikeDICOM(path:))
        // The work: every image instance, its selected frames and its crop (decided once here).
        let preprocessor = FramePreprocessor(config: config)
        var items: [WorkItem] = []
        for path in paths {
            guard let file = try? DicomFile(path: path), file.metadata.isImage, !file.isDICOMDIR,
                  let result = try? preprocessor.process(file), let crop = result.crop else { continue }
            items.append(WorkItem(path: path, frames: result.selection.indices,
                                  crop: [crop.box.x, crop.box.y, crop.box.width, crop.box.height]))
        }
        let frameTotal = items.reduce(0) { $0 + $1.frames.count }
        guard frameTotal > 0 else { throw ValidationError("no decodable image frames under \(folders.joined(separator: ", "))") }
        print("Preprocessing \(config.shortHash) \(config.canonicalJSON)")
        print("Work: \(frameTotal) frames of \(items.count) instances, best of \(repeats) runs")
        var worklist: URL? = nil
        if !noReference {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-bench-\(UUID().uuidString).json")
            try AtomicFile.write(try JSONEncoder().encode(Worklist(size: config.size, items: items)), to: url)
            worklist = url
        }
        defer { if let worklist { try? FileManager.default.removeItem(at: worklist) } }
        let header = "  cores".padding(toLength: 9, withPad: " ", startingAt: 0)
            + "SonoKit frames/s (per core)".padding(toLength: 32, withPad: " ", startingAt: 0)
            + (noReference ? "" : "reference frames/s (per core)".padding(toLength: 34, withPad: " ", startingAt: 0) + "ratio")
        print(header)
        var oneCore: Double? = nil
        var referenceStages: String? = nil
        for n in counts {
            let seconds = BenchTiming.best(repeats) { BenchTiming.parallel(items.count, threads: n) { i in
                let item = items[i]
                guard let file = try? DicomFile(path: item.path), let result = try? preprocessor.process(file) else { return }
                var tensor = [Float](repeating: 0, count: config.size * config.size * 3)
                tensor.withUnsafeMutableBufferPointer { buffer in
                    for frame in result.frames { config.normalize.normalize(frame.image, into: buffer) }
                }
            } }
            let rate = Double(frameTotal) / seconds
            if n == 1 { oneCore = rate }
            var line = "  \(n)".padding(toLength: 9, withPad: " ", startingAt: 0)
                + "\(BenchTiming.format(rate)) (\(BenchTiming.format(rate / Double(n))))".padding(toLength: 32, withPad: " ", startingAt: 0)
            if let worklist {
                let reference = try runReference(worklist: worklist, processes: n)
                let refRate = Double(reference.frames) / reference.seconds
                line += "\(BenchTiming.format(refRate)) (\(BenchTiming.format(refRate / Double(n))))".padding(toLength: 34, withPad: " ", startingAt: 0)
                line += String(format: "%.1fx", rate / refRate)
                if reference.frames != frameTotal { line += "  (reference did \(reference.frames) frames)" }
                if let stages = reference.ms_per_frame {
                    referenceStages = "Reference per frame, 1 process (\(reference.versions)): read+decode (pixel_array, all frames) "
                        + String(format: "%.2f ms, crop+pad+normalise %.2f ms", stages["decode"] ?? 0, stages["preprocess"] ?? 0)
                }
            }
            print(line)
        }
        // A second epoch: the same work served from the frame cache (no decoding at all).
        let cacheFolder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-bench-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cacheFolder) }
        let cached = FramePreprocessor(config: config, cache: FrameCache(directory: cacheFolder))
        for item in items { if let file = try? DicomFile(path: item.path) { _ = try? cached.process(file) } }
        for n in counts {
            let seconds = BenchTiming.best(repeats) { BenchTiming.parallel(items.count, threads: n) { i in
                guard let file = try? DicomFile(path: items[i].path), let result = try? cached.process(file) else { return }
                var tensor = [Float](repeating: 0, count: config.size * config.size * 3)
                tensor.withUnsafeMutableBufferPointer { buffer in
                    for frame in result.frames { config.normalize.normalize(frame.image, into: buffer) }
                }
            } }
            let rate = Double(frameTotal) / seconds
            print("  \(n)".padding(toLength: 9, withPad: " ", startingAt: 0)
                  + "\(BenchTiming.format(rate)) (\(BenchTiming.format(rate / Double(n)))) from the frame cache (a 2nd epoch: header read + cached 8-bit frame + normalise)")
        }
        // Crop + resample + normalise alone, on frames decoded beforehand: SonoKit's own stages,
        // without the reader, to separate their scaling from the decoder's.
        var decoded: [(RGBImage, CropDecision)] = []
        for item in items {
            guard let file = try? DicomFile(path: item.path) else { continue }
            let crop = CropDecision(box: PixelRect(x: item.crop[0], y: item.crop[1], width: item.crop[2], height: item.crop[3]), source: .regions)
            for f in item.frames { if let image = try? file.decodeRGB(frame: f, window: config.window) { decoded.append((image, crop)) } }
        }
        for n in counts {
            let seconds = BenchTiming.best(repeats) { BenchTiming.parallel(decoded.count, threads: n) { i in
                let square = preprocessor.render(decoded[i].0, crop: decoded[i].1)
                var tensor = [Float](repeating: 0, count: config.size * config.size * 3)
                tensor.withUnsafeMutableBufferPointer { config.normalize.normalize(square, into: $0) }
            } }
            let rate = Double(decoded.count) / seconds
            print("  \(n)".padding(toLength: 9, withPad: " ", startingAt: 0)
                  + "\(BenchTiming.format(rate)) (\(BenchTiming.format(rate / Double(n)))) crop+resample+normalise only, frames decoded beforehand")
        }
        printStageBreakdown(items: items, config: config, preprocessor: preprocessor)
        if let referenceStages { print(referenceStages) }
        if let one = oneCore, let maxN = counts.max(), maxN > 1 {
            print("Scaling note: see the rows above; \(maxN) cores vs 1 core speed-up is rate(\(maxN))/rate(1) (1-core rate \(BenchTiming.format(one)) frames/s).")
        }
        print("Note: other processes on this machine share the cores; rerun on an idle machine for clean numbers.")
    }

    /// One thread, each stage timed separately: where a SonoKit frame's time goes.
    private func printStageBreakdown(items: [WorkItem], config: PreprocessConfig, preprocessor: FramePreprocessor) {
        var open = 0.0, decode = 0.0, render = 0.0, normalise = 0.0, frames = 0
        var tensor = [Float](repeating: 0, count: config.size * config.size * 3)
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        for item in items {
            var t = now()
            guard let file = try? DicomFile(path: item.path) else { continue }
            open += now() - t
            let crop = CropDecision(box: PixelRect(x: item.crop[0], y: item.crop[1], width: item.crop[2], height: item.crop[3]),
                                    source: .regions)
            for f in item.frames {
                t = now()
                guard let image = try? file.decodeRGB(frame: f, window: config.window) else { continue }
                decode += now() - t; t = now()
                let square = preprocessor.render(image, crop: crop)
                render += now() - t; t = now()
                tensor.withUnsafeMutableBufferPointer { config.normalize.normalize(square, into: $0) }
                normalise += now() - t
                frames += 1
            }
        }
        guard frames > 0 else { return }
        func ms(_ s: Double) -> String { String(format: "%.2f ms", 1000 * s / Double(frames)) }
        print("SonoKit per frame, 1 thread: open \(ms(open)), decode \(ms(decode)), crop+resample \(ms(render)), normalise \(ms(normalise))")
    }

    struct WorkItem: Codable { let path: String; let frames: [Int]; let crop: [Int] }
    struct Worklist: Codable { let size: Int; let items: [WorkItem] }
    struct ReferenceResult: Decodable {
        let frames: Int; let seconds: Double; let versions: String
        let ms_per_frame: [String: Double]?
    }

    private func runReference(worklist: URL, processes: Int) throws -> ReferenceResult {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/bench/preprocess_reference.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script.path, "--worklist", worklist.path, "--processes", String(processes), "--repeats", String(repeats)]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0, let line = text.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }) else {
            throw ValidationError("reference pipeline failed (\(python) \(script.path)); it needs pydicom, Pillow and numpy "
                                  + "(pip install pydicom pillow numpy), or pass --no-reference:\n" + String(decoding: errors, as: UTF8.self))
        }
        return try JSONDecoder().decode(ReferenceResult.self, from: Data(line.dropFirst(7).utf8))
    }
}

