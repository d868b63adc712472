/// One data row of a manifest, as written (values trimmed of surrounding white space).
public struct ManifestRow: Hashable, Sendable {
    /// 1-based physical line of the file where the row starts (a quoted field may span lines).
    public let line: Int
    /// Non-empty cells of the known columns.
    public let values: [ManifestColumn: String]
    /// The image references of the row, most specific first (see ``ManifestColumn/referenceColumns``).
    public let references: [ImageReference]

    public init(line: Int, values: [ManifestColumn: String], references: [ImageReference]) {
        self.line = line
        self.values = values
        self.references = references
    }

    public var reference: ImageReference? { references.first }
    public var label: String? { values[.label] }
    public var patientID: String? { values[.patientID] }
    public var studyID: String? { values[.studyID] }
    public var split: String? { values[.split] }
    public var site: String? { values[.site] }
    /// Nil when the cell is empty or not a positive finite number (the parser reports the latter).
    public var weight: Double? {
        guard let text = values[.weight], let value = Double(text), value.isFinite, value > 0 else { return nil }
        return value
    }
}
