import DICOM
import Foundation
import SonoKitTestSupport
import XCTest

/// The classification SR written through dcmsr, read back with DCMTK's own tools (`dsrdump`,
/// `dcmdump`), never with our writer's code.
final class StructuredReportWriterTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-sr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// Two single-frame ultrasound images of one SampleStudies study (names and IDs are synthetic).
    func sources() throws -> [DicomFile] {
        let folder = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/PC1BAD4/S1")
        return try ["IM000001", "IM000002"].map { try DicomFile(path: folder.appendingPathComponent($0).path) }
    }

    func report(_ files: [DicomFile], patient: StructuredReportPatient, positive: Bool = true) -> ClassificationStructuredReport {
        ClassificationStructuredReport(
            studyInstanceUID: files[0].metadata.studyInstanceUID, patient: patient,
            seriesDescription: "CAUTION: Not for Diagnostic Use, for research use only",
            manufacturer: "SonoKit", modelName: "sonokit-small-0123abcd", softwareVersions: "sonokit 0.1.0",
            deviceUID: "2.25.1234567890", procedureReported: CodedConcept("16310003", "SCT", "Diagnostic ultrasonography"),
            finding: CodedConcept("SK-FINDING", "99SONOKIT", "malignant vs benign"),
            evaluationConcept: CodedConcept("SK-CLASS", "99SONOKIT", "Predicted class"),
            evaluationValue: positive ? CodedConcept("SK-POS", "99SONOKIT", "malignant") : CodedConcept("SK-NEG", "99SONOKIT", "benign"),
            probabilityConcept: CodedConcept("SK-PROB", "99SONOKIT", "Probability of malignant"),
            probability: 0.8125, trackingIdentifier: "SonoKit classification S-0011223344556677", trackingUID: "2.25.987654321",
            algorithmName: "SonoKit small classifier", algorithmVersion: "sonokit-small-0123abcd",
            algorithmParameters: ["aggregation=mean", "threshold=0.430000 (model card)"],
            privateScheme: (designator: "99SONOKIT", name: "SonoKit classification codes", organization: "SonoKit"),
            images: files.map {
                StructuredReportImage(sopClassUID: $0.metadata.sopClassUID, sopInstanceUID: $0.metadata.sopInstanceUID,
                                      seriesInstanceUID: $0.metadata.seriesInstanceUID, frameNumbers: [])
            })
    }

    // MARK: The content tree, as dsrdump prints it (codes printed with +Pc, UIDs with +Pu)

    func testTheTreeIsTID1500WithTheCodedEvaluationAndTheEvidence() throws {
        let files = try sources()
        let path = work.appendingPathComponent("sr.dcm").path
        let uid = try StructuredReportWriter.write(report(files, patient: .pseudonymous(key: "S-0011223344556677")), to: path)
        XCTAssertTrue(uid.hasPrefix("1.") || uid.hasPrefix("2."), uid)
        let dump = try DCMTKTools.run("dsrdump", ["+Pc", "+Pu", "+Psu", "+Pl", path])
        for expected in [
            "Comprehensive 3D SR",
            "UNVERIFIED",
            #"<CONTAINER:(126000,DCM,"Imaging Measurement Report")=SEPARATE>"#,
            #"<has concept mod CODE:(121049,DCM,"Language of Content Item and Descendants")=(en-US,RFC5646,"English (United States)")>"#,
            #"<has obs context CODE:(121005,DCM,"Observer Type")=(121007,DCM,"Device")>"#,
            #"<has obs context UIDREF:(121012,DCM,"Device Observer UID")="2.25.1234567890">"#,
            #"<has concept mod CODE:(121058,DCM,"Procedure reported")=(16310003,SCT,"Diagnostic ultrasonography")>"#,
            #"<contains CONTAINER:(111028,DCM,"Image Library")=SEPARATE>"#,
            #"<contains CONTAINER:(125007,DCM,"Measurement Group")=SEPARATE>"#,
            #"<has obs context UIDREF:(112040,DCM,"Tracking Unique Identifier")="2.25.987654321">"#,
            #"<contains CODE:(121071,DCM,"Finding")=(SK-FINDING,99SONOKIT,"malignant vs benign")>"#,
            #"<has concept mod TEXT:(111001,DCM,"Algorithm Name")="SonoKit small classifier">"#,
            #"<has concept mod TEXT:(111003,DCM,"Algorithm Version")="sonokit-small-0123abcd">"#,
            #"<has concept mod TEXT:(111002,DCM,"Algorithm Parameters")="aggregation=mean">"#,
            #"<contains NUM:(SK-PROB,99SONOKIT,"Probability of malignant")="0.812500" (1,UCUM,"no units")>"#,
            #"<contains CODE:(SK-CLASS,99SONOKIT,"Predicted class")=(SK-POS,99SONOKIT,"malignant")>"#,
        ] {
            XCTAssertTrue(dump.contains(expected), "dsrdump lacks \(expected)\n\(dump)")
        }
        // Every source instance: once in the image library, once as evidence of the evaluation.
        for file in files {
            XCTAssertEqual(dump.components(separatedBy: file.metadata.sopInstanceUID).count - 1, 2, file.metadata.sopInstanceUID)
        }
        XCTAssertEqual(dump.components(separatedBy: "<inferred from IMAGE:").count - 1, files.count, dump)
        // Content Template Sequence of the root: TID 1500, mapping resource DCMR.
        let template = try DCMTKTools.run("dcmdump", ["+P", "0040,db00", "+P", "0008,0105", path])
        XCTAssertTrue(template.contains("[1500]") && template.contains("[DCMR]"), template)
    }

    // MARK: dciodvfy (dicom3tools, David Clunie's validator) finds no error in what we write
    // Both patient variants (pseudonymous and copied from the source) and both results. dciodvfy
    // checks the IOD's modules, every attribute's VR/VM/type and the SR content tree against the
    // standard: an error there means a PACS may refuse or misread the report.
    func testDciodvfyFindsNoErrorInTheSR() throws {
        let files = try sources()
        let variants: [(String, ClassificationStructuredReport)] = [
            ("pseudonymous-positive", report(files, patient: .pseudonymous(key: "S-0011223344556677"))),
            ("pseudonymous-negative", report(files, patient: .pseudonymous(key: "S-0011223344556677"), positive: false)),
            ("copied-patient", report(files, patient: .copied(from: files[0].path))),
        ]
        for (name, sr) in variants {
            let path = work.appendingPathComponent("\(name).dcm").path
            try StructuredReportWriter.write(sr, to: path)
            let output = try DCMTKTools.dciodvfy(path)
            let errors = output.split(separator: "\n").filter { $0.hasPrefix("Error") }
            XCTAssertTrue(errors.isEmpty, "\(name): dciodvfy reports\n\(output)")
            XCTAssertTrue(output.contains("Comprehensive3DSR"), "\(name): dciodvfy did not recognise the IOD\n\(output)")
        }
    }

    /// A text outside ASCII (the ImageNet weights' licence has an em dash; class names may have
    /// umlauts) makes the SR declare ISO_IR 192: dciodvfy finds no error and dsrdump reads the
    /// text back, pseudonymous and with the patient module copied (and converted) from the source.
    func testNonASCIITextIsDeclaredAsUTF8() throws {
        let files = try sources()
        for (name, patient) in [("utf8-pseudonymous", StructuredReportPatient.pseudonymous(key: "S-0011223344556677")),
                                ("utf8-copied", .copied(from: files[0].path))] {
            var sr = report(files, patient: patient)
            sr.algorithmParameters.append("weights_origin=VGG16 ImageNet weights (CC BY 4.0) — Läsion ≤ 2 cm")
            let path = work.appendingPathComponent("\(name).dcm").path
            try StructuredReportWriter.write(sr, to: path)
            let verdict = try DCMTKTools.dciodvfy(path)
            XCTAssertFalse(verdict.split(separator: "\n").contains { $0.hasPrefix("Error") }, "\(name): dciodvfy reports\n\(verdict)")
            XCTAssertTrue(try DCMTKTools.run("dcmdump", ["+P", "0008,0005", path]).contains("ISO_IR 192"), name)
            let dump = try DCMTKTools.run("dsrdump", ["+U8", "+Pl", path])
            XCTAssertTrue(dump.contains("— Läsion ≤ 2 cm"), "\(name): dsrdump reads the text back\n\(dump)")
        }
        // An ASCII report keeps the default repertoire (no (0008,0005)).
        let plain = work.appendingPathComponent("ascii.dcm").path
        try StructuredReportWriter.write(report(files, patient: .pseudonymous(key: "S-0011223344556677")), to: plain)
        XCTAssertFalse(try DCMTKTools.run("dcmdump", [plain]).contains("(0008,0005)"))
    }

    func testANegativeResultCarriesTheNegativeCode() throws {
        let files = try sources()
        let path = work.appendingPathComponent("neg.dcm").path
        try StructuredReportWriter.write(report(files, patient: .pseudonymous(key: "S-0011223344556677"), positive: false), to: path)
        let dump = try DCMTKTools.run("dsrdump", ["+Pc", path])
        XCTAssertTrue(dump.contains(#"=(SK-NEG,99SONOKIT,"benign")>"#), dump)
    }

    // MARK: Attributes outside the tree, as dcmdump prints them

    func testFlagsEquipmentEvidenceAndCodingSchemeAreWritten() throws {
        let files = try sources()
        let path = work.appendingPathComponent("sr.dcm").path
        try StructuredReportWriter.write(report(files, patient: .pseudonymous(key: "S-0011223344556677")), to: path)
        let dump = try DCMTKTools.run("dcmdump", ["+L", path])
        func line(_ tag: String) -> String { dump.split(separator: "\n").filter { $0.contains(tag) }.map(String.init).joined(separator: "\n") }
        XCTAssertTrue(line("(0008,0016)").contains("1.2.840.10008.5.1.4.1.1.88.34") || line("(0008,0016)").contains("Comprehensive3DSR"), line("(0008,0016)"))
        XCTAssertTrue(line("(0040,a493)").contains("[UNVERIFIED]"), line("(0040,a493)"))
        XCTAssertTrue(line("(0040,a491)").contains("[COMPLETE]"), line("(0040,a491)"))
        XCTAssertTrue(line("(0008,103e)").contains("Not for Diagnostic Use"), line("(0008,103e)"))
        XCTAssertTrue(line("(0020,000d)").contains(files[0].metadata.studyInstanceUID), "the SR belongs to the source study")
        // IHE AIR contributing equipment.
        XCTAssertTrue(dump.contains("(0018,a001) SQ"), "ContributingEquipmentSequence")
        XCTAssertTrue(line("(0018,1002)").contains("[2.25.1234567890]"), "DeviceUID: " + line("(0018,1002)"))
        XCTAssertTrue(line("(0008,0070)").contains("[SonoKit]"), line("(0008,0070)"))
        XCTAssertTrue(line("(0018,1020)").contains("sonokit 0.1.0"), line("(0018,1020)"))
        XCTAssertTrue(line("(0008,0100)").contains("[109102]"), "purpose of reference: Processing Equipment")
        // Evidence: both source instances with their SOP class.
        XCTAssertTrue(dump.contains("(0040,a375) SQ"), "CurrentRequestedProcedureEvidenceSequence")
        for file in files { XCTAssertTrue(line("(0008,1155)").contains(file.metadata.sopInstanceUID)) }
        XCTAssertTrue(line("(0008,1150)").contains("1.2.840.10008.5.1.4.1.1.6.1") || line("(0008,1150)").contains("UltrasoundImageStorage"))
        // The private coding scheme is declared.
        XCTAssertTrue(line("(0008,0102)").contains("[99SONOKIT]"))
        XCTAssertTrue(line("(0008,0115)").contains("SonoKit classification codes"), line("(0008,0115)"))
    }

    // MARK: Identifiers: empty by default, copied from the source only when asked

    func testPatientModuleIsEmptyUnlessCopied() throws {
        let files = try sources()
        let anonymous = work.appendingPathComponent("anon.dcm").path
        try StructuredReportWriter.write(report(files, patient: .pseudonymous(key: "S-0011223344556677")), to: anonymous)
        let dump = try DCMTKTools.run("dcmdump", [anonymous])
        let name = try XCTUnwrap(files[0].identifiers.patientName), id = try XCTUnwrap(files[0].identifiers.patientID)
        XCTAssertFalse(dump.contains(name) || dump.contains(id), "identifiers leaked:\n\(dump)")
        XCTAssertTrue(dump.contains("(0010,0020) LO [S-0011223344556677]"), "Patient ID holds the pseudonymous key")

        let identified = work.appendingPathComponent("ident.dcm").path
        try StructuredReportWriter.write(report(files, patient: .copied(from: files[0].path)), to: identified)
        let full = try DCMTKTools.run("dcmdump", ["+P", "0010,0010", "+P", "0010,0020", identified])
        XCTAssertTrue(full.contains(name) && full.contains(id), full)
    }

    // MARK: Errors name the file and the refused item; nothing half-written is left

    func testAnInvalidCodeIsRefusedWithTheItemNamedAndNoFileLeft() throws {
        let files = try sources()
        var bad = report(files, patient: .pseudonymous(key: "S-1"))
        bad.finding = CodedConcept("", "", "")
        let path = work.appendingPathComponent("bad.dcm").path
        XCTAssertThrowsError(try StructuredReportWriter.write(bad, to: path)) { error in
            XCTAssertTrue("\(error)".contains("bad.dcm") && "\(error)".contains("finding"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [])
    }

    // MARK: Several probabilities, each qualified by its class; schemes declared; no evaluation

    func testSeveralQualifiedProbabilitiesAndDeclaredSchemes() throws {
        let files = try sources()
        let base = report(files, patient: .pseudonymous(key: "S-0011223344556677"))
        let finding = CodedConcept("121071", "DCM", "Finding"), probability = CodedConcept("SK-PROB", "99SONOKIT", "Probability")
        let sr = ClassificationStructuredReport(
            studyInstanceUID: base.studyInstanceUID, patient: base.patient, seriesDescription: base.seriesDescription,
            manufacturer: base.manufacturer, modelName: base.modelName, softwareVersions: base.softwareVersions, deviceUID: base.deviceUID,
            procedureReported: base.procedureReported, finding: CodedConcept("399294002", "SCT", "Cyst"), evaluation: nil,
            probabilities: [
                StructuredReportProbability(concept: probability, value: 0.25, qualifier: (finding, CodedConcept("N-1", "99LOCAL", "normal"))),
                StructuredReportProbability(concept: probability, value: 0.75, qualifier: (finding, CodedConcept("399294002", "SCT", "Cyst"))),
            ],
            trackingIdentifier: base.trackingIdentifier, trackingUID: base.trackingUID, algorithmName: base.algorithmName,
            algorithmVersion: base.algorithmVersion, algorithmParameters: [],
            codingSchemes: [CodingSchemeIdentification(designator: "99SONOKIT", name: "SonoKit classification codes", organization: "SonoKit"),
                            CodingSchemeIdentification(designator: "99LOCAL")],
            images: base.images)
        let path = work.appendingPathComponent("multi.dcm").path
        try StructuredReportWriter.write(sr, to: path)
        let dump = try DCMTKTools.run("dsrdump", ["+Pc", path])
        let lines = dump.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        // Each NUM is followed by its qualifier, one level below.
        let first = try XCTUnwrap(lines.firstIndex(of: #"<contains NUM:(SK-PROB,99SONOKIT,"Probability")="0.250000" (1,UCUM,"no units")>"#), dump)
        XCTAssertEqual(lines[first + 1], #"<has concept mod CODE:(121071,DCM,"Finding")=(N-1,99LOCAL,"normal")>"#)
        let second = try XCTUnwrap(lines.firstIndex(of: #"<contains NUM:(SK-PROB,99SONOKIT,"Probability")="0.750000" (1,UCUM,"no units")>"#), dump)
        XCTAssertEqual(lines[second + 1], #"<has concept mod CODE:(121071,DCM,"Finding")=(399294002,SCT,"Cyst")>"#)
        XCTAssertTrue(dump.contains(#"<contains CODE:(121071,DCM,"Finding")=(399294002,SCT,"Cyst")>"#), dump)
        XCTAssertFalse(dump.contains("Predicted class"), "no qualitative evaluation was asked for")
        let schemes = try DCMTKTools.run("dcmdump", ["+P", "0008,0110", "+P", "0008,0102", path])
        XCTAssertTrue(schemes.contains("[99LOCAL]") && schemes.contains("[99SONOKIT]"), schemes)
        let output = try DCMTKTools.dciodvfy(path)
        XCTAssertEqual(output.split(separator: "\n").filter { $0.hasPrefix("Error") }, [], output)

        var none = sr
        none.probabilities = []
        XCTAssertThrowsError(try StructuredReportWriter.write(none, to: work.appendingPathComponent("none.dcm").path)) {
            XCTAssertTrue("\($0)".contains("none.dcm") && "\($0)".contains("no probability"), "\($0)")
        }
    }

    // MARK: UIDs from 16 bytes: 2.25.<the 128-bit integer in decimal>

    func testUUIDDerivedUID() {
        XCTAssertEqual(StructuredReportWriter.uid(fromUUIDBytes: [UInt8](repeating: 0, count: 15) + [255]), "2.25.255")
        XCTAssertEqual(StructuredReportWriter.uid(fromUUIDBytes: [UInt8](repeating: 0, count: 14) + [1, 0]), "2.25.256")
        // 2^128 - 1 = 340282366920938463463374607431768211455
        XCTAssertEqual(StructuredReportWriter.uid(fromUUIDBytes: [UInt8](repeating: 255, count: 16)),
                       "2.25.340282366920938463463374607431768211455")
    }
}
