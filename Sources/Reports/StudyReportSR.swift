import DICOM
import Foundation
import SonoKitCore

/// The DICOM SR of one study's prediction report (TID 1500 measurement report), for binary and
/// multi-class models.
///
/// Codes. Standard codes where DICOM has them: document title (126000, DCM), Finding (121071,
/// DCM), TID 4019 algorithm identification (111001/111003/111002, DCM), procedure reported
/// (16310003, SCT, "Diagnostic ultrasonography"). The classes of a SonoKit model are the user's:
/// the user maps them to standard codes with `--class-codes FILE` (`ClassCodeMap`, e.g. SNOMED CT),
/// and only a class without a code falls back to SonoKit's private scheme `99SONOKIT`:
///
/// | code value   | meaning                  | used as                                                  |
/// |--------------|--------------------------|----------------------------------------------------------|
/// | (the user's) | (the user's)             | a mapped class                                           |
/// | SK-POS       | "<positive class>"       | binary: the positive class when unmapped                 |
/// | SK-NEG       | "<negative class>"       | binary: the negative class when unmapped                 |
/// | SK-CLASS-k   | "<class k>"              | multi-class: class k (1-based, model order) when unmapped |
/// | SK-PROB      | "Probability"            | NUM concept, unit (1, UCUM, "no units")                  |
/// | SK-CLASS     | "Predicted class"        | qualitative evaluation concept                           |
///
/// The measurement group holds: Finding (121071, DCM) = the code of the predicted class; then one
/// NUM (SK-PROB, 99SONOKIT, "Probability") per class with a HAS CONCEPT MOD child Finding (121071,
/// DCM) = that class's code: for a binary model the positive class only, for a multi-class model
/// every class in the model's order; then the qualitative evaluation (SK-CLASS, 99SONOKIT,
/// "Predicted class") = the predicted class's code again, where readers of TID 1500
/// classification results (qualitative evaluations) look for it. The private scheme (always used by SK-PROB) and every
/// private or local scheme of the user's codes (designators not among DICOM's well-known ones) are
/// declared in the Coding Scheme Identification Sequence (0008,0110).
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
    public static let findingConcept = CodedConcept("121071", "DCM", "Finding")
    public static let probabilityConcept = CodedConcept("SK-PROB", privateScheme.designator, "Probability")
    public static let predictedClassConcept = CodedConcept("SK-CLASS", privateScheme.designator, "Predicted class")
    /// Designators PS3.16 Table 8-1 defines (a selection): codes of these schemes need no
    /// declaration in (0008,0110); any other designator of a user's code is declared.
    public static let wellKnownDesignators: Set<String> = [
        "DCM", "SCT", "SRT", "LN", "UCUM", "RADLEX", "NCIt", "UMLS", "FMA", "MDC", "ACR", "BI", "I10", "I9C", "ICD10",
        "RFC5646", "UBERON", "NEU", "NCBITaxon", "PUBCHEM_CID", "ITIS_TSN", "MSH", "CD2", "HGNC", "SNM3", "99SDM",
    ]

    /// The codes of a model's classes for its SRs: the user's where the class codes file gives one,
    /// SonoKit's private codes otherwise; made once per run.
    public struct ClassCoding: Sendable, Equatable {
        /// Class name -> code, for every class of the model.
        public var codes: [String: CodedConcept]
        /// The classes coded in the private scheme, in the model's order.
        public var unmapped: [String]
        /// One sentence per unmapped class for the caller to show (empty when all are mapped).
        public var warnings: [String]
        /// The schemes the SR declares in (0008,0110).
        public var schemes: [CodingSchemeIdentification]

        /// `map` nil: no class codes file (every class private).
        public init(model: PredictionModel, task: ClassificationTask, map: ClassCodeMap?) {
            // A binary model reports its positive class and "the other" (its negative class).
            let coded = task == .binary ? [model.positiveClass ?? "", model.negativeClass] : model.classes
            var codes: [String: CodedConcept] = [:]
            for (k, name) in coded.enumerated() {
                if let code = map?.code(for: name) { codes[name] = code; continue }
                let value = task == .binary ? (k == 0 ? "SK-POS" : "SK-NEG") : "SK-CLASS-\(k + 1)"
                codes[name] = CodedConcept(value, privateScheme.designator, clip(name))
            }
            self.codes = codes
            unmapped = coded.filter { codes[$0]?.scheme == privateScheme.designator }
            let source = map.map { "no code for it in \($0.path)" } ?? "no --class-codes file"
            warnings = unmapped.map {
                "DICOM SR: class '\($0)' is coded in SonoKit's private scheme \(privateScheme.designator) as \(codes[$0]!.value) (\(source)); "
                    + "map it to a standard code (e.g. SNOMED CT) in a --class-codes file so that other systems understand it"
            }
            var schemes = [CodingSchemeIdentification(designator: privateScheme.designator, name: privateScheme.name,
                                                      organization: privateScheme.organization)]
            for designator in Set(codes.values.map(\.scheme)).sorted()
            where designator != privateScheme.designator && !wellKnownDesignators.contains(designator) {
                schemes.append(CodingSchemeIdentification(designator: designator))
            }
            self.schemes = schemes
        }
    }

    /// The SR of `report`, whose instances are `instances` (raw UIDs, as read from the files).
    /// The frames used (`framesUsed`, 0-based) are referenced, 1-based, for multi-frame instances
    /// only: a single-frame image is referenced whole (PS3.3 10.3, checked by dciodvfy).
    /// `coding` nil: every class in the private scheme.
    public static func document(for report: PredictionReport, instances: [PredictionInstance], framesUsed: [String: [Int]],
                                softwareVersion: String, includeIdentifiers: Bool,
                                coding: ClassCoding? = nil) -> ClassificationStructuredReport {
        let model = report.model
        let coding = coding ?? ClassCoding(model: model, task: report.task, map: nil)
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
        ]
        if let threshold = report.threshold {
            parameters.append("threshold=\(StructuredReportWriter.decimalString(threshold.value)) (\(threshold.source))")
        }
        if let decision = report.decision {
            let thresholds = decision.thresholds.map { " " + $0.map { "\($0.name)=\(StructuredReportWriter.decimalString($0.value))" }.joined(separator: ", ") } ?? ""
            parameters.append("decision=\(decision.rule)\(thresholds) (\(decision.source))")
        }
        if let origin = model.weightsOrigin { parameters.append("weights_origin=\(origin)") }
        func code(_ name: String) -> CodedConcept { coding.codes[name] ?? CodedConcept("SK-UNKNOWN", privateScheme.designator, clip(name)) }
        let probabilities: [StructuredReportProbability]
        switch report.task {
        case .binary:
            let positive = model.positiveClass ?? ""
            probabilities = [StructuredReportProbability(concept: probabilityConcept, value: report.probability,
                                                         qualifier: (findingConcept, code(positive)))]
        case .multiclass:
            probabilities = (report.classProbabilities ?? []).map {
                StructuredReportProbability(concept: probabilityConcept, value: $0.probability, qualifier: (findingConcept, code($0.name)))
            }
        }
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
            finding: code(report.label),
            evaluation: (predictedClassConcept, code(report.label)),
            probabilities: probabilities,
            trackingIdentifier: "SonoKit classification \(report.studyKey)",
            trackingUID: StructuredReportWriter.uid(fromUUIDBytes: trackingBytes),
            algorithmName: "SonoKit \(model.architecture) classifier",
            algorithmVersion: clip(model.modelID),
            algorithmParameters: parameters,
            codingSchemes: coding.schemes,
            images: images)
    }

    /// Code meanings and LO values hold at most 64 characters.
    static func clip(_ s: String) -> String { s.count <= 64 ? s : String(s.prefix(61)) + "..." }
}
