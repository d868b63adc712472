import Evaluation
import Foundation

/// The short plain-text summary `sonokit evaluate` prints on the terminal: per level, the counts,
/// each metric with its 95% interval, and where the threshold came from.
public enum EvaluationSummary {
    public static func text(_ report: EvaluationReport) -> String {
        var lines = ["Evaluation of run \(report.run.runId) on the \(report.evaluatedSplit) split "
            + "(positive class: \(report.classes.positive); study aggregation: \(report.settings.aggregation))"]
        lines += levelLines(report.study, title: "Study level (primary)")
        if let frame = report.frame { lines += levelLines(frame, title: "Frame level (secondary)") }
        if !report.subgroups.isEmpty {
            lines.append("Subgroups (study level; metrics need \(report.settings.subgroupMinimumPerClass) of each class):")
            for g in report.subgroups {
                let counts = "\(g.counts.samples) studies (\(g.counts.positives)+/\(g.counts.negatives)-)"
                if let m = g.metrics {
                    lines.append(row("  \(g.attribute)=\(g.value)", "AUC \(fixed(m.auc, 3)) \(interval(m.aucInterval)), \(counts)"))
                } else {
                    lines.append(row("  \(g.attribute)=\(g.value)", "\(counts): too small for metrics"))
                }
            }
        }
        for warning in report.warnings { lines.append("WARNING: \(warning)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The lines of one level: counts, AUC with both intervals, the threshold metrics, calibration.
    public static func levelLines(_ r: LevelResult, title: String) -> [String] {
        let noun = r.level == .study ? "studies" : "frames"
        var lines = ["\(title): \(r.counts.samples) \(noun) (\(r.counts.positives) positive, \(r.counts.negatives) negative) "
            + "from \(r.counts.patients) patients"]
        var auc = fixed(r.auc.estimate, 3)
        if let d = r.auc.delong { auc += "  DeLong \(interval(d.interval))" }
        if let b = r.auc.bootstrap { auc += "  bootstrap \(interval(b.interval)) (\(b.used) resamples of patients)" }
        lines.append(row("  AUC", auc))
        lines.append(row("  Average precision", "\(fixed(r.averagePrecision, 3))  (prevalence \(fixed(r.prevalence, 3)))"))
        let t = r.threshold.choice
        var provenance = "\(t.rule)"
        if let f = t.fittedOn { provenance += ", fitted on \(f.split) at \(f.level.rawValue) level" } else { provenance += ", not fitted" }
        if r.threshold.evaluatedOnFittingSplit { provenance += " — EVALUATED ON ITS FITTING SPLIT" }
        lines.append(row("  Threshold", "\(fixed(t.value, 4))  (\(provenance))"))
        let m = r.atThreshold
        for (name, p) in [("Sensitivity", m.sensitivity), ("Specificity", m.specificity), ("PPV", m.positivePredictiveValue),
                          ("NPV", m.negativePredictiveValue), ("Accuracy", m.accuracy)] as [(String, Proportion?)] {
            if let p { lines.append(row("  \(name)", "\(fixed(p.value, 3))  \(interval(p.interval))  (\(p.numerator)/\(p.denominator))")) }
            else { lines.append(row("  \(name)", "undefined (zero denominator)")) }
        }
        lines.append(row("  Balanced accuracy", fixed(m.balancedAccuracy, 3)))
        lines.append(row("  F1", fixed(m.f1, 3)))
        lines.append(row("  MCC", m.matthewsCorrelation.map { fixed($0, 3) } ?? "undefined (constant decision)"))
        let c = m.confusion
        lines.append(row("  Confusion", "TP \(c.truePositives)  FP \(c.falsePositives)  TN \(c.trueNegatives)  FN \(c.falseNegatives)"))
        lines.append(row("  Calibration", "Brier \(fixed(r.calibration.brierScore, 3))  ECE \(fixed(r.calibration.expectedCalibrationError, 3)) "
            + "(\(r.calibration.binCount) bins)  log loss \(fixed(r.calibration.logLoss, 3))"))
        for note in r.notes { lines.append("  Note: \(note)") }
        return lines
    }

    private static func row(_ name: String, _ value: String) -> String {
        // Pad to a column; a longer name (a subgroup value) is never truncated.
        (name.count < 22 ? name.padding(toLength: 22, withPad: " ", startingAt: 0) : name + "  ") + value
    }

    private static func interval(_ ci: ConfidenceInterval) -> String {
        "[\(fixed(ci.lower, 3)), \(fixed(ci.upper, 3))]"
    }
}
