/// The field separator of a manifest. Detected from the header row unless given (`--delimiter`).
public enum ManifestDelimiter: String, CaseIterable, Codable, Sendable {
    case comma = ","
    case semicolon = ";"
    case tab = "\t"

    public var scalar: Unicode.Scalar { rawValue.unicodeScalars.first! }

    /// Accepts `,` `;` `\t` and the names `comma`, `semicolon`, `tab`.
    public init(argument: String) throws {
        switch argument.lowercased() {
        case ",", "comma": self = .comma
        case ";", "semicolon": self = .semicolon
        case "\t", "\\t", "tab": self = .tab
        default: throw ManifestError.badDelimiter(argument)
        }
    }

    /// The candidate that occurs most often outside double quotes in the header line; a header
    /// names at least `label` and `patient_id`, so a real delimiter occurs at least once. Ties and a
    /// header without any candidate resolve to the comma (order of `allCases`).
    public static func detect<Line: Sequence>(headerLine: Line) -> ManifestDelimiter where Line.Element == Unicode.Scalar {
        var counts = [ManifestDelimiter: Int]()
        var inQuotes = false
        for scalar in headerLine {
            if scalar == "\"" { inQuotes.toggle(); continue }
            if inQuotes { continue }
            if let delimiter = ManifestDelimiter(rawValue: String(scalar)) { counts[delimiter, default: 0] += 1 }
        }
        var best = ManifestDelimiter.comma
        for candidate in allCases where counts[candidate, default: 0] > counts[best, default: 0] { best = candidate }
        return best
    }
}
