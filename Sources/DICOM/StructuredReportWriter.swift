import CDCMTK
import Foundation
import SonoKitCore

/// A coded entry of DICOM: code value, coding scheme designator, code meaning, and the coding
/// scheme version when the scheme needs one to be unambiguous (PS3.3 8.2).
public struct CodedConcept: Codable, Hashable, Sendable {
    public var value: String
    public var scheme: String
    public var meaning: String
    public var version: String?

    public init(_ value: String, _ scheme: String, _ meaning: String, version: String? = nil) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
        self.version = version
    }
}

/// One item of the Coding Scheme Identification Sequence (0008,0110): a coding scheme the
/// document uses that a reader may not know (PS3.3 C.12.1.1.2: required for private schemes).
public struct CodingSchemeIdentification: Hashable, Sendable {
    public var designator: String
    /// Coding Scheme Name (0008,0115), Responsible Organization (0008,0116); empty: not written.
    public var name: String
    public var organization: String

    public init(designator: String, name: String = "", organization: String = "") {
        self.designator = designator
        self.name = name
        self.organization = organization
    }
}

/// One probability in the measurement group: a NUM (unit (1, UCUM, "no units")) whose concept
/// name is `concept`, optionally qualified by the class it is the probability of (a HAS CONCEPT
/// MOD CODE below the NUM, concept `qualifierConcept`).
public struct StructuredReportProbability: Hashable, Sendable {
    public var concept: CodedConcept
    public var value: Double
    public var qualifier: (concept: CodedConcept, value: CodedConcept)? {
        get { qualifierConcept.flatMap { c in qualifierValue.map { (c, $0) } } }
        set { qualifierConcept = newValue?.concept; qualifierValue = newValue?.value }
    }
    private var qualifierConcept: CodedConcept?
    private var qualifierValue: CodedConcept?

    public init(concept: CodedConcept, value: Double, qualifier: (concept: CodedConcept, value: CodedConcept)? = nil) {
        self.concept = concept
        self.value = value
        self.qualifierConcept = qualifier?.concept
        self.qualifierValue = qualifier?.value
    }
}

/// One source instance an SR references, with the 1-based frame numbers the result used
/// (empty for a single-frame image).
public struct StructuredReportImage: Hashable, Sendable {
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var seriesInstanceUID: String
    public var frameNumbers: [Int]

    public init(sopClassUID: String, sopInstanceUID: String, seriesInstanceUID: String, frameNumbers: [Int]) {
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.frameNumbers = frameNumbers
    }
}

/// The Patient and General Study module values an SR carries. `pseudonymous` leaves every
/// identifying value empty except Patient ID, which holds a pseudonymous key; `copied` takes
/// the values of the source (for a report that must file under the same patient in a PACS).
public struct StructuredReportPatient: Hashable, Sendable {
    /// When set, the Patient and General Study modules are copied from this DICOM file (by
    /// DCMTK) and the values below are ignored.
    public var copiedFrom: String?
    public var patientName = "", patientID = "", birthDate = "", sex = ""
    public var studyDate = "", studyTime = "", accessionNumber = "", studyID = "", referringPhysician = ""
    public var studyDescription = ""

    public init() {}

    /// Every identifying value empty; Patient ID = `key` (a pseudonym, e.g. the study key).
    public static func pseudonymous(key: String) -> StructuredReportPatient {
        var p = StructuredReportPatient()
        p.patientID = key
        return p
    }

    /// The modules of the source file `path` (for `--include-identifiers`).
    public static func copied(from path: String) -> StructuredReportPatient {
        var p = StructuredReportPatient()
        p.copiedFrom = path
        return p
    }
}

/// A classification result as a DICOM Comprehensive 3D SR following TID 1500 (see
/// Sources/CDCMTK/include/CDCMTKSR.h for the content tree).
public struct ClassificationStructuredReport: Sendable {
    public var studyInstanceUID: String
    public var patient: StructuredReportPatient
    public var seriesDescription: String
    /// IHE AIR contributing equipment and device observer.
    public var manufacturer: String
    public var modelName: String
    public var softwareVersions: String
    public var deviceUID: String
    public var procedureReported: CodedConcept
    /// The value of Finding (121071, DCM).
    public var finding: CodedConcept
    /// A qualitative evaluation (CONTAINS CODE concept = value) after the probabilities, or none.
    public var evaluationConcept: CodedConcept?
    public var evaluationValue: CodedConcept?
    /// The NUMs of the measurement group, in order (at least one).
    public var probabilities: [StructuredReportProbability]
    public var trackingIdentifier: String
    public var trackingUID: String
    public var algorithmName: String
    public var algorithmVersion: String
    public var algorithmParameters: [String]
    /// The schemes declared in the Coding Scheme Identification Sequence (0008,0110): every
    /// private or local scheme a code of the document uses.
    public var codingSchemes: [CodingSchemeIdentification]
    public var images: [StructuredReportImage]

