import Catalog

/// Resolves manifest references through a SonoKit catalog (`sonokit ingest`): paths by their
/// absolute standardized form, UIDs and accession numbers by the catalog's indexes.
public struct CatalogImageResolver: ImageResolving {
    public let catalog: Catalog

    public init(catalog: Catalog) { self.catalog = catalog }

    public func resolve(_ reference: ImageReference) throws -> [ManifestInstance] {
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
}

extension ManifestInstance {
    public init(catalogInstance c: CatalogInstance) {
        self.init(sopInstanceUID: c.sopInstanceUID, seriesInstanceUID: c.seriesInstanceUID, studyInstanceUID: c.studyInstanceUID,
                  path: c.path, isImage: c.isImage, isUltrasound: c.isUltrasound, numberOfFrames: c.numberOfFrames,
                  studyKey: c.studyKey, patientKey: c.patientKey, patientID: c.patientID)
    }
}
