/// One problem found in a manifest. Messages never contain patient identifiers: they point at
/// lines and columns of the user's own file instead.
public struct ValidationIssue: Codable, Hashable, Sendable {
    public enum Severity: String, Codable, Sendable { case error, warning }

    /// What went wrong, as a stable machine-readable code (the `code` field of `--json` output).
    public enum Code: String, Codable, Sendable, CaseIterable {
        // the file as a whole (a ManifestError: nothing else could be checked)
        case unreadableFile = "unreadable_file"
        case notUTF8 = "not_utf8"
        case noHeader = "no_header"
        case unbalancedQuote = "unbalanced_quote"
        case badClassDeclaration = "bad_class_declaration"
        case noClassDeclaration = "no_class_declaration"
        // header
        case missingColumn = "missing_column"
        case noReferenceColumn = "no_reference_column"
        case duplicateColumn = "duplicate_column"
        case unknownColumn = "unknown_column"
        // row format
        case extraFields = "extra_fields"
        case invalidWeight = "invalid_weight"
        case emptyManifest = "empty_manifest"
        // row content
        case missingLabel = "missing_label"
        case unknownLabel = "unknown_label"
        case missingPatientID = "missing_patient_id"
        case missingReference = "missing_reference"
        case unresolvedReference = "unresolved_reference"
        case resolutionFailed = "resolution_failed"
        case notAnImage = "not_an_image"
        case noUltrasoundImage = "no_ultrasound_image"
        case notUltrasound = "not_ultrasound"
        case referenceMismatch = "reference_mismatch"
        case patientIDMismatch = "patient_id_mismatch"
        case missingSplit = "missing_split"
        case unknownSplitName = "unknown_split_name"
        // across rows
        case duplicateRow = "duplicate_row"
        case conflictingLabels = "conflicting_labels"
        case conflictingPatients = "conflicting_patients"
        case conflictingSplits = "conflicting_splits"
        case overlappingRows = "overlapping_rows"
        case patientInTwoSplits = "patient_in_two_splits"
        case samePixelsTwoPatients = "same_pixels_two_patients"
        case samePixelsTwoSplits = "same_pixels_two_splits"
        case samePixelsTwice = "same_pixels_twice"
        case undecodableImage = "undecodable_image"
        // whole manifest
        case splitWithoutPositive = "split_without_positive"
        case splitWithoutNegative = "split_without_negative"
        case emptyClass = "empty_class"
        case smallClass = "small_class"
        // multi-class splits
        case splitWithOneClass = "split_with_one_class"
        case classMissingFromSplit = "class_missing_from_split"
        case smallClassInSplit = "small_class_in_split"
    }

    public let severity: Severity
    public let code: Code
    /// 1-based line in the manifest; nil for problems of the whole manifest or of a split.
    public let line: Int?
    /// Header name of the column concerned, when there is one.
    public let column: String?
    public let message: String

    public init(_ severity: Severity, _ code: Code, line: Int?, column: String?, _ message: String) {
        self.severity = severity
        self.code = code
        self.line = line
        self.column = column
        self.message = message
    }

    static func error(_ code: Code, line: Int?, column: ManifestColumn?, _ message: String) -> ValidationIssue {
        ValidationIssue(.error, code, line: line, column: column?.rawValue, message)
    }

    static func warning(_ code: Code, line: Int?, column: ManifestColumn?, _ message: String) -> ValidationIssue {
        ValidationIssue(.warning, code, line: line, column: column?.rawValue, message)
    }

    /// `labels.csv:12: error [unknown_label] column label: ...`, the form compilers use so that
    /// editors can jump to the line.
    public func formatted(file: String) -> String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": \(severity.rawValue) [\(code.rawValue)]"
        if let column { text += " column \(column):" }
        return text + " " + message
    }
}
