import Evaluation
import Foundation

/// One evaluated frame as frames.csv lists it: pseudonymous keys only (no path, no UID, no
/// patient identifier: export folder names often carry patient names).
public struct EvaluationFrameRow: Codable, Equatable, Sendable {
    public var studyKey: String
    public var patientKey: String
    /// A pseudonym of the SOP Instance UID (several instances can make up a study).
    public var instanceKey: String
    /// Index of the frame in its instance (0-based).
    public var frameIndex: Int
    public var isPositive: Bool
    public var probability: Double
    public var attributes: [String: String]

    public init(studyKey: String, patientKey: String, instanceKey: String, frameIndex: Int, isPositive: Bool,
                probability: Double, attributes: [String: String] = [:]) {
        self.studyKey = studyKey
        self.patientKey = patientKey
        self.instanceKey = instanceKey
        self.frameIndex = frameIndex
        self.isPositive = isPositive
        self.probability = probability
        self.attributes = attributes
    }
}

/// studies.csv and frames.csv: RFC 4180 CSV (comma, CRLF-free `\n` lines, fields quoted when they
/// hold a comma, quote or line break), a header row, and a column order that never changes
/// between runs so that scripts can read the files by position or by name.
///
/// Probabilities are written in Swift's shortest round-trip form: parsing the text gives back the
/// exact double the metrics were computed from.
///
/// These are the binary files: no `task` column (as a binary predictions.csv; no `task` means
/// binary). A multi-class evaluation writes these columns followed by `task` and one
/// `probability_<class>` column per class (`MulticlassEvaluationTables`).
public enum EvaluationTables {
    /// The attribute columns, in this order, always present (empty when unknown).
    public static let attributeColumns = ["site", "manufacturer"]

    public static let studyColumns = ["study_key", "patient_key", "label", "probability", "prediction", "correct", "frames_used"]
        + attributeColumns
    public static let frameColumns = ["study_key", "patient_key", "instance_key", "frame_index", "label", "probability"]
        + attributeColumns

    /// One row per study, sorted by study key: the aggregated probability and the decision at
    /// `threshold` (positive iff probability >= threshold, as everywhere in Evaluation).
    public static func studiesCSV(_ studies: [AggregatedStudy], threshold: Double, classes: ClassNames) -> String {
        var lines = [studyColumns.joined(separator: ",")]
        for s in studies.sorted(by: { $0.studyKey < $1.studyKey }) {
            let predictedPositive = s.probability >= threshold
            let cells = [s.studyKey, s.patientKey, s.isPositive ? classes.positive : classes.negative, number(s.probability),
                         predictedPositive ? classes.positive : classes.negative, predictedPositive == s.isPositive ? "true" : "false",
                         String(s.framesUsed)] + attributeColumns.map { s.attributes[$0] ?? "" }
            lines.append(cells.map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One row per frame, sorted by study key, instance key and frame index.
    public static func framesCSV(_ frames: [EvaluationFrameRow], classes: ClassNames) -> String {
        var lines = [frameColumns.joined(separator: ",")]
        let ordered = frames.sorted { ($0.studyKey, $0.instanceKey, $0.frameIndex) < ($1.studyKey, $1.instanceKey, $1.frameIndex) }
        for f in ordered {
            let cells = [f.studyKey, f.patientKey, f.instanceKey, String(f.frameIndex), f.isPositive ? classes.positive : classes.negative,
                         number(f.probability)] + attributeColumns.map { f.attributes[$0] ?? "" }
            lines.append(cells.map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A CSV field, quoted (with doubled quotes) when it holds a delimiter, a quote or a line break.
    public static func field(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func number(_ v: Double) -> String { "\(v)" }
}
