import ArgumentParser
import SonoKitCLI
import Catalog
import DICOM
import Dispatch
import Foundation

/// `sonokit-bench reader`: header-scan and decode throughput of the DICOM reader, per encoding,
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
          sonokit-bench reader SampleStudies --threads 1,2
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
            let seconds = BenchTiming.best(repeats) { BenchTiming.parallel(files.count, threads: n) { _ = try? DicomFile(path: files[$0]) } }
            print("  \(n) thread(s): \(BenchTiming.format(Double(files.count) / seconds)) files/s")
        }
        print("Decode, frames/s (frames/s per thread):")
        let header = "  encoding".padding(toLength: 66, withPad: " ", startingAt: 0) + "frames  " + counts.map { "\($0) thread(s)".padding(toLength: 22, withPad: " ", startingAt: 0) }.joined()
        print(header)
        for key in groups.keys.sorted() {
            let items = groups[key]!
            let work = items.flatMap { item in (0..<item.frames).map { (item.path, $0) } }
            var line = "  \(key)".padding(toLength: 66, withPad: " ", startingAt: 0) + String(work.count).padding(toLength: 8, withPad: " ", startingAt: 0)
            for n in counts {
                let seconds = BenchTiming.best(repeats) {
                    // One DicomFile per file and thread: split work by file so that a file is decoded by one thread.
                    BenchTiming.parallel(items.count, threads: n) { i in
                        guard let file = try? DicomFile(path: items[i].path) else { return }
                        for f in 0..<items[i].frames { _ = try? file.decodeFrame(f) }
                    }
                }
                let rate = Double(work.count) / seconds
                line += "\(BenchTiming.format(rate)) (\(BenchTiming.format(rate / Double(n))))".padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            print(line)
        }
    }
}

