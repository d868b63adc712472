/// The columns a manifest understands. Any other header name is kept (and reported as a warning) so
/// that users can carry notes in their own columns without breaking validation.
///
/// A row names its images by exactly one *reference* column in practice; when several are filled,
/// the most specific one (`path` > `sop_uid` > `series_uid` > `study_uid` > `accession`) is used and
/// the others must agree with it.
public enum ManifestColumn: String, CaseIterable, Codable, Sendable {
    case path
    case sopUID = "sop_uid"
    case seriesUID = "series_uid"
    case studyUID = "study_uid"
    case accession
    case label
    case patientID = "patient_id"
    case studyID = "study_id"
    case split
    case weight
    case site

    /// Columns that name images, most specific first.
    public static let referenceColumns: [ManifestColumn] = [.path, .sopUID, .seriesUID, .studyUID, .accession]

    /// Columns every manifest must have.
    public static let requiredColumns: [ManifestColumn] = [.label, .patientID]

    public var isReference: Bool { Self.referenceColumns.contains(self) }
}
