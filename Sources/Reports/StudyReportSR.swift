import DICOM
import Foundation
import SonoKitCore

/// The DICOM SR of one study's prediction report (TID 1500 qualitative evaluation).
///
/// Codes. Standard codes where DICOM has them: document title (126000, DCM), Finding (121071,
/// DCM), TID 4019 algorithm identification (111001/111003/111002, DCM), procedure reported
/// (16310003, SCT, "Diagnostic ultrasonography"). The classes of a SonoKit model are the user's
/// (declared in the manifest), so the finding and its value use the private coding scheme
/// `99SONOKIT`, declared in the Coding Scheme Identification Sequence:
///
/// | code value  | meaning                                         | used as                          |
/// |-------------|-------------------------------------------------|----------------------------------|
/// | SK-FINDING  | "<positive class> vs <negative class>"          | value of Finding (121071, DCM)   |
/// | SK-CLASS    | "Predicted class"                               | qualitative evaluation concept   |
/// | SK-POS      | "<positive class>"                              | evaluation value: positive       |
/// | SK-NEG      | "<negative class>"                              | evaluation value: negative       |
/// | SK-PROB     | "Probability of <positive class>"               | NUM, unit (1, UCUM, "no units")  |
///
/// Identifiers. Without `--include-identifiers` the Patient and General Study modules are
/// empty except Patient ID, which holds the report's pseudonymous study key (so the SR joins
/// with the JSON). The Study, Series and SOP Instance UIDs of the sources are kept: an SR must
/// reference what it was computed from, and a UID names an object, not a person. With
/// `--include-identifiers` both modules are copied from the first source instance (by DCMTK),
/// so a PACS files the SR with its study.
public enum StudyReportSR {
    public static let privateScheme = (designator: "99SONOKIT", name: "SonoKit classification codes", organization: "SonoKit")
    public static let procedureReported = CodedConcept("16310003", "SCT", "Diagnostic ultrasonography")
    public static let seriesDescription = "CAUTION: Not for Diagnostic Use, for research use only"

    /// The SR of `report`, whose instances are `instances` (raw UIDs, as read from the files).
    /// The frames used (`framesUsed`, 0-based) are referenced, 1-based, for multi-frame instances
    /// only: a single-frame image is referenced whole (PS3.3 10.3, checked by dciodvfy).
    public static func document(for report: PredictionReport, instances: [PredictionInstance], framesUsed: [String: [Int]],
                                softwareVersion: String, includeIdentifiers: Bool) -> ClassificationStructuredReport {
        let model = report.model
        let positive = clip(model.positiveClass), negative = clip(model.negativeClass)
        let sorted = instances.sorted { $0.sopInstanceUID < $1.sopInstanceUID }
        let images = sorted.map { instance in
            StructuredReportImage(sopClassUID: instance.sopClassUID, sopInstanceUID: instance.sopInstanceUID,
                                  seriesInstanceUID: instance.seriesInstanceUID,
                                  frameNumbers: instance.numberOfFrames > 1 ? (framesUsed[instance.sopInstanceUID] ?? []).map { $0 + 1 } : [])
        }
        let studyUID = sorted.first?.studyInstanceUID ?? ""
        var parameters = [
            "architecture=\(model.architecture)",
            "weights_sha256=\(model.weightsSHA256)",
            "preprocessing_sha256=\(model.preprocessingHash)",
            "aggregation=\(report.aggregation.rule)" + (report.aggregation.frameThreshold.map { " (frame threshold \($0))" } ?? ""),
            "frames_used=\(report.aggregation.framesUsed)",
            "threshold=\(StructuredReportWriter.decimalString(report.threshold.value)) (\(report.threshold.source))",
        ]
        if let origin = model.weightsOrigin { parameters.append("weights_origin=\(origin)") }
        let trackingBytes = Array(SHA256Hex.bytes(Data("sonokit-tracking\u{0}\(studyUID)\u{0}\(model.deviceUID)".utf8)).prefix(16))
        return ClassificationStructuredReport(
            studyInstanceUID: studyUID,
            patient: includeIdentifiers && sorted.first != nil ? .copied(from: sorted[0].path) : .pseudonymous(key: report.studyKey),
            seriesDescription: seriesDescription,
            manufacturer: "SonoKit",
            modelName: clip(model.modelID),
            softwareVersions: "sonokit \(softwareVersion)",
            deviceUID: model.deviceUID,
            procedureReported: procedureReported,
            finding: CodedConcept("SK-FINDING", privateScheme.designator, clip("\(positive) vs \(negative)")),
            evaluationConcept: CodedConcept("SK-CLASS", privateScheme.designator, "Predicted class"),
            evaluationValue: report.labelIsPositive ? CodedConcept("SK-POS", privateScheme.designator, positive)
                                                    : CodedConcept("SK-NEG", privateScheme.designator, negative),
            probabilityConcept: CodedConcept("SK-PROB", privateScheme.designator, clip("Probability of \(positive)")),
            probability: report.probability,
            trackingIdentifier: "SonoKit classification \(report.studyKey)",
            trackingUID: StructuredReportWriter.uid(fromUUIDBytes: trackingBytes),
            algorithmName: "SonoKit \(model.architecture) classifier",
            algorithmVersion: clip(model.modelID),
            algorithmParameters: parameters,
            privateScheme: privateScheme,
            images: images)
    }

    /// Code meanings and LO values hold at most 64 characters.
    static func clip(_ s: String) -> String { s.count <= 64 ? s : String(s.prefix(61)) + "..." }
}
