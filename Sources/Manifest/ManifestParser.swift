import CSV
import Foundation

/// Turns the bytes of a manifest into a ``Manifest``.
///
/// The file format:
/// - UTF-8, with or without a byte-order mark; any invalid byte sequence is an error naming its line.
/// - Optional comment lines starting with `#` (and blank lines) before the header; a comment
///   `# classes: a,b; positive: b` declares the classes. These lines are removed before the CSV
///   library sees the text, and line numbers still count them.
/// - A header row, then data rows; fields separated by `,`, `;` or a tab (detected from the header
///   unless given), lines ended by LF, CRLF or CR, fields optionally quoted with `"` (a quoted field may
///   hold the delimiter, line breaks and doubled quotes `""`). Parsing itself is done by
///   yaslab/CSV.swift's `CSVReader`; this type adds line numbers, which the library does not
///   give: a record starts on the line after the previous one ended, and spans one line plus
///   the line breaks inside its quoted fields (the library keeps those verbatim).
/// - Empty lines are skipped; one trailing delimiter per line (an empty last field) is tolerated.
///
/// Why CSV.swift and not SwiftCSV 0.10.0 (both read from their sources): neither reports line
/// numbers. CSV.swift is a Unicode-scalar state machine with explicit CR / LF / CRLF rules that
/// keeps line breaks inside quoted fields verbatim, which is what makes the physical line count
/// above exact. SwiftCSV works on grapheme clusters, silently drops white space at the start of
/// fields, and throws a quotation error without any position. CSV.swift is lenient about a stray
/// quote, so an odd number of quotes in a record is detected here and reported with its line.
public enum ManifestParser {

    public static func parse(data: Data, file: String, directory: String,
                             delimiter requestedDelimiter: ManifestDelimiter? = nil,
                             classes declaredClasses: ClassDeclaration? = nil) throws -> Manifest {
        let text = try decodeUTF8(data, file: file)
        let lines = physicalLines(text)

        // Preamble: blank lines and `#` comments before the header.
        var headerIndex = 0
        var commentClasses: ClassDeclaration?
        var commentLine = 0
        while headerIndex < lines.count {
            let trimmed = String(Substring(lines[headerIndex])).trimmingWhitespace()
            if trimmed.isEmpty { headerIndex += 1; continue }
            guard trimmed.hasPrefix("#") else { break }
            if let declaration = try ClassDeclaration.fromComment(String(trimmed.dropFirst())) {
                commentClasses = declaration
                commentLine = headerIndex + 1
            }
            headerIndex += 1
        }
        guard headerIndex < lines.count else { throw ManifestError.noHeader(file: file) }

        let classes: ClassDeclaration
        switch (declaredClasses, commentClasses) {
        case (let given?, let comment?):
            guard given == comment else { throw ManifestError.conflictingClassDeclarations(file: file, line: commentLine) }
            classes = given
        case (let given?, nil): classes = given
        case (nil, let comment?): classes = comment
        case (nil, nil): throw ManifestError.noClassDeclaration(file: file)
        }

        let delimiter = requestedDelimiter ?? ManifestDelimiter.detect(headerLine: lines[headerIndex])
        let body = text.unicodeScalars[lines[headerIndex].startIndex...]
        let records = try readRecords(String(Substring(body)), delimiter: delimiter,
                                      firstLine: headerIndex + 1, lines: lines, file: file)
        guard let headerRecord = records.first else { throw ManifestError.noHeader(file: file) }

        var issues: [ValidationIssue] = []
        let headerLine = headerRecord.line
        var header = headerRecord.fields.map { $0.trimmingWhitespace().lowercased() }
        if header.count > 1, header.last == "" { header.removeLast() }   // trailing delimiter

        // Header checks.
        var seen = Set<String>()
        for name in header where !name.isEmpty && !seen.insert(name).inserted {
            issues.append(.error(.duplicateColumn, line: headerLine, column: ManifestColumn(rawValue: name),
                                 "column '\(name)' appears twice in the header; keep one"))
        }
        for name in header where ManifestColumn(rawValue: name) == nil {
            issues.append(ValidationIssue(.warning, .unknownColumn, line: headerLine, column: name,
                                          name.isEmpty ? "a column has no name; its cells are ignored"
                                          : "column '\(name)' is not a manifest column and is ignored (known: \(ManifestColumn.allCases.map(\.rawValue).joined(separator: ", ")))"))
        }
        for required in ManifestColumn.requiredColumns where !header.contains(required.rawValue) {
            issues.append(.error(.missingColumn, line: headerLine, column: required,
                                 "the header has no '\(required.rawValue)' column; it is required" + (header.count == 1 ? " (is the delimiter right? detected '\(delimiter == .tab ? "tab" : delimiter.rawValue)')" : "")))
        }
        if !ManifestColumn.referenceColumns.contains(where: { header.contains($0.rawValue) }) {
            issues.append(.error(.noReferenceColumn, line: headerLine, column: nil,
                                 "the header has no column naming images; add one of \(ManifestColumn.referenceColumns.map(\.rawValue).joined(separator: ", "))"))
        }
        let columnIndex: [ManifestColumn: Int] = Dictionary(
            header.enumerated().compactMap { index, name in ManifestColumn(rawValue: name).map { ($0, index) } },
            uniquingKeysWith: { first, _ in first })

        // Data rows.
        var rows: [ManifestRow] = []
        for record in records.dropFirst() {
            var fields = record.fields
            if fields.allSatisfy({ $0.trimmingWhitespace().isEmpty }) { continue }   // empty line
            if fields.count == header.count + 1, fields.last!.trimmingWhitespace().isEmpty { fields.removeLast() }
            if fields.count > header.count {
                issues.append(.error(.extraFields, line: record.line, column: nil,
                                     "the row has \(fields.count) fields but the header names \(header.count) columns; quote cells that contain the delimiter"))
            }
            var values: [ManifestColumn: String] = [:]
            for (column, index) in columnIndex where index < fields.count {
                let value = fields[index].trimmingWhitespace()
                if !value.isEmpty { values[column] = value }
            }
            if let text = values[.weight], Double(text).map({ $0.isFinite && $0 > 0 }) != true {
                issues.append(.error(.invalidWeight, line: record.line, column: .weight,
                                     "weight '\(text)' is not a positive number; leave it empty for weight 1"))
            }
            var references: [ImageReference] = []
            for column in ManifestColumn.referenceColumns {
                guard let value = values[column] else { continue }
                switch column {
                case .path:
                    let url = value.hasPrefix("/") ? URL(fileURLWithPath: value)
                        : URL(fileURLWithPath: directory, isDirectory: true).appendingPathComponent(value)
                    references.append(.path(url.standardizedFileURL.path))
                case .sopUID: references.append(.sopUID(value))
                case .seriesUID: references.append(.seriesUID(value))
                case .studyUID: references.append(.studyUID(value))
                case .accession: references.append(.accession(value))
                default: break
                }
            }
            rows.append(ManifestRow(line: record.line, values: values, references: references))
        }
        if rows.isEmpty {
            issues.append(.error(.emptyManifest, line: headerLine, column: nil, "the manifest has a header but no data rows"))
        }
        return Manifest(file: file, directory: directory, delimiter: delimiter, classes: classes, headerLine: headerLine,
                        header: header, rows: rows, parseIssues: issues)
    }

