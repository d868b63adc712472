import Foundation
import SonoKitCore

/// `predictions.csv`: one row per study, reported or failed, in a fixed column order (new
/// columns are only ever appended). RFC 4180 quoting; numbers with 6 decimals; identifiers
/// columns are empty unless `--include-identifiers` was given.
///
/// A multi-class run (`multiclassText`) writes the same columns (`label` = the predicted class,
/// `probability` = its probability, `label_is_positive` and `threshold` empty, `threshold_rule` =
/// `argmax` or `per_class_thresholds`) followed by `task` (`multiclass`), `predicted_class` and one
/// `probability_<class>` column per class in the model's order (`ClassProbabilityColumns`, shared
/// with the evaluation CSVs). A binary file has no `task` column: no `task` means binary, as in the
/// reports' JSON.
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
                r.threshold.map { number($0.value) } ?? "", r.threshold?.rule ?? "", aggregation, String(r.aggregation.framesUsed),
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

    /// The header of a multi-class run's file.
    public static func multiclassColumns(classes: [String]) -> [String] {
        columns + ["task", "predicted_class"] + ClassProbabilityColumns.names(classes: classes)
    }

    /// `predictions.csv` of a multi-class run (`classes` in the model's order).
    public static func multiclassText(reports: [PredictionReport], failed: [PredictionStudyFailure], classes: [String]) -> String {
        var rows: [(String, [String])] = []
        for r in reports {
            let aggregation = r.aggregation.frameThreshold.map { "\(r.aggregation.rule)=\(number($0))" } ?? r.aggregation.rule
            let byClass = Dictionary((r.classProbabilities ?? []).map { ($0.name, $0.probability) }, uniquingKeysWith: { a, _ in a })
            rows.append((r.studyKey, [
                r.studyKey, "reported", r.label, "", number(r.probability), "", r.decision?.rule ?? "", aggregation,
                String(r.aggregation.framesUsed), String(r.series.reduce(0) { $0 + $1.instances.count }), r.warnings.joined(separator: "; "),
                r.model.modelID, r.model.weightsSHA256, r.model.preprocessingHash, r.schemaVersion, "", r.identifiers?.studyInstanceUID ?? "",
                r.task.rawValue, r.label,
            ] + classes.map { byClass[$0].map(number) ?? "" }))
        }
        for f in failed {
            rows.append((f.studyKey, [f.studyKey, "failed", "", "", "", "", "", "", "0", "0", "", "", "", "",
                                      PredictionReport.multiclassSchemaVersion, f.reasons.joined(separator: "; "), "",
                                      ClassificationTask.multiclass.rawValue, ""] + classes.map { _ in "" }))
        }
        var out = multiclassColumns(classes: classes).map(quote).joined(separator: ",") + "\n"
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
