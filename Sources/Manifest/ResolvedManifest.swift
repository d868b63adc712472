/// The manifest after validation: one entry per DICOM image instance (a study-level row expands to
/// every ultrasound image of the study), with the label, patient, study, split, weight and site that
/// training, evaluation and prediction use. An instance named by several rows appears once (the
/// first row wins; validation reports any disagreement as an error).
public struct ResolvedManifest: Codable, Sendable {
    public var classes: ClassDeclaration
    public var images: [ResolvedImage]

    public init(classes: ClassDeclaration, images: [ResolvedImage]) {
        self.classes = classes
        self.images = images
    }

    /// Images of one split (by name), in manifest order.
    public func images(inSplit split: String) -> [ResolvedImage] { images.filter { $0.split == split } }

    /// Split names in order of first appearance.
    public var splitNames: [String] {
        var seen = Set<String>()
        return images.compactMap(\.split).filter { seen.insert($0).inserted }
    }
}

public struct ResolvedImage: Codable, Hashable, Sendable {
    /// Line of the manifest row that named the image.
    public var line: Int
    public var instance: ManifestInstance
    public var label: String
    /// Position of `label` in the declared classes (the network's output index, multi-class).
    public var classIndex: Int
    /// Binary: whether `label` is the positive class. Multi-class: false.
    public var isPositive: Bool
    /// The manifest's `patient_id` (the split group).
    public var patientID: String
    /// The manifest's `study_id` when given, else the Study Instance UID.
    public var studyID: String
    public var split: String?
    /// The manifest's weight, 1 when not given.
    public var weight: Double
    public var site: String?

    public init(line: Int, instance: ManifestInstance, label: String, classIndex: Int, isPositive: Bool, patientID: String,
                studyID: String, split: String?, weight: Double, site: String?) {
        self.line = line
        self.instance = instance
        self.label = label
        self.classIndex = classIndex
        self.isPositive = isPositive
        self.patientID = patientID
        self.studyID = studyID
        self.split = split
        self.weight = weight
        self.site = site
    }
}
