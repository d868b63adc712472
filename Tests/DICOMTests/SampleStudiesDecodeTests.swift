import DICOM
import Foundation
import Imaging
import SonoKitTestSupport
import XCTest

/// Every image of SampleStudies/ (every encoding the generator uses: native RGB in both planar
/// configurations, JPEG baseline YBR_FULL_422, RLE, JPEG-LS, MONOCHROME2 with windows and rescale,
/// MONOCHROME1, big endian, cine) decoded by the reader and by DCMTK's own renderer, run live.
final class SampleStudiesDecodeTests: XCTestCase {
    func sampleFiles() throws -> [String] {
        let root = RepositoryPaths.sampleStudies.path
        let names = try XCTUnwrap(FileManager.default.subpaths(atPath: root))
        return names.map { root + "/" + $0 }.filter { DicomFile.looksLikeDICOM(path: $0) }.sorted()
    }

    func testFirstAndLastFrameOfEveryImageMatchDCMTKsRenderer() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-samples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var encodings = Set<String>()
        var compared = 0
        for path in try sampleFiles() {
            let file = try DicomFile(path: path)
            guard file.metadata.isImage, !file.isDICOMDIR else { continue }
            let m = file.metadata
            encodings.insert("\(m.transferSyntaxUID) \(m.photometricInterpretation ?? "")")
            var voi: [String] = []
            if m.isMonochrome {
                voi = !m.windowCenters.isEmpty ? ["+Wi", "1"] : m.hasVOILUT ? ["+Wl", "1"] : ["+Wm"]
            }
            for f in Set([0, m.numberOfFrames - 1]) {
                let reference = work.appendingPathComponent("ref.png").path
                try DCMTKTools.run(DCMTKTools.renderer(forTransferSyntax: m.transferSyntaxUID),
                                   ["+on", "+F", "\(f + 1)"] + voi + [path, reference])
                let ours = try file.decodeFrame(f).image
                let difference = try XCTUnwrap(ours.maxAbsoluteDifference(to: try PNGFile.read(reference)))
                XCTAssertLessThanOrEqual(difference, 1, "\(path) frame \(f)")
                compared += 1
            }
        }
        XCTAssertGreaterThanOrEqual(encodings.count, 5, "SampleStudies should spread over the encodings: \(encodings)")
        XCTAssertGreaterThan(compared, 50)
    }

    func testSampleStudiesHaveRegionsOnMostFilesAndSomeCine() throws {
        let images = try sampleFiles().compactMap { try? DicomFile(path: $0) }.filter { $0.metadata.isImage }
        let withRegions = images.filter { !$0.metadata.regions.isEmpty }.count
        XCTAssertGreaterThan(withRegions, images.count / 2)
        XCTAssertLessThan(withRegions, images.count)
        XCTAssertTrue(images.contains { $0.metadata.numberOfFrames > 1 })
        XCTAssertTrue(images.contains { $0.metadata.photometricInterpretation == "MONOCHROME1" })
        for file in images {
            for region in file.metadata.regions {
                XCTAssertLessThan(region.maxX1, file.metadata.columns, file.path)
                XCTAssertLessThan(region.maxY1, file.metadata.rows, file.path)
            }
        }
    }
}
