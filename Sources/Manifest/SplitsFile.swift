import CSV
import Foundation
import SonoKitCore

/// The splits file written by `sonokit manifest split` and read by `validate --splits`, `train`,
/// `evaluate`: UTF-8 CSV with `#` comment lines saying how it was made, then
///
///     patient_id,split
///     P001,train
///     P002,test
///
/// one row per patient (sorted by patient_id), split names `train`/`validation`/`test` or
/// `fold0`...`fold{K-1}`. `manifest split` writes the catalog's pseudonymous patient keys in the
/// patient_id column, never patient IDs, and says so in the comment line `patientKeysComment`;
/// a file without that line (written by hand, or by SonoKit before it keyed them) holds the
/// manifest's patient ids and is read as such.
public enum SplitsFile {
    /// The comment line that marks patient_id as holding the catalog's pseudonymous patient keys.
    public static let patientKeysComment = "patient_id: the catalog's pseudonymous patient keys (P-...), not patient IDs"

    public static func write(_ assignment: SplitAssignment, comments: [String], to path: String) throws {
        try AtomicFile.write(try data(assignment, comments: comments), to: path)
    }

    /// The file's bytes: comment lines, then `patient_id,split` rows sorted by patient id.
    public static func data(_ assignment: SplitAssignment, comments: [String]) throws -> Data {
        let rows = assignment.splitOfPatient.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            .map { [$0.key, $0.value] }
        return try CSVText.make(comments: comments + (assignment.holdsPatientKeys ? [patientKeysComment] : [])
                                    + ["splits: " + assignment.splitNames.joined(separator: ",")],
                                header: ["patient_id", "split"], rows: rows)
    }

    /// Reads a splits file. A patient listed twice with different splits, or a row without
    /// patient_id or split, is an error naming the line.
    public static func read(path: String) throws -> SplitAssignment {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SplitsFileError.unreadable(file: path, detail: (error as NSError).localizedDescription)
        }
        let text = try ManifestParser.decodeUTF8(data, file: path)
        let lines = ManifestParser.physicalLines(text)
        var headerIndex = 0
        var declaredNames: [String]?
        var holdsPatientKeys = false
        while headerIndex < lines.count {
            let trimmed = String(Substring(lines[headerIndex])).trimmingWhitespace()
            if trimmed.isEmpty { headerIndex += 1; continue }
            guard trimmed.hasPrefix("#") else { break }
            let body = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
            if body == patientKeysComment { holdsPatientKeys = true }
            if body.hasPrefix("splits:") {
                declaredNames = body.dropFirst("splits:".count).split(separator: ",").map { String($0).trimmingWhitespace() }
            }
            headerIndex += 1
        }
        guard headerIndex < lines.count else { throw SplitsFileError.noHeader(file: path) }
        let delimiter = ManifestDelimiter.detect(headerLine: lines[headerIndex])
        let records = try ManifestParser.readRecords(String(Substring(text.unicodeScalars[lines[headerIndex].startIndex...])),
                                                     delimiter: delimiter, firstLine: headerIndex + 1, lines: lines, file: path)
        let header = records[0].fields.map { $0.trimmingWhitespace().lowercased() }
        guard let patientColumn = header.firstIndex(of: "patient_id"), let splitColumn = header.firstIndex(of: "split") else {
            throw SplitsFileError.badHeader(file: path, line: records[0].line)
        }
        var assignment: [String: String] = [:]
        var lineOfPatient: [String: Int] = [:]
        var names: [String] = []
        for record in records.dropFirst() {
            if record.fields.allSatisfy({ $0.trimmingWhitespace().isEmpty }) { continue }
            let patient = patientColumn < record.fields.count ? record.fields[patientColumn].trimmingWhitespace() : ""
            let split = splitColumn < record.fields.count ? record.fields[splitColumn].trimmingWhitespace() : ""
            guard !patient.isEmpty, !split.isEmpty else { throw SplitsFileError.emptyCell(file: path, line: record.line) }
            if let previous = assignment[patient], previous != split {
                throw SplitsFileError.patientInTwoSplits(file: path, line: record.line, firstLine: lineOfPatient[patient]!)
            }
            assignment[patient] = split
            lineOfPatient[patient] = lineOfPatient[patient] ?? record.line
            if !names.contains(split) { names.append(split) }
        }
        if let declaredNames {
            names = declaredNames + names.filter { !declaredNames.contains($0) }
        }
        return SplitAssignment(splitNames: names, splitOfPatient: assignment, holdsPatientKeys: holdsPatientKeys)
    }
}

public enum SplitsFileError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, detail: String)
    case noHeader(file: String)
    case badHeader(file: String, line: Int)
    case emptyCell(file: String, line: Int)
    case patientInTwoSplits(file: String, line: Int, firstLine: Int)

    public var description: String {
        switch self {
        case .unreadable(let file, let detail): return "\(file): cannot read the splits file (\(detail))."
        case .noHeader(let file): return "\(file): the splits file has no header row ('patient_id,split')."
        case .badHeader(let file, let line): return "\(file), line \(line): the header must name the columns 'patient_id' and 'split'."
        case .emptyCell(let file, let line): return "\(file), line \(line): patient_id or split is empty; every row needs both."
        case .patientInTwoSplits(let file, let line, let firstLine):
            return "\(file), line \(line): this patient already has another split on line \(firstLine); a patient belongs to one split."
        }
    }
}
