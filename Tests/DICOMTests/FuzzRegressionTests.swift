import DICOM
import Foundation
import XCTest

/// Every input in Fixtures/fuzz-regressions (found by scripts/fuzz.sh; see the README there) is
/// read the way the fuzz target reads it — open, then every frame decoded — and must end in a
/// typed `DicomError` naming the file or in a successful read, never a crash, and without the
/// process's peak memory growing by 1 GiB.
final class FuzzRegressionTests: XCTestCase {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fuzz-regressions")

    /// The errors some inputs are known to give (file name -> `DicomError.kind`).
    static let expectedKinds = ["deflate-element-length-2-6-gib.dcm": "truncated",
                                "rle-segment-offset-past-end-mono16.dcm": "decode_failed",
                                "rle-segment-offset-past-end-rgb.dcm": "decode_failed",
                                "jpeg-more-frames-than-fragments.dcm": "truncated"]

    static func peakResidentKiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss
    }

    func testEveryFuzzRegressionInputGivesATypedErrorOrAReadWithinBoundedMemory() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0 != "README.md" }.sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let path = Self.folder.appendingPathComponent(name).path
            let before = Self.peakResidentKiB()
            var kind: String?
            do {
                let file = try DicomFile(path: path)
                if file.metadata.isImage {
                    for index in 0..<file.metadata.numberOfFrames { _ = try file.decodeFrame(index) }
                }
            } catch let error as DicomError {
                kind = error.kind
                XCTAssertTrue("\(error)".contains(path), "\(name): the error does not name the file: \(error)")
            } catch {
                XCTFail("\(name): an untyped error: \(error)")
            }
            if let expected = Self.expectedKinds[name] { XCTAssertEqual(kind, expected, name) }
            XCTAssertLessThan(Self.peakResidentKiB() - before, 1 << 20, "\(name): peak memory grew by 1 GiB or more")
        }
    }
}
