import DICOM
import Evaluation
import Foundation
import SonoKitTestSupport
import XCTest
@testable import Reports

/// The SR of binary and multi-class reports on real SampleStudies sources (single-frame and
/// cine), written through dcmsr and read back only with independent tools: DCMTK's `dsrdump` and
/// `dcmdump`, and dicom3tools' `dciodvfy` (David Clunie's IOD validator).
final class StudyReportSRTests: XCTestCase {
    typealias D = PredictionTestData
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-study-sr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// Study PC1BAD4: three single-frame images; study PE9969C: one 12-frame cine loop.
    enum Source: String { case singleFrame = "SITEA/PC1BAD4/S1", multiFrame = "SITEA/PE9969C/S1" }

    func instances(_ source: Source) throws -> [PredictionInstance] {
        let folder = RepositoryPaths.sampleStudies.appendingPathComponent(source.rawValue)
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { name in
            let path = folder.appendingPathComponent(name).path
            let m = try DicomFile(path: path).metadata
            return PredictionInstance(path: path, sopClassUID: m.sopClassUID, sopInstanceUID: m.sopInstanceUID, seriesInstanceUID: m.seriesInstanceUID,
                                      studyInstanceUID: m.studyInstanceUID, modality: "US", numberOfFrames: m.numberOfFrames)
        }
    }

    /// Frames 0 of single-frame images, frames 0, 5 and 11 of a cine loop; multi-class vectors
    /// (0.2, 0.5, 0.3) each (so the study's predicted class is "cyst").
    func frames(_ instances: [PredictionInstance], classes: Int?) -> [PredictedFrame] {
        instances.flatMap { i in
            (i.numberOfFrames > 1 ? [0, 5, 11] : [0]).map { f in
                classes == nil
                    ? PredictedFrame(sopInstanceUID: i.sopInstanceUID, frameIndex: f, probability: 0.7, crop: D.regionsCrop, decode: D.rgb, warnings: [])
                    : PredictedFrame(sopInstanceUID: i.sopInstanceUID, frameIndex: f, classProbabilities: [0.2, 0.5, 0.3], crop: D.regionsCrop,
                                     decode: D.rgb, warnings: [])
            }
        }
    }

    static let multiclassModel = MulticlassPredictionTests.model  // normal, cyst, solid lesion

    /// Writes the SR of one study; returns its path and the coding's warnings.
    func writeSR(_ source: Source, multiclass: Bool, codes: String?, identifiers: Bool = false, name: String) throws -> (path: String, warnings: [String]) {
        let members = try instances(source)
        let model = multiclass ? Self.multiclassModel : D.model
        let header = "class,code_value,coding_scheme_designator,code_meaning\n"
        let map = try codes.map { try ClassCodeMap.parse($0.hasPrefix("class,") ? $0 : header + $0, path: "codes.csv", classes: model.classes) }
        let keys = PredictionKeys(secret: D.secret)
        let builder = multiclass
            ? PredictionReportBuilder(model: model, multiclass: MulticlassPredictionRule(aggregation: .mean, source: "model card: argmax"), keys: keys,
                                      includeIdentifiers: identifiers)
            : PredictionReportBuilder(model: model, rule: D.rule(), keys: keys, includeIdentifiers: identifiers)
        let scored = frames(members, classes: multiclass ? 3 : nil)
        let report = try XCTUnwrap(builder.build(instances: members, frames: scored, failures: [:]).reports.first)
        let used = Dictionary(grouping: scored, by: \.sopInstanceUID).mapValues { $0.map(\.frameIndex).sorted() }
        let coding = StudyReportSR.ClassCoding(model: model, task: report.task, map: map)
        let document = StudyReportSR.document(for: report, instances: members, framesUsed: used, softwareVersion: "0.1.0",
                                              includeIdentifiers: identifiers, coding: coding)
        let path = work.appendingPathComponent("\(name).dcm").path
        try StructuredReportWriter.write(document, to: path)
        return (path, coding.warnings)
    }

    /// The items of the Coding Scheme Identification Sequence (0008,0110), as dcmdump prints them.
    func declaredSchemes(_ path: String) throws -> String {
        let dump = try DCMTKTools.run("dcmdump", [path])
        guard let start = dump.range(of: "(0008,0110) SQ") else { return "" }
        let rest = dump[start.lowerBound...]
        let end = rest.range(of: "(fffe,e0dd)")?.upperBound ?? rest.endIndex
        return String(rest[..<end])
    }

