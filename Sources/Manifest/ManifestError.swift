/// Problems that stop a manifest from being read at all (as opposed to ``ValidationIssue``s, which
/// concern single rows and are all collected). Each names the file and, where there is one, the line.
public enum ManifestError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, detail: String)
    case notUTF8(file: String, line: Int)
    case noHeader(file: String)
    case unbalancedQuote(file: String, line: Int)
    case badClassDeclaration(detail: String)
    case conflictingClassDeclarations(file: String, line: Int)
    case noClassDeclaration(file: String)
    case badDelimiter(String)

    public var description: String {
        switch self {
        case .unreadable(let file, let detail):
            return "\(file): cannot read the manifest (\(detail))."
        case .notUTF8(let file, let line):
            return "\(file), line \(line): the bytes are not valid UTF-8. Save the manifest as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)') and try again."
        case .noHeader(let file):
            return "\(file): no header row. The first non-comment line must name the columns, e.g. 'path,label,patient_id'."
        case .unbalancedQuote(let file, let line):
            return "\(file), line \(line): a double quote opened here is never closed, so the rest of the file would be one field. Close the quote or double it (\"\") inside a quoted field."
        case .badClassDeclaration(let detail):
            return "Bad class declaration: \(detail)."
        case .conflictingClassDeclarations(let file, let line):
            return "\(file), line \(line): the header comment declares classes that differ from --classes/--positive/--task/--ordinal. Keep one declaration."
        case .noClassDeclaration(let file):
            return "\(file): the classes are not declared. Pass '--classes benign,malignant --positive malignant' (binary) or '--classes normal,cyst,solid' (multi-class), or put '# classes: benign,malignant; positive: malignant' or '# classes: normal,cyst,solid; task: multiclass' on the first line of the manifest; SonoKit never guesses them from the labels."
        case .badDelimiter(let value):
            return "Delimiter '\(value)' is not supported; use ',', ';' or 'tab'."
        }
    }
}

extension ManifestError {
    /// The error as the single issue of a report, so that `--json` output keeps one form even when
    /// the file cannot be read at all.
    public var issue: ValidationIssue {
        switch self {
        case .unreadable: return ValidationIssue(.error, .unreadableFile, line: nil, column: nil, description)
        case .notUTF8(_, let line): return ValidationIssue(.error, .notUTF8, line: line, column: nil, description)
        case .noHeader: return ValidationIssue(.error, .noHeader, line: nil, column: nil, description)
        case .unbalancedQuote(_, let line): return ValidationIssue(.error, .unbalancedQuote, line: line, column: nil, description)
        case .badClassDeclaration, .badDelimiter: return ValidationIssue(.error, .badClassDeclaration, line: nil, column: nil, description)
        case .conflictingClassDeclarations(_, let line): return ValidationIssue(.error, .badClassDeclaration, line: line, column: nil, description)
        case .noClassDeclaration: return ValidationIssue(.error, .noClassDeclaration, line: nil, column: nil, description)
        }
    }
}

extension ValidationReport {
    /// The report of a manifest that could not be read: the one fatal problem, empty counts.
    public init(manifest: String, fatal: ManifestError) {
        self.init(manifest: manifest, issues: [fatal.issue],
                  summary: Summary(rows: 0, images: 0, frames: 0, patients: 0, studies: 0, studiesPerClass: [], positiveClass: ""))
    }
}