    // MARK: - Text

    /// Decodes UTF-8 (dropping a byte-order mark). On invalid bytes, finds the first line holding them.
    static func decodeUTF8(_ data: Data, file: String) throws -> String {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var line = 1
        var start = 0
        var index = 0
        while index <= bytes.count {
            let atEnd = index == bytes.count
            if atEnd || bytes[index] == 0x0A || bytes[index] == 0x0D {
                if String(validating: bytes[start..<index], as: UTF8.self) == nil {
                    throw ManifestError.notUTF8(file: file, line: line)
                }
                if atEnd { break }
                if bytes[index] == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
                line += 1
                start = index + 1
            }
            index += 1
        }
        throw ManifestError.notUTF8(file: file, line: line)
    }

    /// The physical lines of `text` (without their terminators); LF, CRLF and a lone CR each end a
    /// line, as in the CSV reader.
    static func physicalLines(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = text.unicodeScalars
        var lines: [Substring.UnicodeScalarView] = []
        var start = scalars.startIndex
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if scalar == "\n" || scalar == "\r" {
                lines.append(scalars[start..<index])
                var next = scalars.index(after: index)
                if scalar == "\r", next < scalars.endIndex, scalars[next] == "\n" { next = scalars.index(after: next) }
                start = next
                index = next
            } else {
                index = scalars.index(after: index)
            }
        }
        if start < scalars.endIndex { lines.append(scalars[start..<scalars.endIndex]) }
        return lines
    }

    static func lineBreakCount(_ field: String) -> Int {
        var count = 0
        var previousWasCR = false
        for scalar in field.unicodeScalars {
            if scalar == "\r" { count += 1; previousWasCR = true; continue }
            if scalar == "\n", !previousWasCR { count += 1 }
            previousWasCR = false
        }
        return count
    }

    struct Record {
        let line: Int
        let fields: [String]
    }

    /// Reads every record of `text` with the CSV library and numbers it with its first physical line.
    static func readRecords(_ text: String, delimiter: ManifestDelimiter, firstLine: Int,
                            lines: [Substring.UnicodeScalarView], file: String) throws -> [Record] {
        let reader = try CSVReader(string: text, hasHeaderRow: false, trimFields: false, delimiter: delimiter.scalar)
        var records: [Record] = []
        var line = firstLine
        while let fields = reader.next() {
            records.append(Record(line: line, fields: fields))
            line += 1 + fields.reduce(0) { $0 + lineBreakCount($1) }
        }
        // An odd number of double quotes in a record means a quote that is never closed (the library
        // then reads to the end of the file) or a stray quote; name the line where that record starts.
        var quoteTotal = 0
        for index in (firstLine - 1)..<lines.count {
            quoteTotal += lines[index].reduce(0) { $0 + ($1 == "\"" ? 1 : 0) }
        }
        if quoteTotal % 2 == 1 {
            for (position, record) in records.enumerated() {
                let end = position + 1 < records.count ? records[position + 1].line - 1 : lines.count
                var quotes = 0
                for index in (record.line - 1)..<min(end, lines.count) {
                    quotes += lines[index].reduce(0) { $0 + ($1 == "\"" ? 1 : 0) }
                }
                if quotes % 2 == 1 { throw ManifestError.unbalancedQuote(file: file, line: record.line) }
            }
            throw ManifestError.unbalancedQuote(file: file, line: records.last?.line ?? firstLine)
        }
        return records
    }
}
