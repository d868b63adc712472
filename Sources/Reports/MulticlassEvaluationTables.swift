import Evaluation
import Foundation
import SonoKitCore

/// studies.csv and frames.csv of a multi-class evaluation, laid out as a multi-class
/// `predictions.csv` is next to a binary one: the binary files' columns (`EvaluationTables`) in
/// their order and with their conventions (RFC 4180 fields, `\n` lines, probabilities in shortest
/// round-trip form), then `task` (`multiclass` in every row; the binary files have no `task`
/// column, as a binary predictions.csv), then one `probability_<class>` column per class in the
/// declared order (`ClassProbabilityColumns`, the names predictions.csv uses). A script that reads
/// the binary columns by name reads these files too.
///
/// In the binary columns `label` is the true class, `prediction` the decided class (argmax, ties
/// to the lowest class index, or per-class thresholds) and `probability` the probability of the
/// decided class (`probability_<prediction>`), as `probability` is the reported label's in
/// predictions.csv. frames.csv, which in a binary evaluation has no decision, gets the frame's
/// decided class as `prediction` after `task` (where predictions.csv has `predicted_class`).
public enum MulticlassEvaluationTables {
    public static let taskColumn = "task"

    public static func studyColumns(_ classes: [String]) -> [String] {
        EvaluationTables.studyColumns + [taskColumn] + ClassProbabilityColumns.names(classes: classes)
    }

    public static func frameColumns(_ classes: [String]) -> [String] {
        EvaluationTables.frameColumns + [taskColumn, "prediction"] + ClassProbabilityColumns.names(classes: classes)
    }

    /// One row per study, sorted by study key: the aggregated vector and the decision by `decision`.
    public static func studiesCSV(_ studies: [MulticlassStudy], classes: [String], decision: MulticlassDecisionRule = .argmax) -> String {
        var lines = [studyColumns(classes).map(EvaluationTables.field).joined(separator: ",")]
        for s in studies.sorted(by: { $0.studyKey < $1.studyKey }) {
            let predicted = decision.decide(s.probabilities)
            let cells = [s.studyKey, s.patientKey, classes[s.trueClass], EvaluationTables.number(s.probabilities[predicted]),
                         classes[predicted], predicted == s.trueClass ? "true" : "false", String(s.framesUsed)]
                + EvaluationTables.attributeColumns.map { s.attributes[$0] ?? "" }
                + [ClassificationTask.multiclass.rawValue] + s.probabilities.map(EvaluationTables.number)
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
            let predicted = decision.decide(f.probabilities)
            let cells = [f.studyKey, f.patientKey, f.frame.instanceKey, String(f.frame.frameIndex), classes[f.trueClass],
                         EvaluationTables.number(f.probabilities[predicted])]
                + EvaluationTables.attributeColumns.map { f.attributes[$0] ?? "" }
                + [ClassificationTask.multiclass.rawValue, classes[predicted]] + f.probabilities.map(EvaluationTables.number)
            lines.append(cells.map(EvaluationTables.field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
