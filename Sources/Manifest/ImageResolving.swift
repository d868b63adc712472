/// What validation needs to know about one DICOM object a manifest row names. Built from the
/// catalog (see `CatalogImageResolver`) or, in tests, from an in-memory table.
public struct ManifestInstance: Codable, Hashable, Sendable {
    public var sopInstanceUID: String
    public var seriesInstanceUID: String
    public var studyInstanceUID: String
    /// Absolute path of the file.
    public var path: String
    /// A decodable image object (not SR, presentation state, key object...).
    public var isImage: Bool
    public var isUltrasound: Bool
    public var numberOfFrames: Int
    /// Pseudonymous keys (keyed hashes) from the catalog, safe to put in outputs.
    public var studyKey: String
    public var patientKey: String
    /// The raw DICOM PatientID, used only to compare with the manifest's `patient_id`; never printed.
    public var patientID: String?

    public init(sopInstanceUID: String, seriesInstanceUID: String, studyInstanceUID: String, path: String,
                isImage: Bool, isUltrasound: Bool, numberOfFrames: Int, studyKey: String, patientKey: String,
                patientID: String?) {
        self.sopInstanceUID = sopInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.studyInstanceUID = studyInstanceUID
        self.path = path
        self.isImage = isImage
        self.isUltrasound = isUltrasound
        self.numberOfFrames = numberOfFrames
        self.studyKey = studyKey
        self.patientKey = patientKey
        self.patientID = patientID
    }
}

/// Looks up the DICOM objects an ``ImageReference`` names. A reference that names nothing returns
/// an empty array; `throws` is for failures of the lookup itself (an unreadable catalog).
public protocol ImageResolving {
    func resolve(_ reference: ImageReference) throws -> [ManifestInstance]
    /// Called once with every reference of a manifest before the rows are resolved one by one, so
    /// that an implementation can look them up in batches. The default does nothing.
    func prefetch(_ references: [ImageReference]) throws
}

extension ImageResolving {
    public func prefetch(_ references: [ImageReference]) throws {}
}

/// Computes the content hashes of the decoded pixels of an instance, used to find the same picture
/// under two patients or in two splits. Called from several threads at once.
public protocol PixelHashing: Sendable {
    /// One hash per hashed frame (which frames is the implementation's documented choice).
    func frameHashes(of instance: ManifestInstance) throws -> [String]
}
