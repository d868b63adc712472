import Catalog
import DICOM
import Foundation
import XCTest
import Imaging
import SonoKitTestSupport
import Preprocess
import SonoKitCore

/// `sonokit preview` end to end, as a user runs it.
final class PreviewCommandTests: XCTestCase {
    /// Every image of SampleStudies, found by content.
    static let images: [DicomFile] = {
        let paths = (try? ExportWalker.files(under: [RepositoryPaths.sampleStudies.path]).map(\.path)) ?? []
        return paths.filter(DicomFile.looksLikeDICOM(path:)).compactMap { try? DicomFile(path: $0) }
            .filter { $0.metadata.isImage && !$0.isDICOMDIR }
    }()

    // MARK: Pictures for every selected frame, a contact sheet per study, no identifiers in names
    func testPreviewWritesTheCheckPicturesWithPseudonymousNames() throws {
        // A study with a cine loop (frames come from a uniform policy) found by content.
        let loop = try XCTUnwrap(Self.images.first { $0.metadata.numberOfFrames >= 4 })
        let studyFolder = URL(fileURLWithPath: loop.path).deletingLastPathComponent().path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-preview-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try SonoKitCommand.run(["preview", studyFolder, "-o", out.path, "--frames", "uniform:3", "--normalize", "imagenet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let config = PreprocessConfig(frames: .uniform(3), normalize: .imagenet)
        XCTAssertTrue(run.stdout.contains(config.shortHash), run.stdout)

        let study = out.appendingPathComponent("study-" + Pseudonym.unkeyed(loop.metadata.studyInstanceUID))
        let instance = "inst-" + Pseudonym.unkeyed(loop.metadata.sopInstanceUID)
        for frame in FramePolicy.uniform(3).select(frameCount: loop.metadata.numberOfFrames).indices {
            let stem = study.appendingPathComponent("\(instance)-f\(String(format: "%03d", frame))").path
            let source = try PNGFile.read(stem + "-source.png")
            let input = try PNGFile.read(stem + "-input.png")
            XCTAssertEqual([source.width, source.height], [loop.metadata.columns, loop.metadata.rows])
            XCTAssertEqual([input.width, input.height], [224, 224])
            // The input PNG is exactly the cached 8-bit frame the tensor was made from.
            let expected = try FramePreprocessor(config: config).process(loop).frames.first { $0.frameIndex == frame }
            XCTAssertEqual(input, expected?.image)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: study.appendingPathComponent("contact-sheet.png").path))
        let json = try String(contentsOf: study.appendingPathComponent("preview.json"), encoding: .utf8)
        XCTAssertTrue(json.contains(config.hash))
        XCTAssertTrue(json.contains("\"source\""))

        // No patient name, ID or birth date in any path or in preview.json.
        let names = try FileManager.default.subpathsOfDirectory(atPath: out.path).joined(separator: "\n") + json
        let ids = loop.identifiers
        for value in [ids.patientName, ids.patientID, ids.birthDate].compactMap({ $0 }).filter({ $0.count >= 3 }) {
            XCTAssertFalse(names.contains(value), "identifier '\(value)' leaked into the preview output")
            for part in value.split(whereSeparator: { "^ ".contains($0) }) where part.count >= 3 {
                XCTAssertFalse(names.contains(part), "identifier part '\(part)' leaked")
            }
        }
    }

    // MARK: Bad options: a clear error naming the option, non-zero exit
    func testBadOptionsAreNamed() throws {
        let frames = try SonoKitCommand.run(["preview", "SampleStudies", "-o", "/tmp/x", "--frames", "uniform:0"])
        XCTAssertNotEqual(frames.status, 0)
        XCTAssertTrue(frames.stderr.contains("--frames"), frames.stderr)
        let window = try SonoKitCommand.run(["preview", "SampleStudies", "-o", "/tmp/x", "--window", "40"])
        XCTAssertNotEqual(window.status, 0)
        XCTAssertTrue(window.stderr.contains("CENTER,WIDTH"), window.stderr)
    }
}
