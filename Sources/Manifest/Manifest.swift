import Foundation

/// A parsed manifest: declared classes, the rows with their line numbers, and the problems found
/// while reading the header and cells. Resolution and cross-row checks are
/// ``ManifestValidator``'s job.
public struct Manifest: Sendable {
    /// The file as the user named it (used in messages).
    public let file: String
    /// Absolute folder of the manifest; relative `path` cells are resolved against it.
    public let directory: String
    public let delimiter: ManifestDelimiter
    public let classes: ClassDeclaration
    /// 1-based line of the header row (after any `#` comment lines).
    public let headerLine: Int
    /// Header names, trimmed and lower-cased, in file order.
    public let header: [String]
    public let rows: [ManifestRow]
    /// Header and cell problems found by the parser (unknown columns, extra fields, bad weights, ...).
    public let parseIssues: [ValidationIssue]

    /// Known columns present in the header.
    public var columns: Set<ManifestColumn> { Set(header.compactMap(ManifestColumn.init(rawValue:))) }

    public init(file: String, directory: String, delimiter: ManifestDelimiter, classes: ClassDeclaration,
                headerLine: Int, header: [String], rows: [ManifestRow], parseIssues: [ValidationIssue]) {
        self.file = file
        self.directory = directory
        self.delimiter = delimiter
        self.classes = classes
        self.headerLine = headerLine
        self.header = header
        self.rows = rows
        self.parseIssues = parseIssues
    }

    /// Reads and parses the manifest at `path`. See ``ManifestParser/parse(data:file:directory:delimiter:classes:)``.
    public static func load(path: String, delimiter: ManifestDelimiter? = nil, classes: ClassDeclaration? = nil) throws -> Manifest {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ManifestError.unreadable(file: path, detail: (error as NSError).localizedDescription)
        }
        return try ManifestParser.parse(data: data, file: path, directory: url.deletingLastPathComponent().standardizedFileURL.path,
                                        delimiter: delimiter, classes: classes)
    }
}