    /// The first probability's concept and value.
    public var probabilityConcept: CodedConcept { probabilities[0].concept }
    public var probability: Double { probabilities[0].value }

    public init(studyInstanceUID: String, patient: StructuredReportPatient, seriesDescription: String, manufacturer: String,
                modelName: String, softwareVersions: String, deviceUID: String, procedureReported: CodedConcept,
                finding: CodedConcept, evaluation: (concept: CodedConcept, value: CodedConcept)?,
                probabilities: [StructuredReportProbability], trackingIdentifier: String, trackingUID: String,
                algorithmName: String, algorithmVersion: String, algorithmParameters: [String],
                codingSchemes: [CodingSchemeIdentification], images: [StructuredReportImage]) {
        self.studyInstanceUID = studyInstanceUID
        self.patient = patient
        self.seriesDescription = seriesDescription
        self.manufacturer = manufacturer
        self.modelName = modelName
        self.softwareVersions = softwareVersions
        self.deviceUID = deviceUID
        self.procedureReported = procedureReported
        self.finding = finding
        self.evaluationConcept = evaluation?.concept
        self.evaluationValue = evaluation?.value
        self.probabilities = probabilities
        self.trackingIdentifier = trackingIdentifier
        self.trackingUID = trackingUID
        self.algorithmName = algorithmName
        self.algorithmVersion = algorithmVersion
        self.algorithmParameters = algorithmParameters
        self.codingSchemes = codingSchemes
        self.images = images
    }

    /// One probability, a qualitative evaluation and at most one private scheme.
    public init(studyInstanceUID: String, patient: StructuredReportPatient, seriesDescription: String, manufacturer: String,
                modelName: String, softwareVersions: String, deviceUID: String, procedureReported: CodedConcept,
                finding: CodedConcept, evaluationConcept: CodedConcept, evaluationValue: CodedConcept,
                probabilityConcept: CodedConcept, probability: Double, trackingIdentifier: String, trackingUID: String,
                algorithmName: String, algorithmVersion: String, algorithmParameters: [String],
                privateScheme: (designator: String, name: String, organization: String)?, images: [StructuredReportImage]) {
        self.init(studyInstanceUID: studyInstanceUID, patient: patient, seriesDescription: seriesDescription, manufacturer: manufacturer,
                  modelName: modelName, softwareVersions: softwareVersions, deviceUID: deviceUID, procedureReported: procedureReported,
                  finding: finding, evaluation: (evaluationConcept, evaluationValue),
                  probabilities: [StructuredReportProbability(concept: probabilityConcept, value: probability)],
                  trackingIdentifier: trackingIdentifier, trackingUID: trackingUID, algorithmName: algorithmName,
                  algorithmVersion: algorithmVersion, algorithmParameters: algorithmParameters,
                  codingSchemes: privateScheme.map { [CodingSchemeIdentification(designator: $0.designator, name: $0.name, organization: $0.organization)] } ?? [],
                  images: images)
    }
}

/// Why an SR could not be written: the file and DCMTK's words, naming the refused content item.
public struct StructuredReportError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let detail: String
    public var description: String { "\(path): cannot write the DICOM SR: \(detail)" }
}

