import Catalog

/// Resolves manifest references through a SonoKit catalog (`sonokit ingest`): paths by their
/// absolute standardized form, UIDs and accession numbers by the catalog's indexes.
///
/// `prefetch` looks all of a manifest's references up in batches and keeps only those instances
/// (memory grows with the manifest, not with the catalog); `resolve` answers from that cache and
/// falls back to single lookups for anything not prefetched.
public final class CatalogImageResolver: ImageResolving {
    public let catalog: Catalog
    private var cache: [ImageReference: [ManifestInstance]] = [:]

    public init(catalog: Catalog) { self.catalog = catalog }

    public func prefetch(_ references: [ImageReference]) throws {
        var byKind: [Catalog.InstanceKey: [String]] = [:]
        for reference in Set(references) where cache[reference] == nil {
            byKind[Self.key(of: reference), default: []].append(reference.value)
        }
        for (kind, values) in byKind {
            let found = try catalog.instances(matching: kind, in: values)
            for value in values {
                let reference = Self.reference(kind, value)
                cache[reference] = (found[value] ?? []).map(ManifestInstance.init(catalogInstance:))
            }
        }
    }

    public func resolve(_ reference: ImageReference) throws -> [ManifestInstance] {
        if let cached = cache[reference] { return cached }
        let found: [CatalogInstance]
        switch reference {
        case .path(let path): found = try catalog.instance(path: path).map { [$0] } ?? []
        case .sopUID(let uid): found = try catalog.instance(sopUID: uid).map { [$0] } ?? []
        case .seriesUID(let uid): found = try catalog.instances(forSeries: uid)
        case .studyUID(let uid): found = try catalog.instances(forStudy: uid)
        case .accession(let number): found = try catalog.instances(accession: number)
        }
        return found.map(ManifestInstance.init(catalogInstance:))
    }

    static func key(of reference: ImageReference) -> Catalog.InstanceKey {
        switch reference {
        case .path: return .path
        case .sopUID: return .sopUID
        case .seriesUID: return .seriesUID
        case .studyUID: return .studyUID
        case .accession: return .accession
        }
    }

    static func reference(_ key: Catalog.InstanceKey, _ value: String) -> ImageReference {
        switch key {
        case .path: return .path(value)
        case .sopUID: return .sopUID(value)
        case .seriesUID: return .seriesUID(value)
        case .studyUID: return .studyUID(value)
        case .accession: return .accession(value)
        }
    }
}

extension ManifestInstance {
    public init(catalogInstance c: CatalogInstance) {
        self.init(sopInstanceUID: c.sopInstanceUID, seriesInstanceUID: c.seriesInstanceUID, studyInstanceUID: c.studyInstanceUID,
                  path: c.path, isImage: c.isImage, isUltrasound: c.isUltrasound, numberOfFrames: c.numberOfFrames,
                  studyKey: c.studyKey, patientKey: c.patientKey, patientID: c.patientID)
    }
}
