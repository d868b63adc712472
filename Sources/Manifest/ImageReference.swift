/// How a manifest row names its images: a file, or a DICOM identifier resolved through the catalog.
public enum ImageReference: Hashable, Codable, Sendable {
    /// An absolute, standardized file path (a relative `path` cell is resolved against the folder of
    /// the manifest before it becomes a reference).
    case path(String)
    case sopUID(String)
    case seriesUID(String)
    case studyUID(String)
    case accession(String)

    public var column: ManifestColumn {
        switch self {
        case .path: return .path
        case .sopUID: return .sopUID
        case .seriesUID: return .seriesUID
        case .studyUID: return .studyUID
        case .accession: return .accession
        }
    }

    public var value: String {
        switch self {
        case .path(let v), .sopUID(let v), .seriesUID(let v), .studyUID(let v), .accession(let v): return v
        }
    }

    /// True when the reference names one object (a file or a SOP instance) rather than a set; a
    /// set-level reference labels every ultrasound image it contains and skips other objects.
    public var namesSingleObject: Bool {
        switch self {
        case .path, .sopUID: return true
        case .seriesUID, .studyUID, .accession: return false
        }
    }
}
