import DICOM
import Foundation
import SonoKitCLI
import SonoKitTestSupport
import SonoKitTrainingTestSupport
import XCTest

/// Every command that reads DICOM (`inspect`, `ingest`, `preview`, `predict`), run as the built
/// binary on a sample of damaged files (issue 18, item 2): each ends with a typed error naming the
/// file, or succeeds, with the documented exit status, within 10 CPU seconds and 1 GiB of resident
/// memory (the kernel's own figures for that child, from wait4); `ingest` over the damaged files
/// mixed with good ones lists each damaged file as a problem and indexes the rest.
final class MutantCommandTests: XCTestCase {
    static var work: URL!
    /// Damaged files (each in the export folder) and good files.
    static var mutants: [URL] = []
    static var goods: [URL] = []
    static var export: URL!
    /// What the DICOM module says of each mutant read in this process: nil = reads and decodes.
    static var verdicts: [String: DicomError?] = [:]

    static func sample(_ relative: String) -> URL { RepositoryPaths.sampleStudies.appendingPathComponent(relative) }

    override class func setUp() {
        super.setUp()
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-mutants-\(UUID().uuidString)")
        export = work.appendingPathComponent("export")
        try! FileManager.default.createDirectory(at: export.appendingPathComponent("bad"), withIntermediateDirectories: true)
        try! FileManager.default.createDirectory(at: export.appendingPathComponent("good"), withIntermediateDirectories: true)
        try! makeMutants()
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: work)
        super.tearDown()
    }

    static func makeMutants() throws {
        let jpeg = sample("site-b/anon-12ea09/study-1/IMG0001.dcm")        // JPEG baseline YBR_FULL_422
        let native = sample("site-b/anon-1bd27d/study-1/IMG0001.dcm")      // explicit VR little endian RGB
        let jpegLS = sample("site-b/anon-75c256/study-1/IMG0002.dcm")      // JPEG-LS lossless
        let implicitVR = sample("site-b/anon-f403d2/study-2/IMG0001.dcm")  // implicit VR little endian
        let bad = export.appendingPathComponent("bad")
        func write(_ data: Data, _ name: String) throws {
            let url = bad.appendingPathComponent(name)
            try data.write(to: url)
            mutants.append(url)
        }
        func corrupt(_ source: URL, _ mutation: DicomMutants.Mutation, elementAt fraction: Double, _ name: String) throws {
            let data = try Data(contentsOf: source)
            let elements = DicomMutants.headerElements(of: data)
            let element = elements[min(elements.count - 1, Int(Double(elements.count) * fraction))]
            try write(XCTUnwrap(DicomMutants.apply(mutation, at: element, in: data)), name)
        }
        func edited(_ source: URL, _ edits: [String], _ name: String) throws {
            let url = bad.appendingPathComponent(name)
            try FileManager.default.copyItem(at: source, to: url)
            try DCMTKTools.run("dcmodify", ["-nb", "-q"] + edits.flatMap { ["-i", $0] } + [url.path])
            mutants.append(url)
        }
        let jpegBytes = try Data(contentsOf: jpeg)
        try write(jpegBytes.prefix(jpegBytes.count * 3 / 5), "jpeg-truncated.dcm")
        try corrupt(native, .invalidVR, elementAt: 0.5, "native-invalid-vr.dcm")
        try corrupt(native, .otherVR, elementAt: 0.3, "native-other-vr.dcm")
        try corrupt(jpegLS, .undefinedLength, elementAt: 0.6, "jpegls-undefined-length.dcm")
        try corrupt(implicitVR, .lengthPastEnd, elementAt: 0.4, "implicit-length-past-end.dcm")
        try corrupt(jpeg, .lengthPastEnd, elementAt: 0.99, "jpeg-pixel-length-past-end.dcm")
        try write(DicomMutants.nestedSequences(depth: 10_000, .explicitUndefinedLengths), "nested-10000.dcm")
        try write(DicomMutants.nestedSequences(depth: 10_000, .implicitUndefinedLengths), "nested-10000-implicit.dcm")
        try edited(native, ["(0028,0010)=65535", "(0028,0011)=65535"], "native-rows-columns-65535.dcm")
        try edited(jpeg, ["(0028,0008)=2147483648"], "jpeg-frames-2-31.dcm")
        try edited(jpeg, ["(0028,0010)=1440", "(0028,0011)=1920"], "jpeg-larger-rows-columns.dcm")
        try edited(jpegLS, ["(0028,0100)=0"], "jpegls-bits-allocated-0.dcm")
        // Good files: two studies of two patients (RLE, JPEG baseline), indexed and scored.
        for relative in ["site-b/anon-8ccd12/study-2/IMG0001.dcm", "site-b/anon-12ea09/study-1/IMG0002.dcm"] {
            let url = export.appendingPathComponent("good").appendingPathComponent(relative.replacingOccurrences(of: "/", with: "-"))
            try FileManager.default.copyItem(at: sample(relative), to: url)
            goods.append(url)
        }
        for url in mutants {
            do {
                let file = try DicomFile(path: url.path)
                if file.metadata.isImage { for f in 0..<file.metadata.numberOfFrames { _ = try file.decodeFrame(f) } }
                verdicts[url.path] = .some(nil)
            } catch {
                verdicts[url.path] = .some(error as? DicomError)
            }
        }
    }

    /// `sonokit ARGUMENTS` with stderr merged into the output (the shell `exec`s the binary, so
    /// wait4's figures are the binary's), a 120 s wall-clock deadline as the hang guard, and the
    /// 10 CPU-second / 1 GiB limits asserted.
    func sonokit(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ChildProcessResult {
        let result = try SonoKitCLI.ChildProcess.run(["/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", SonoKitCommand.executable.path] + arguments,
                                                     timeout: 120)
        XCTAssertLessThan(result.cpuSeconds, 10, "\(arguments.prefix(2)) used \(result.cpuSeconds) CPU s", file: file, line: line)
        XCTAssertLessThan(result.peakRSSMiB, 1024, "\(arguments.prefix(2)) peaked at \(result.peakRSSMiB) MiB", file: file, line: line)
        XCTAssertLessThan(result.status, 128, "\(arguments.prefix(2)) died of signal \(result.status - 128): \(result.output)", file: file, line: line)
        return result
    }

    /// The mutants the reader refuses (opening or decoding), and those it reads: an invalid VR in
    /// the middle of a native file is one DCMTK reads past (its length field keeps the framing).
    static var refused: [URL] { mutants.filter { verdicts[$0.path]! != nil } }
    static var readable: [URL] { mutants.filter { verdicts[$0.path]! == nil } }

    func testTheMutantsAreDamagedInTheWaysIntended() {
        XCTAssertEqual(Self.mutants.count, 12)
        XCTAssertEqual(Self.readable.map(\.lastPathComponent), ["native-invalid-vr.dcm"], "\(Self.verdicts)")
        XCTAssertEqual(Self.verdicts[Self.export.appendingPathComponent("bad/nested-10000.dcm").path]??.kind, "unreadable")
        XCTAssertEqual(Self.verdicts[Self.export.appendingPathComponent("bad/jpeg-larger-rows-columns.dcm").path]??.kind, "decode_failed")
        XCTAssertEqual(Self.verdicts[Self.export.appendingPathComponent("bad/native-rows-columns-65535.dcm").path]??.kind, "implausible_dimensions")
    }

    // MARK: inspect: exit 1 and the reader's error naming the file, when the file cannot be opened;
    // else its report (inspect reads the header; `--png` decodes frame 0).
    func testInspectNamesEveryDamagedFile() throws {
        for url in Self.mutants {
            let opens = (try? DicomFile(path: url.path)) != nil
            let result = try sonokit(["inspect", url.path])
            if opens {
                XCTAssertEqual(result.status, 0, "\(url.lastPathComponent): \(result.output)")
                let png = Self.work.appendingPathComponent(url.lastPathComponent + ".png").path
                let decoded = try sonokit(["inspect", url.path, "--frame", "0", "--png", png])
                if case .decodeFailed? = Self.verdicts[url.path]!, !FileManager.default.fileExists(atPath: png) {
                    XCTAssertEqual(decoded.status, 1, "\(url.lastPathComponent): \(decoded.output)")
                    XCTAssertTrue(decoded.output.contains(url.path), "\(url.lastPathComponent): \(decoded.output)")
                }
            } else {
                XCTAssertEqual(result.status, 1, "\(url.lastPathComponent): \(result.output)")
                XCTAssertTrue(result.output.contains("Error: \(url.path): "), "\(url.lastPathComponent): \(result.output)")
            }
        }
    }

    // MARK: ingest --verify: exit 0, every damaged file a problem (by path), every good file indexed
    func testIngestListsEveryDamagedFileAsAProblemAndIndexesTheRest() throws {
        let catalog = Self.work.appendingPathComponent("catalog.sqlite").path
        let result = try sonokit(["ingest", Self.export.path, "--catalog", catalog, "--verify"])
        XCTAssertEqual(result.status, 0, result.output)
        let problems = try sonokit(["catalog", "problems", "--catalog", catalog, "--json"])
        XCTAssertEqual(problems.status, 0, problems.output)
        let listed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(problems.output.utf8)) as? [[String: Any]])
        let paths = Set(listed.compactMap { $0["path"] as? String }.map { URL(fileURLWithPath: $0, relativeTo: Self.export).standardizedFileURL.path })
        for url in Self.refused {
            XCTAssertTrue(paths.contains(url.standardizedFileURL.path) || paths.contains { $0.hasSuffix("bad/" + url.lastPathComponent) },
                          "\(url.lastPathComponent) is not listed as a problem: \(listed)")
        }
        XCTAssertEqual(listed.count, Self.refused.count, "\(listed)")
        XCTAssertEqual(Set(listed.compactMap { $0["kind"] as? String }),
                       Set(Self.refused.compactMap { Self.verdicts[$0.path]!?.kind }), "each problem has the reader's kind")
        let summary = try sonokit(["catalog", "summary", "--catalog", catalog, "--json"])
        let totals = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(summary.output.utf8)) as? [String: Any])
        XCTAssertEqual(totals["image_instances"] as? Int, Self.goods.count + Self.readable.count, "the good (and readable) files are indexed: \(totals)")
    }

    // MARK: preview: each damaged file alone is skipped with the reader's error naming it; with
    // good files beside them the run succeeds (exit 0) and says how many were skipped.
    func testPreviewSkipsEveryDamagedFileNamingIt() throws {
        for url in Self.mutants {
            let out = Self.work.appendingPathComponent("preview-" + url.lastPathComponent).path
            let result = try sonokit(["preview", url.path, "-o", out, "--frames", "first", "--size", "64"])
            XCTAssertEqual(result.status, 0, "\(url.lastPathComponent): \(result.output)")
            if Self.verdicts[url.path]! != nil {
                XCTAssertTrue(result.output.contains("skipped: \(url.path): "), "\(url.lastPathComponent): \(result.output)")
            } else {
                XCTAssertTrue(result.output.contains("preview: 1 frames of 1 instances"), "\(url.lastPathComponent): \(result.output)")
            }
        }
        let out = Self.work.appendingPathComponent("preview-all").path
        let result = try sonokit(["preview", Self.export.path, "-o", out, "--frames", "first", "--size", "64"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("(\(Self.refused.count) files not images or unreadable)"), result.output)
        for url in Self.refused { XCTAssertTrue(result.output.contains("skipped: \(url.path): "), "\(url.lastPathComponent): \(result.output)") }
    }

    // MARK: predict: damaged files listed in unreadable-files.csv (paths with --include-identifiers)
    // or their study not reported, with the reason; the good studies scored; exit 0. Only damaged
    // input: exit 1 naming the list of unreadable files.
    func testPredictScoresTheGoodStudiesAndListsTheDamagedFiles() throws {
        let run = Self.work.appendingPathComponent("run").path
        try HandSetRun.write(to: run, size: 64, crop: .regions, frames: .uniform(2))
        let out = Self.work.appendingPathComponent("predict")
        let result = try sonokit(["predict", run, Self.export.path, "-o", out.path, "--include-identifiers"])
        XCTAssertEqual(result.status, 0, result.output)
        let csv = try String(contentsOf: out.appendingPathComponent("predictions.csv"), encoding: .utf8)
        // The two good studies and the readable mutant's study are scored (the good JPEG file shares
        // its study with a mutant whose frames fail: the study is reported from the good file).
        XCTAssertEqual(csv.split(separator: "\n").filter { $0.contains(",reported,") }.count, 3, csv)
        let unreadable = try String(contentsOf: out.appendingPathComponent("unreadable-files.csv"), encoding: .utf8)
        for url in Self.refused where (try? DicomFile(path: url.path)) == nil {
            XCTAssertTrue(unreadable.contains(url.path), "\(url.lastPathComponent) not in unreadable-files.csv:\n\(unreadable)")
        }
        // Files that open but whose frames cannot be decoded: named with the reader's error in the
        // failed study's row of predictions.csv, or among the failures of its study's report.
        let reports = try FileManager.default.contentsOfDirectory(at: out, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        for url in Self.refused where (try? DicomFile(path: url.path)) != nil {
            let error = Self.verdicts[url.path]!!.description
            let named = csv.contains(error) || reports.contains(url.path)
            XCTAssertTrue(named, "\(url.lastPathComponent) not named with its error (\(error)):\n\(csv)\n\(reports.prefix(3000))")
        }
        let alone = Self.work.appendingPathComponent("predict-alone")
        let nested = Self.export.appendingPathComponent("bad/nested-10000.dcm").path
        let refused = try sonokit(["predict", run, nested, "-o", alone.path, "--include-identifiers"])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("no DICOM image instances under \(nested) (1 unreadable files"), refused.output)
    }
}