    // MARK: Multi-class: the user's codes where given, the private scheme (declared, warned) elsewhere

    func testMulticlassSRUsesTheUsersCodesAndDeclaresThePrivateScheme() throws {
        let (path, warnings) = try writeSR(.singleFrame, multiclass: true,
                                           codes: "cyst,399294002,SCT,Cyst\nsolid lesion,SL-1,99MYHOSP,Solid lesion\n", name: "mc")
        let dump = try DCMTKTools.run("dsrdump", ["+Pc", "+Pl", path])
        for expected in [
            #"<contains CODE:(121071,DCM,"Finding")=(399294002,SCT,"Cyst")>"#,
            #"<contains NUM:(SK-PROB,99SONOKIT,"Probability")="0.200000" (1,UCUM,"no units")>"#,
            #"<has concept mod CODE:(121071,DCM,"Finding")=(SK-CLASS-1,99SONOKIT,"normal")>"#,
            #"<contains NUM:(SK-PROB,99SONOKIT,"Probability")="0.500000" (1,UCUM,"no units")>"#,
            #"<has concept mod CODE:(121071,DCM,"Finding")=(399294002,SCT,"Cyst")>"#,
            #"<contains NUM:(SK-PROB,99SONOKIT,"Probability")="0.300000" (1,UCUM,"no units")>"#,
            #"<has concept mod CODE:(121071,DCM,"Finding")=(SL-1,99MYHOSP,"Solid lesion")>"#,
            #"<has concept mod TEXT:(111002,DCM,"Algorithm Parameters")="decision=argmax (model card: argmax)">"#,
        ] {
            XCTAssertTrue(dump.contains(expected), "dsrdump lacks \(expected)\n\(dump)")
        }
        XCTAssertEqual(dump.components(separatedBy: "<contains NUM:").count - 1, 3, "one probability per class")
        // Declared: SonoKit's private scheme and the user's local one; SCT needs no declaration.
        let schemes = try declaredSchemes(path)
        XCTAssertTrue(schemes.contains("[99SONOKIT]") && schemes.contains("SonoKit classification codes"), schemes)
        XCTAssertTrue(schemes.contains("[99MYHOSP]"), schemes)
        XCTAssertFalse(schemes.contains("[SCT]"), schemes)
        // One warning, for the one class without a code.
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("'normal'") && warnings[0].contains("99SONOKIT") && warnings[0].contains("codes.csv"), warnings[0])
    }

    func testEveryClassMappedGivesNoWarning() throws {
        let codes = "class,code_value,coding_scheme_designator,code_meaning,coding_scheme_version\n"
            + "normal,17621005,SCT,Normal,\ncyst,399294002,SCT,Cyst,\nsolid lesion,RID3874,RADLEX,Mass,4.1\n"
        let (path, warnings) = try writeSR(.multiFrame, multiclass: true, codes: codes, name: "mapped")
        XCTAssertEqual(warnings, [])
        let dump = try DCMTKTools.run("dsrdump", ["+Pc", path])
        XCTAssertTrue(dump.contains(#"=(17621005,SCT,"Normal")>"#) && dump.contains(#"=(RID3874,RADLEX[4.1],"Mass")>"#), dump)
        // The coding scheme version goes with the code (0008,0103); SCT and RADLEX need no declaration.
        let versions = try DCMTKTools.run("dcmdump", ["+P", "0008,0103", path])
        XCTAssertTrue(versions.contains("[4.1]"), versions)
        XCTAssertEqual(try declaredSchemes(path).components(separatedBy: "(0008,0102)").count - 1, 1, "only 99SONOKIT is declared")
        XCTAssertFalse(dump.contains("SK-CLASS-"), dump)
        XCTAssertTrue(dump.contains(#"<contains CODE:(SK-CLASS,99SONOKIT,"Predicted class")=(399294002,SCT,"Cyst")>"#), dump)
    }

    // MARK: Binary: the positive and negative classes can be mapped too

    func testBinarySRWithAndWithoutCodes() throws {
        let unmapped = try writeSR(.singleFrame, multiclass: false, codes: nil, name: "binary")
        let dump = try DCMTKTools.run("dsrdump", ["+Pc", unmapped.path])
        // mean 0.7 >= 0.4: malignant
        XCTAssertTrue(dump.contains(#"<contains CODE:(121071,DCM,"Finding")=(SK-POS,99SONOKIT,"malignant")>"#), dump)
        XCTAssertTrue(dump.contains(#"<has concept mod CODE:(121071,DCM,"Finding")=(SK-POS,99SONOKIT,"malignant")>"#), dump)
        XCTAssertEqual(unmapped.warnings.count, 2, "positive and negative class both private: \(unmapped.warnings)")
        XCTAssertTrue(unmapped.warnings[0].contains("no --class-codes file"), unmapped.warnings[0])

        let mapped = try writeSR(.multiFrame, multiclass: false, codes: "malignant,86049000,SCT,Malignant neoplasm\nbenign,3898006,SCT,Neoplasm benign\n",
                                 identifiers: true, name: "binary-mapped")
        XCTAssertEqual(mapped.warnings, [])
        let mappedDump = try DCMTKTools.run("dsrdump", ["+Pc", mapped.path])
        XCTAssertTrue(mappedDump.contains(#"<contains CODE:(121071,DCM,"Finding")=(86049000,SCT,"Malignant neoplasm")>"#), mappedDump)
        XCTAssertTrue(mappedDump.contains(#"<contains NUM:(SK-PROB,99SONOKIT,"Probability")="0.700000" (1,UCUM,"no units")>"#), mappedDump)
        XCTAssertEqual(try declaredSchemes(mapped.path).components(separatedBy: "(0008,0102)").count - 1, 1,
                       "only SonoKit's private scheme (used by SK-PROB) is declared")
    }

    // MARK: dciodvfy: no error in any SR SonoKit writes
    // Binary and multi-class, mapped and unmapped, single-frame and cine sources, pseudonymous and
    // with identifiers. Frames of the cine loop are referenced (1-based), single-frame images whole.

    func testDciodvfyFindsNoErrorInAnySR() throws {
        var written: [(String, String)] = []
        for multiclass in [false, true] {
            for source in [Source.singleFrame, .multiFrame] {
                for identifiers in [false, true] {
                    // A code value longer than 16 characters is written as a Long Code Value (0008,0119).
                    let codes = multiclass ? "cyst,399294002,SCT,Cyst\nsolid lesion,SOLID-LESION-CODE-01,99MYHOSP,Solid lesion\n"
                                           : "malignant,86049000,SCT,Malignant neoplasm\n"
                    for mapped in [false, true] {
                        let name = "\(multiclass ? "mc" : "bin")-\(source == .singleFrame ? "single" : "multi")-\(identifiers ? "ident" : "pseudo")-\(mapped ? "codes" : "private")"
                        written.append((name, try writeSR(source, multiclass: multiclass, codes: mapped ? codes : nil, identifiers: identifiers, name: name).path))
                    }
                }
            }
        }
        for (name, path) in written {
            let output = try DCMTKTools.dciodvfy(path)
            let errors = output.split(separator: "\n").filter { $0.hasPrefix("Error") }
            XCTAssertTrue(errors.isEmpty, "\(name): dciodvfy reports\n\(output)")
            XCTAssertTrue(output.contains("Comprehensive3DSR"), "\(name): dciodvfy did not recognise the IOD\n\(output)")
        }
        // Frames: referenced for the cine loop only.
        let cine = try DCMTKTools.run("dcmdump", ["+P", "0008,1160", written.first { $0.0 == "mc-multi-pseudo-codes" }!.1])
        XCTAssertTrue(cine.contains("1\\6\\12"), "frames 0, 5, 11 as 1-based numbers: \(cine)")
        let single = try DCMTKTools.run("dcmdump", ["+P", "0008,1160", written.first { $0.0 == "mc-single-pseudo-codes" }!.1])
        XCTAssertFalse(single.contains("(0008,1160)"), single)
        let long = try DCMTKTools.run("dcmdump", ["+P", "0008,0119", written.first { $0.0 == "mc-single-pseudo-codes" }!.1])
        XCTAssertTrue(long.contains("[SOLID-LESION-CODE-01]"), long)
    }
}
