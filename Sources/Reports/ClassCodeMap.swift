import DICOM
import Foundation

/// The user's standard codes for a model's classes (`--class-codes FILE`), used by the DICOM SR
/// for the finding and the per-class probabilities.
///
/// The file is CSV (RFC 4180: fields with a comma or quote are quoted, quotes doubled; UTF-8; a
/// leading `#` line is a comment; blank lines are skipped) with the header
///
///     class,code_value,coding_scheme_designator,code_meaning[,coding_scheme_version]
///
/// one row per class, e.g. `malignant,86049000,SCT,Malignant neoplasm`. Rules, each checked with
/// an error naming the file, line and column:
/// - `class` is one of the model's classes, at most once;
/// - `code_value` is 1-64 characters without a backslash or control character (a value longer
///   than 16 characters is written as a Long Code Value by DCMTK, PS3.3 8.8);
/// - `coding_scheme_designator` is a DICOM SH value (1-16 characters, no backslash or control
///   character; PS3.16 8: "SCT" for SNOMED CT, "DCM", "LN" for LOINC, "RADLEX", "NCIt", or a
///   private "99..."); common misspellings of standard ones ("SNOMED", "LOINC", "RadLex") are
///   refused with the right designator, and SonoKit's own private designator is refused;
/// - `code_meaning` is 1-64 characters (LO) without a backslash or control character;
/// - `coding_scheme_version`, when the column exists, may be empty (at most 16 characters).
///
/// Classes the file does not name are allowed: the SR codes them in SonoKit's private scheme and
/// the caller warns (`unmapped(_:)`).
public struct ClassCodeMap: Equatable, Sendable {
    /// The file the codes came from (for messages).
    public var path: String
    /// Class name -> its code.
    public var codes: [String: CodedConcept]

    public static let requiredColumns = ["class", "code_value", "coding_scheme_designator", "code_meaning"]
    public static let optionalColumns = ["coding_scheme_version"]

    public init(path: String, codes: [String: CodedConcept]) {
        self.path = path
        self.codes = codes
    }