/// Writes `ClassificationStructuredReport`s with DCMTK's dcmsr.
public enum StructuredReportWriter {
    /// Writes `report` to `path` atomically (a temporary file in the same folder, then a rename)
    /// and returns the new SOP Instance UID.
    @discardableResult
    public static func write(_ report: ClassificationStructuredReport, to path: String) throws -> String {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = AtomicFile.temporaryURL(for: url).path
        var pool = CStringPool()
        defer { pool.free() }
        func s(_ text: String) -> UnsafePointer<CChar> { pool.add(text) }
        func code(_ c: CodedConcept?) -> SKSRCode {
            guard let c else { return SKSRCode(value: nil, scheme: nil, meaning: nil, version: nil) }
            return SKSRCode(value: s(c.value), scheme: s(c.scheme), meaning: s(c.meaning), version: c.version.map { s($0) })
        }
        guard !report.probabilities.isEmpty else { throw StructuredReportError(path: path, detail: "no probability to report") }

        let frameBuffers = report.images.map { image -> UnsafeMutablePointer<Int32> in
            let buffer = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, image.frameNumbers.count))
            for (i, f) in image.frameNumbers.enumerated() { buffer[i] = Int32(f) }
            return buffer
        }
        defer { frameBuffers.forEach { $0.deallocate() } }
        let images = zip(report.images, frameBuffers).map { image, frames in
            SKSRImage(sop_class_uid: s(image.sopClassUID), sop_instance_uid: s(image.sopInstanceUID),
                      series_instance_uid: s(image.seriesInstanceUID), frames: UnsafePointer(frames),
                      frame_count: image.frameNumbers.count)
        }
        let parameters: [UnsafePointer<CChar>?] = report.algorithmParameters.map { s($0) }
        let probabilities = report.probabilities.map { p in
            SKSRProbability(concept: code(p.concept), value: s(Self.decimalString(p.value)),
                            qualifier_concept: code(p.qualifier?.concept), qualifier_value: code(p.qualifier?.value))
        }
        let schemes = report.codingSchemes.map { SKSRScheme(designator: s($0.designator), name: s($0.name), organization: s($0.organization)) }
        var uid = [CChar](repeating: 0, count: 128)
        var error = SKError()
        let p = report.patient
        let ok = images.withUnsafeBufferPointer { imageBuffer in
            parameters.withUnsafeBufferPointer { parameterBuffer in
            probabilities.withUnsafeBufferPointer { probabilityBuffer in
            schemes.withUnsafeBufferPointer { schemeBuffer in
                var c = SKSRReport()
                c.study_instance_uid = s(report.studyInstanceUID)
                c.utf8 = Self.hasNonASCIIText(report) ? 1 : 0
                if let source = p.copiedFrom { c.patient_source_path = s(source) }
                c.patient_name = s(p.patientName); c.patient_id = s(p.patientID)
                c.patient_birth_date = s(p.birthDate); c.patient_sex = s(p.sex)
                c.study_date = s(p.studyDate); c.study_time = s(p.studyTime)
                c.accession_number = s(p.accessionNumber); c.study_id = s(p.studyID)
                c.referring_physician = s(p.referringPhysician); c.study_description = s(p.studyDescription)
                c.series_description = s(report.seriesDescription)
                c.manufacturer = s(report.manufacturer); c.model_name = s(report.modelName)
                c.software_versions = s(report.softwareVersions); c.device_uid = s(report.deviceUID)
                c.procedure_reported = code(report.procedureReported)
                c.finding = code(report.finding)
                c.evaluation_concept = code(report.evaluationConcept)
                c.evaluation_value = code(report.evaluationValue)
                c.probabilities = probabilityBuffer.baseAddress
                c.probability_count = probabilityBuffer.count
                c.tracking_identifier = s(report.trackingIdentifier); c.tracking_uid = s(report.trackingUID)
                c.algorithm_name = s(report.algorithmName); c.algorithm_version = s(report.algorithmVersion)
                c.algorithm_parameters = parameterBuffer.baseAddress
                c.algorithm_parameter_count = parameterBuffer.count
                c.schemes = schemeBuffer.baseAddress
                c.scheme_count = schemeBuffer.count
                c.images = imageBuffer.baseAddress
                c.image_count = imageBuffer.count
                return sk_sr_write_classification(&c, temporary, &uid, uid.count, &error)
            }
            }
            }
        }
        guard ok != 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            let detail = withUnsafeBytes(of: &error.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw StructuredReportError(path: path, detail: detail)
        }
        do { try AtomicFile.replace(url, with: URL(fileURLWithPath: temporary)) } catch let error as AtomicFile.WriteError {
            throw StructuredReportError(path: path, detail: error.reason)
        }
        return String(cString: uid)
    }

    /// True when any text of `value` (searched through its stored properties, optionals and
    /// arrays) has a character outside ASCII, DICOM's default repertoire: then the SR must declare
    /// Specific Character Set ISO_IR 192 (UTF-8), or dciodvfy rejects the value and `dsrdump`
    /// refuses to read the document.
    static func hasNonASCIIText(_ value: Any) -> Bool {
        if let text = value as? String { return text.utf8.contains { $0 >= 0x80 } }
        return Mirror(reflecting: value).children.contains { hasNonASCIIText($0.value) }
    }

    /// A DS (decimal string, at most 16 characters) for a probability in [0, 1].
    public static func decimalString(_ value: Double) -> String {
        String(format: "%.6f", min(max(value, 0), 1))
    }

    /// A DICOM UID derived from a name: 2.25 + the first 128 bits of SHA-256 would need Crypto
    /// here; the UUID-derived form 2.25.<decimal of 128 bits> is built from `bytes` (16 bytes).
    public static func uid(fromUUIDBytes bytes: [UInt8]) -> String {
        precondition(bytes.count == 16, "a UUID has 16 bytes")
        // Decimal of a 128-bit unsigned integer by repeated division of the byte array by 10.
        var digits: [UInt8] = []
        var number = bytes
        while number.contains(where: { $0 != 0 }) {
            var remainder = 0
            for i in 0..<number.count {
                let value = remainder * 256 + Int(number[i])
                number[i] = UInt8(value / 10)
                remainder = value % 10
            }
            digits.append(UInt8(remainder))
        }
        return "2.25." + (digits.isEmpty ? "0" : String(digits.reversed().map { Character(String($0)) }))
    }
}

/// C strings that live until `free()`: the C API borrows them for the duration of one call.
private struct CStringPool {
    private var pointers: [UnsafeMutablePointer<CChar>] = []
    mutating func add(_ text: String) -> UnsafePointer<CChar> {
        let p = strdup(text)!
        pointers.append(p)
        return UnsafePointer(p)
    }
    mutating func free() {
        pointers.forEach { Foundation.free($0) }
        pointers = []
    }
}
