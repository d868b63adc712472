import Foundation

/// `predictions.csv`: one row per study, reported or failed, in a fixed column order (new
/// columns are only ever appended). RFC 4180 quoting; numbers with 6 decimals; identifiers
/// columns are empty unless `--include-identifiers` was given.
public enum PredictionCSV {
    public static let columns = [
        "study_key", "status", "label", "label_is_positive", "probability", "threshold", "threshold_rule",
        "aggregation", "frames_used", "instances", "warnings", "model_id", "weights_sha256", "preprocessing_hash",
        "schema_version", "reason", "study_instance_uid",
    ]

    public static func text(reports: [PredictionReport], failed: [PredictionStudyFailure]) -> String {
        var rows: [(String, [String])] = []
        for r in reports {
            let aggregation = r.aggregation.frameThreshold.map { "\(r.aggregation.rule)=\(number($0))" } ?? r.aggregation.rule
            rows.append((r.studyKey, [
                r.studyKey, "reported", r.label, r.labelIsPositive ? "true" : "false", number(r.probability),
                number(r.threshold.value), r.threshold.rule, aggregation, String(r.aggregation.framesUsed),
                String(r.series.reduce(0) { $0 + $1.instances.count }), r.warnings.joined(separator: "; "),
                r.model.modelID, r.model.weightsSHA256, r.model.preprocessingHash, r.schemaVersion, "",
                r.identifiers?.studyInstanceUID ?? "",
            ]))
        }
        for f in failed {
            rows.append((f.studyKey, [f.studyKey, "failed", "", "", "", "", "", "", "0", "0", "", "", "", "",
                                      PredictionReport.schemaVersion, f.reasons.joined(separator: "; "), ""]))
        }
        var out = columns.joined(separator: ",") + "\n"
        for (_, fields) in rows.sorted(by: { $0.0 < $1.0 }) {
            out += fields.map(quote).joined(separator: ",") + "\n"
        }
        return out
    }

    static func number(_ value: Double) -> String { String(format: "%.6f", value) }

    /// RFC 4180: a field with a comma, quote, CR or LF is quoted and its quotes doubled.
    public static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