    /// Reads and validates `path` against the model's `classes`.
    public static func load(path: String, classes: [String]) throws -> ClassCodeMap {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClassCodeMapError(path: path, line: nil, column: nil, problem: "cannot read the file; give a readable CSV file to --class-codes")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ClassCodeMapError(path: path, line: nil, column: nil, problem: "the file is not UTF-8 text; save it as UTF-8 CSV")
        }
        return try parse(text, path: path, classes: classes)
    }

    /// Parses and validates CSV `text` (named `path` in errors) against the model's `classes`.
    public static func parse(_ text: String, path: String, classes: [String]) throws -> ClassCodeMap {
        func fail(_ line: Int?, _ column: String?, _ problem: String) -> ClassCodeMapError {
            ClassCodeMapError(path: path, line: line, column: column, problem: problem)
        }
        var body = text
        if body.unicodeScalars.first == "\u{FEFF}" { body.unicodeScalars.removeFirst() }
        var records: [(line: Int, fields: [String])] = []
        // By scalars: in a Swift String "\r\n" is one Character, which splitting on "\n" misses.
        for (index, scalars) in body.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(String.UnicodeScalarView(scalars.last == "\r" ? scalars.dropLast() : scalars))
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            records.append((index + 1, try fields(of: line, lineNumber: index + 1, path: path)))
        }
        guard let header = records.first else {
            throw fail(nil, nil, "no header; the first line must be \(requiredColumns.joined(separator: ","))")
        }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for name in names where !(requiredColumns + optionalColumns).contains(name) {
            throw fail(header.line, name, "unknown column; the columns are \((requiredColumns + optionalColumns).joined(separator: ", "))")
        }
        for name in requiredColumns where !names.contains(name) {
            throw fail(header.line, name, "missing column; the header must be \(requiredColumns.joined(separator: ",")) (coding_scheme_version optional)")
        }
        for name in Set(names) where names.filter({ $0 == name }).count > 1 {
            throw fail(header.line, name, "the column appears twice; name each column once")
        }
        let column = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        var codes: [String: CodedConcept] = [:], firstLine: [String: Int] = [:]
        for record in records.dropFirst() {
            guard record.fields.count == names.count else {
                throw fail(record.line, nil, "\(record.fields.count) fields where the header has \(names.count); quote fields that contain a comma")
            }
            func value(_ name: String) -> String { record.fields[column[name]!].trimmingCharacters(in: .whitespaces) }
            for name in requiredColumns where value(name).isEmpty {
                throw fail(record.line, name, "empty; every row needs a class, a code value, a coding scheme designator and a code meaning")
            }
            let className = value("class")
            guard classes.contains(className) else {
                throw fail(record.line, "class", "unknown class '\(className)'; the model's classes are \(classes.joined(separator: ", "))")
            }
            if let earlier = firstLine[className] {
                throw fail(record.line, "class", "class '\(className)' is already coded on line \(earlier); give each class one code")
            }
            let codeValue = value("code_value"), designator = value("coding_scheme_designator"), meaning = value("code_meaning")
            if let problem = textProblem(codeValue, limit: 64) { throw fail(record.line, "code_value", problem) }
            if let problem = designatorProblem(designator) { throw fail(record.line, "coding_scheme_designator", problem) }
            if let problem = textProblem(meaning, limit: 64) { throw fail(record.line, "code_meaning", problem) }
            var version: String? = nil
            if column["coding_scheme_version"] != nil, !value("coding_scheme_version").isEmpty {
                version = value("coding_scheme_version")
                if let problem = textProblem(version!, limit: 16) { throw fail(record.line, "coding_scheme_version", problem) }
            }
            codes[className] = CodedConcept(codeValue, designator, meaning, version: version)
            firstLine[className] = record.line
        }
        return ClassCodeMap(path: path, codes: codes)
    }

    /// The code of `className`, nil when the file does not name it.
    public func code(for className: String) -> CodedConcept? { codes[className] }

    /// The classes of `classes` the file does not name (in the order given): the SR codes them in
    /// SonoKit's private scheme; the caller should warn.
    public func unmapped(_ classes: [String]) -> [String] { classes.filter { codes[$0] == nil } }

    /// Why `designator` is not a usable coding scheme designator, nil when it is.
    static func designatorProblem(_ designator: String) -> String? {
        if let problem = textProblem(designator, limit: 16) {
            return "'\(designator)' is not a DICOM coding scheme designator: \(problem) (write e.g. SCT for SNOMED CT, RADLEX, LN, or a private 99NAME)"
        }
        let misspelt = ["SNOMED": "SCT", "SNOMEDCT": "SCT", "SNOMED CT": "SCT", "SNOMED-CT": "SCT", "SNOMED_CT": "SCT", "SNM": "SCT",
                        "LOINC": "LN", "RADLEX": "RADLEX", "NCIT": "NCIt", "UMLS": "UMLS", "DICOM": "DCM"]
        if let right = misspelt[designator.uppercased()], right != designator {
            return "'\(designator)' is not the designator DICOM uses for that scheme (PS3.16 Table 8-1); write \(right)"
        }
        if designator == StudyReportSR.privateScheme.designator {
            return "'\(designator)' is SonoKit's own private scheme (used for classes without a code); choose another designator"
        }
        return nil
    }

    /// Why `text` cannot be a code value/meaning (DICOM SH/LO/UC values: no backslash, no
    /// control character), nil when it can.
    static func textProblem(_ text: String, limit: Int) -> String? {
        if text.count > limit { return "\(text.count) characters, at most \(limit) are allowed; shorten it" }
        if text.contains("\\") { return "contains a backslash, which DICOM uses to separate values; remove it" }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains a control character; remove it" }
        return nil
    }

    /// The fields of one CSV line (RFC 4180 quoting; a quoted field may not span lines here).
    static func fields(of line: String, lineNumber: Int, path: String) throws -> [String] {
        var fields: [String] = [], field = "", quoted = false, atStart = true
        var characters = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? characters.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    let next = characters.next()
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else { field.append(c) }
            } else if c == "\"" && atStart {
                quoted = true; atStart = false
            } else if c == "," {
                fields.append(field); field = ""; atStart = true
            } else {
                field.append(c); atStart = false
            }
        }
        if quoted {
            throw ClassCodeMapError(path: path, line: lineNumber, column: nil,
                                    problem: "a quoted field is not closed on this line; close the quote (a field may not span lines)")
        }
        fields.append(field)
        return fields
    }
}

/// Why a class codes file cannot be used: the file, the line and column when known, and what to write.
public struct ClassCodeMapError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var line: Int?
    public var column: String?
    public var problem: String

    public var description: String {
        var place = path
        if let line { place += ":\(line)" }
        if let column { place += " column \(column)" }
        return "\(place): \(problem)"
    }
}
