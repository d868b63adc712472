import ArgumentParser
import Catalog
import DICOM
import Dispatch
import Foundation

/// `sonokit bench reader`: header-scan and decode throughput of the DICOM reader, per encoding,
/// with 1 and with N threads.
struct BenchReader: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reader",
        abstract: "Measure header-scan (files/s) and decode (frames/s) throughput per encoding, 1 and N threads.",
        discussion: """
        Runs the same work at each thread count in one process: header scans of every file
        (what `ingest` does), then a decode of every frame grouped by transfer syntax and colour
        model. Best of --repeats runs.

        Example:
          sonokit bench reader SampleStudies --threads 1,2
        """
    )

    @Argument(help: "Folders of DICOM files.") var folders: [String] = ["SampleStudies"]
    @Option(help: "Thread counts to measure, comma-separated.") var threads: String = "1,\(ProcessInfo.processInfo.activeProcessorCount)"
    @Option(help: "Repeats per measurement (the best is reported).") var repeats: Int = 3

    func run() throws {
        let counts = threads.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        guard !counts.isEmpty else { throw ValidationError("--threads must list positive integers, e.g. 1,2") }
        let files = try ExportWalker.files(under: folders).map(\.path).filter(DicomFile.looksLikeDICOM(path:))
        // Group decodable images by encoding.
        var groups: [String: [(path: String, frames: Int)]] = [:]
        for path in files {
            guard let file = try? DicomFile(path: path), file.metadata.isImage else { continue }
            let m = file.metadata
            let key = "\(m.transferSyntaxName) \(m.photometricInterpretation ?? "?")"
            groups[key, default: []].append((path, m.numberOfFrames))
        }
        print("Header scan of \(files.count) files:")
        for n in counts {
            let seconds = best(repeats) { parallel(files.count, threads: n) { _ = try? DicomFile(path: files[$0]) } }
            print("  \(n) thread(s): \(fmt(Double(files.count) / seconds)) files/s")
        }
        print("Decode, frames/s (frames/s per thread):")
        let header = "  encoding".padding(toLength: 56, withPad: " ", startingAt: 0) + "frames  " + counts.map { "\($0) thread(s)".padding(toLength: 22, withPad: " ", startingAt: 0) }.joined()
        print(header)
        for key in groups.keys.sorted() {
            let items = groups[key]!
            let work = items.flatMap { item in (0..<item.frames).map { (item.path, $0) } }
            var line = "  \(key)".padding(toLength: 56, withPad: " ", startingAt: 0) + String(work.count).padding(toLength: 8, withPad: " ", startingAt: 0)
            for n in counts {
                let seconds = best(repeats) {
                    // One DicomFile per file and thread: split work by file so that a file is decoded by one thread.
                    parallel(items.count, threads: n) { i in
                        guard let file = try? DicomFile(path: items[i].path) else { return }
                        for f in 0..<items[i].frames { _ = try? file.decodeFrame(f) }
                    }
                }
                let rate = Double(work.count) / seconds
                line += "\(fmt(rate)) (\(fmt(rate / Double(n))))".padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            print(line)
        }
    }

    private func fmt(_ x: Double) -> String { String(format: x >= 100 ? "%.0f" : "%.1f", x) }

    /// Runs `body(i)` for i in 0..<count on `threads` threads pulling from a shared counter.
    private func parallel(_ count: Int, threads: Int, _ body: @escaping (Int) -> Void) {
        let lock = NSLock()
        var next = 0
        DispatchQueue.concurrentPerform(iterations: min(threads, max(count, 1))) { _ in
            while true {
                lock.lock(); let i = next; next += 1; lock.unlock()
                guard i < count else { return }
                body(i)
            }
        }
    }

    private func best(_ repeats: Int, _ work: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now()
            work()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
        }
        return best
    }
}
