import Evaluation
import Foundation

/// studies.csv and frames.csv of a multi-class evaluation: the conventions of `EvaluationTables`
/// (RFC 4180 fields, `\n` lines, a fixed column order, probabilities in shortest round-trip form)
/// with **one probability column per class**, `probability_<class name>`, in the declared class order.
public enum MulticlassEvaluationTables {
    /// The probability column of each class.
    public static func probabilityColumns(_ classes: [String]) -> [String] { classes.map { "probability_" + $0 } }

    public static func studyColumns(_ classes: [String]) -> [String] {
        ["study_key", "patient_key", "label"] + probabilityColumns(classes) + ["prediction", "correct", "frames_used"]
            + EvaluationTables.attributeColumns
    }

    public static func frameColumns(_ classes: [String]) -> [String] {
        ["study_key", "patient_key", "instance_key", "frame_index", "label"] + probabilityColumns(classes) + ["prediction"]
            + EvaluationTables.attributeColumns
    }

    /// One row per study, sorted by study key: the aggregated vector and the decision (argmax,
    /// ties to the lowest class index, unless per-class thresholds are given).
    public static func studiesCSV(_ studies: [MulticlassStudy], classes: [String], decision: MulticlassDecisionRule = .argmax) -> String {
        var lines = [studyColumns(classes).map(EvaluationTables.field).joined(separator: ",")]
        for s in studies.sorted(by: { $0.studyKey < $1.studyKey }) {
            let predicted = decision.decide(s.probabilities)
            let cells = [s.studyKey, s.patientKey, classes[s.trueClass]] + s.probabilities.map { "\($0)" }
                + [classes[predicted], predicted == s.trueClass ? "true" : "false", String(s.framesUsed)]
                + EvaluationTables.attributeColumns.map { s.attributes[$0] ?? "" }
            lines.append(cells.map(EvaluationTables.field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One row per frame, sorted by study key, instance key and frame index. The frame's file path
    /// is not written (folder names can carry patient names); the instance key identifies it.
    public static func framesCSV(_ frames: [MulticlassFrame], classes: [String], decision: MulticlassDecisionRule = .argmax) -> String {
        var lines = [frameColumns(classes).map(EvaluationTables.field).joined(separator: ",")]
        let ordered = frames.sorted {
            ($0.studyKey, $0.frame.instanceKey, $0.frame.frameIndex) < ($1.studyKey, $1.frame.instanceKey, $1.frame.frameIndex)
        }
        for f in ordered {
            let cells = [f.studyKey, f.patientKey, f.frame.instanceKey, String(f.frame.frameIndex), classes[f.trueClass]]
                + f.probabilities.map { "\($0)" } + [classes[decision.decide(f.probabilities)]] + EvaluationTables.attributeColumns.map { f.attributes[$0] ?? "" }
            lines.append(cells.map(EvaluationTables.field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
