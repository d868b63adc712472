import Evaluation
import Foundation

/// The plain-text summary `sonokit evaluate` prints for a multi-class run: per level, the counts,
/// the averaged AUCs and the decision metrics with their 95% intervals, the confusion matrix,
/// one line per class, and the notes.
public enum MulticlassEvaluationSummary {
    public static func text(_ report: MulticlassEvaluationReport) -> String {
        var lines = ["Evaluation of run \(report.run.runId) on the \(report.evaluatedSplit) split (multi-class, \(report.classes.count) "
            + "\(report.ordinal ? "ordered " : "")classes: \(report.classes.joined(separator: report.ordinal ? " < " : ", ")); "
            + "study aggregation: \(report.settings.aggregation))"]
        lines += levelLines(report.study, classes: report.classes, title: "Study level (primary)")
        if let frame = report.frame { lines += levelLines(frame, classes: report.classes, title: "Frame level (secondary)") }
        for warning in report.warnings { lines.append("WARNING: \(warning)") }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func levelLines(_ r: MulticlassLevelResult, classes: [String], title: String) -> [String] {
        let noun = r.level == .study ? "studies" : "frames"
        var lines = ["\(title): \(r.counts.samples) \(noun) (" + zip(classes, r.counts.perClass).map { "\($1) \($0)" }.joined(separator: ", ")
            + ") from \(r.counts.patients) patients"]
        lines.append(row("  Decision", "\(r.decision)"))
        for (name, auc) in [("  Macro AUC", r.macroAUC), ("  Weighted AUC", r.weightedAUC)] {
            lines.append(row(name, fixed(auc.estimate, 3) + (auc.bootstrap.map { "  bootstrap \(interval($0.interval)) (\($0.used) resamples of patients)" } ?? "")))
        }
        lines.append(row("  Accuracy", "\(fixed(r.accuracy.value, 3))  \(interval(r.accuracy.interval))  (\(r.accuracy.numerator)/\(r.accuracy.denominator))"))
        lines.append(row("  Balanced accuracy", fixed(r.balancedAccuracy, 3)))
        lines.append(row("  Macro F1", fixed(r.macroF1, 3)))
        lines.append(row(r.kappa.weighting == .quadratic ? "  Kappa (quadratic)" : "  Kappa", r.kappa.value.map { fixed($0, 3) } ?? "undefined"))
        if let t = r.topTwoAccuracy { lines.append(row("  Top-2 accuracy", "\(fixed(t.value, 3))  \(interval(t.interval))")) }
        lines.append(row("  Calibration", "Brier \(fixed(r.brierScore, 3)) (sum over classes)  log loss \(fixed(r.logLoss, 3))"))
        let width = max(6, classes.map(\.count).max() ?? 6)
        func cell(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        lines.append("  Confusion (rows actual, columns predicted):")
        lines.append("    " + cell("") + " " + classes.map(cell).joined(separator: " "))
        for (i, counts) in r.confusionMatrix.counts.enumerated() {
            lines.append("    " + cell(classes[i]) + " " + counts.map { cell(String($0)) }.joined(separator: " "))
        }
        for c in r.perClass {
            var text = "AUC \(fixed(c.auc.estimate, 3))" + (c.auc.delong.map { " \(interval($0.interval))" } ?? "")
            text += "  sens \(fixed(c.sensitivity.value, 3)) \(interval(c.sensitivity.interval))"
            text += "  spec \(fixed(c.specificity.value, 3)) \(interval(c.specificity.interval))"
            text += c.positivePredictiveValue.map { "  PPV \(fixed($0.value, 3)) \(interval($0.interval))" } ?? "  PPV undefined"
            lines.append(row("  \(c.name)", text))
        }
        for note in r.notes { lines.append("  Note: \(note)") }
        return lines
    }

    private static func row(_ name: String, _ value: String) -> String {
        (name.count < 22 ? name.padding(toLength: 22, withPad: " ", startingAt: 0) : name + "  ") + value
    }

    private static func interval(_ ci: ConfidenceInterval) -> String { "[\(fixed(ci.lower, 3)), \(fixed(ci.upper, 3))]" }
}
