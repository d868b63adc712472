import Foundation

/// The identifying values in SampleStudies/ that no output may contain without
/// `--include-identifiers`: patient names (and each name part), patient IDs, birth dates,
/// accession numbers and referring physicians, read with DCMTK's `dcmdump` (not with our reader,
/// so a reader bug cannot hide a leak). Values shorter than 4 characters are left out (they would
/// match by chance).
public enum SampleIdentifiers {
    public static let tags = ["0010,0010", "0010,0020", "0010,0030", "0008,0050", "0008,0090"]

    public static func values(in root: URL = RepositoryPaths.sampleStudies) throws -> Set<String> {
        var values = Set<String>()
        let fm = FileManager.default
        for name in fm.subpaths(atPath: root.path) ?? [] where !name.hasSuffix(".csv") {
            let path = root.path + "/" + name
            var isFolder: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
                  let dump = try? DCMTKTools.run("dcmdump", tags.flatMap { ["+P", $0] } + [path]) else { continue }
            for line in dump.split(separator: "\n") {
                guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { continue }
                let value = String(line[line.index(after: open)..<close])
                if value.count >= 4 { values.insert(value) }
                values.formUnion(value.split(separator: "^").map(String.init).filter { $0.count >= 4 })
            }
        }
        return values
    }
}
