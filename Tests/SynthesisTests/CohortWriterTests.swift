import DICOM
import Foundation
import Imaging
import SonoKitTestSupport
import XCTest
@testable import Synthesis

/// A small cohort (40 patients: at least one copy of SampleStudies' 57 instance kinds, so every
/// encoding, colour model, region layout and cine kind) written at half size and at most three
/// frames per cine, checked against peers nobody here wrote: dicom3tools' dciodvfy (every object
/// conforms to its IOD) and DCMTK's dcmj2pnm/dcml2pnm (SonoKit's reader decodes every frame of
/// every file to the same pixels).
final class CohortWriterTests: XCTestCase {
    static let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-synth-tests-\(UUID().uuidString)")

    override class func tearDown() { try? FileManager.default.removeItem(at: work) }

    /// The plan of `patients` patients with every image shrunk (half size, ≤ 3 frames) so that
    /// the test renders quickly; the kinds of storage are unchanged.
    static func smallPlan(patients: Int = 40, seed: UInt64 = 9) throws -> CohortPlan {
        var plan = try CohortPlan.make(CohortParameters(patients: patients, seed: seed))
        for s in plan.studies.indices {
            for i in plan.studies[s].instances.indices {
                plan.studies[s].instances[i].width /= 2
                plan.studies[s].instances[i].height /= 2
                plan.studies[s].instances[i].frames = min(plan.studies[s].instances[i].frames, 3)
            }
        }
        return plan
    }

    /// Written once, shared by the tests that only read it.
    static let written: (root: URL, plan: CohortPlan, summary: CohortWriter.Summary)? = {
        guard let plan = try? smallPlan() else { return nil }
        let root = work.appendingPathComponent("a")
        guard let summary = try? CohortWriter(plan: plan, root: root, threads: 2).write() else { return nil }
        return (root, plan, summary)
    }()

    func cohort() throws -> (root: URL, plan: CohortPlan, summary: CohortWriter.Summary) {
        try XCTUnwrap(Self.written, "the small cohort could not be written")
    }

    static func files(_ root: URL) -> [String] {
        var result: [String] = []
        let walker = FileManager.default.enumerator(atPath: root.path)!
        for case let name as String in walker {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory)
            if !isDirectory.boolValue { result.append(name) }
        }
        return result.sorted()
    }

    func testTheLayoutLabelsAndRecordAreThoseOfSampleStudies() throws {
        let (root, plan, summary) = try cohort()
        let files = Self.files(root)
        let images = plan.studies.reduce(0) { $0 + $1.instances.count }
        XCTAssertGreaterThanOrEqual(images, 57)
        XCTAssertEqual(summary.instances, images)
        XCTAssertEqual(Set(plan.studies.flatMap(\.instances).map(\.encoding)), Set(Encoding.allCases))
        let dicom = files.filter { $0.hasPrefix("SITEA/") || $0.hasPrefix("site-b/") }
        XCTAssertEqual(dicom.count, images + 2)
        XCTAssertEqual(dicom.filter { $0.hasSuffix("/SR0001.dcm") }.count, 1)
        XCTAssertEqual(dicom.filter { $0.hasSuffix("/KO000001") }.count, 1)
        for path in dicom where path.hasPrefix("SITEA/") {
            // ISO 9660 style: components of ≤ 8 characters of A-Z, 0-9, _.
            for component in path.split(separator: "/") {
                XCTAssertTrue(component.count <= 8 && component.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }, path)
            }
        }
        XCTAssertTrue(dicom.filter { $0.hasPrefix("site-b/") }.allSatisfy { $0.hasSuffix(".dcm") })
        XCTAssertTrue(files.contains("DICOMDIR") && files.contains("labels.csv") && files.contains("cohort.json"))
        let labels = try String(contentsOf: root.appendingPathComponent("labels.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(labels.first, "study_uid,label,patient_id,site")
        XCTAssertEqual(labels.count, plan.studies.count + 1)
        XCTAssertEqual(Set(labels.dropFirst().map { String($0.split(separator: ",")[0]) }), Set(plan.studies.map(\.uid)))
        let record = try XCTUnwrap(CohortWriter.record(at: root))
        XCTAssertTrue(record.matches(plan.parameters))
        XCTAssertEqual(record.counts.instances, images)
        XCTAssertEqual(record.lesions, ["benign": "none", "malignant": "hypoechoic shadowing mass"])
    }

    /// dciodvfy reports no error for any object, the DICOMDIR included. dciodvfy cannot read a
    /// deflated file, so that one is checked after DCMTK's dcmconv has inflated it (+te).
    func testEveryObjectPassesDciodvfy() throws {
        let (root, _, _) = try cohort()
        let scratch = Self.work.appendingPathComponent("inflated.dcm")
        var checked = 0
        for name in Self.files(root) where name != "labels.csv" && name != "cohort.json" && !name.hasPrefix(".") {
            var path = root.appendingPathComponent(name).path
            if name != "DICOMDIR", try DicomFile(path: path).metadata.transferSyntaxUID == Encoding.deflate.transferSyntaxUID {
                try DCMTKTools.run("dcmconv", ["+te", path, scratch.path])
                path = scratch.path
            }
            let report = try Self.dciodvfy(path)
            let errors = report.split(separator: "\n").filter { $0.hasPrefix("Error") }
            XCTAssertTrue(errors.isEmpty, "\(name): \(errors.joined(separator: "; "))")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 60)
    }

    static func dciodvfy(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["dciodvfy", path]
        let output = try ChildProcess.run(process)
        return output.stdout + output.stderr
    }

    /// Every frame of every image decodes with SonoKit's reader to DCMTK's rendering of it
    /// (dcmj2pnm, or dcml2pnm for JPEG-LS; the file's first window for grayscale), within one
    /// grey level; the lossless ones also to the pixels that were rendered.
    func testTheReaderDecodesEveryFrameAsDCMTKDoes() throws {
        let (root, plan, _) = try cohort()
        let writer = CohortWriter(plan: plan, root: root)
        let png = Self.work.appendingPathComponent("frame.png")
        var frames = 0
        for study in plan.studies {
            for (position, spec) in study.instances.enumerated() {
                let path = root.appendingPathComponent(writer.relativePath(study: study, number: position + 1)).path
                let file = try DicomFile(path: path)
                XCTAssertEqual(file.metadata.transferSyntaxUID, spec.encoding.transferSyntaxUID, path)
                XCTAssertEqual(file.metadata.numberOfFrames, spec.frames, path)
                XCTAssertEqual(file.metadata.regions.count, spec.regions ? (spec.dual ? 2 : 1) + (spec.greyBarRegion ? 1 : 0) : 0, path)
                XCTAssertTrue(file.metadata.isUltrasound, path)
                let tool = DCMTKTools.renderer(forTransferSyntax: file.metadata.transferSyntaxUID)
                let voi = file.metadata.isMonochrome ? ["+Wi", "1"] : []
                for f in 0..<spec.frames {
                    let frame = try file.decodeFrame(f)
                    try DCMTKTools.run(tool, ["+on", "+F", "\(f + 1)"] + voi + [path, png.path])
                    let reference = try PNGFile.read(png.path)
                    let difference = try XCTUnwrap(frame.image.maxAbsoluteDifference(to: reference), "\(path) size")
                    XCTAssertLessThanOrEqual(difference, 1, "\(path) (\(spec.encoding.rawValue) \(spec.colour.rawValue)) frame \(f)")
                    frames += 1
                }
            }
        }
        XCTAssertGreaterThan(frames, 60)
    }

    /// Same plan, other thread count: the same bytes in every file (cohort.json included: it records
    /// no time); another seed: other labels.
    func testSameSeedGivesTheSameBytesWhateverTheThreadsAndAnotherSeedDiffers() throws {
        let (root, plan, _) = try cohort()
        let again = Self.work.appendingPathComponent("b")
        _ = try CohortWriter(plan: try Self.smallPlan(), root: again, threads: 1).write()
        let files = Self.files(root).filter { !$0.hasPrefix(".") }
        XCTAssertTrue(files.contains("cohort.json"))
        XCTAssertEqual(files, Self.files(again).filter { !$0.hasPrefix(".") })
        for name in files {
            XCTAssertEqual(try Data(contentsOf: root.appendingPathComponent(name)), try Data(contentsOf: again.appendingPathComponent(name)), name)
        }
        XCTAssertEqual(plan, try Self.smallPlan())
        // Another seed: other labels.csv and other pixels in the same file position.
        let one = try Self.tinyCohort(seed: 1, name: "seed1"), two = try Self.tinyCohort(seed: 2, name: "seed2")
        XCTAssertNotEqual(try Data(contentsOf: one.appendingPathComponent("labels.csv")), try Data(contentsOf: two.appendingPathComponent("labels.csv")))
        let first = { (root: URL) in try Self.files(root).first { $0.hasPrefix("site-b/") && $0.hasSuffix("IMG0001.dcm") } ?? "" }
        let a = try DicomFile(path: one.appendingPathComponent(try first(one)).path).decodeFrame(0)
        let b = try DicomFile(path: two.appendingPathComponent(try first(two)).path).decodeFrame(0)
        XCTAssertNotEqual(a.image.pixels, b.image.pixels)
    }

    /// Four patients, every image explicit little endian 8-bit grey 160 x 120.
    static func tinyPlan(seed: UInt64) throws -> CohortPlan {
        var tiny = try CohortPlan.make(CohortParameters(patients: 4, seed: seed))
        for s in tiny.studies.indices { for i in tiny.studies[s].instances.indices { tiny.studies[s].instances[i] = InstanceSpec(.explicitLE, .mono2, (160, 120)) } }
        return tiny
    }

    static func tinyCohort(seed: UInt64, name: String) throws -> URL {
        let root = work.appendingPathComponent(name)
        _ = try CohortWriter(plan: try tinyPlan(seed: seed), root: root).write()
        return root
    }

    func testAForeignFolderIsRefusedAndAnEarlierCohortReplaced() throws {
        let foreign = Self.work.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        let tiny = try Self.tinyPlan(seed: 1)
        XCTAssertThrowsError(try CohortWriter(plan: tiny, root: foreign).write()) { error in
            XCTAssertTrue("\(error)".contains("not empty") && "\(error)".contains(foreign.path), "\(error)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: foreign.appendingPathComponent("notes.txt").path))
        let earlier = Self.work.appendingPathComponent("earlier")
        _ = try CohortWriter(plan: tiny, root: earlier).write()
        try Data("stale".utf8).write(to: earlier.appendingPathComponent("SITEA-stale-marker"))
        try FileManager.default.removeItem(at: earlier.appendingPathComponent("cohort.json"))   // as if interrupted
        _ = try CohortWriter(plan: tiny, root: earlier).write()
        XCTAssertNotNil(CohortWriter.record(at: earlier))
    }
}
