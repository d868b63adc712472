import Evaluation
import Foundation

/// The ROC curve with its pointwise confidence band, the chance diagonal and the operating point.
public enum ROCPlot {
    public static func svg(curve: [ROCPoint], band: [ROCBandPoint]?, auc: AUCResult, operatingPoint: ThresholdMetrics?,
                           title: String = "ROC curve") -> String {
        var doc = SVGDocument(width: 500, height: 510)
        let chart = Chart(x: .unit("False positive rate (1 - specificity)"), y: .unit("True positive rate (sensitivity)"),
                          title: title, width: 400, height: 400)
        chart.drawAxes(into: &doc)
        var legend: [LegendEntry] = []
        if let band, !band.isEmpty {
            let upper = band.map { chart.point($0.falsePositiveRate, $0.upperTruePositiveRate) }
            let lower = band.reversed().map { chart.point($0.falsePositiveRate, $0.lowerTruePositiveRate) }
            doc.polygon(upper + lower, fill: PlotColor.blue, opacity: 0.2, cssClass: "ci-band")
            legend.append(LegendEntry("95% band (bootstrap over patients)", color: PlotColor.blue, mark: .band))
        }
        doc.polyline([chart.point(0, 0), chart.point(1, 1)], stroke: PlotColor.grey, width: 1.5, dash: "6 4", cssClass: "chance")
        doc.polyline(curve.map { chart.point($0.falsePositiveRate, $0.truePositiveRate) }, stroke: PlotColor.blue, width: 2.5, cssClass: "roc-curve")
        var aucText = "ROC, AUC \(fixed(auc.estimate, 3))"
        if let ci = auc.delong?.interval ?? auc.bootstrap?.interval {
            aucText += " (95% CI \(fixed(ci.lower, 3))-\(fixed(ci.upper, 3)), \(ci.method == "bootstrap-percentile" ? "bootstrap" : "DeLong"))"
        }
        legend.insert(LegendEntry(aucText, color: PlotColor.blue), at: 0)
        legend.append(LegendEntry("Chance", color: PlotColor.grey, mark: .line(dash: "6 4")))
        if let m = operatingPoint {
            let (px, py) = chart.point(1 - m.specificity.value, m.sensitivity.value)
            doc.circle(px, py, r: 5.5, fill: PlotColor.vermillion, stroke: "#ffffff", cssClass: "operating-point")
            legend.append(LegendEntry("Threshold \(fixed(m.threshold, 3)): sens \(fixed(m.sensitivity.value, 2)), spec \(fixed(m.specificity.value, 2))",
                                      color: PlotColor.vermillion, mark: .marker))
        }
        chart.drawLegend(legend, corner: .bottomRight, into: &doc)
        return doc.render(title: title, description: "\(aucText). Receiver operating characteristic curve with the chance diagonal.")
    }
}

/// The precision-recall curve (steps, as average precision integrates it) and the prevalence line.
public enum PrecisionRecallPlot {
    public static func svg(curve: [PrecisionRecallPoint], averagePrecision: Double, prevalence: Double,
                           title: String = "Precision-recall curve") -> String {
        var doc = SVGDocument(width: 500, height: 510)
        let chart = Chart(x: .unit("Recall (sensitivity)"), y: .unit("Precision (PPV)"), title: title, width: 400, height: 400)
        chart.drawAxes(into: &doc)
        doc.polyline([chart.point(0, prevalence), chart.point(1, prevalence)], stroke: PlotColor.grey, width: 1.5, dash: "6 4", cssClass: "chance")
        // Points by increasing recall; precision is constant between a point and the next recall
        // (the step average precision sums), so draw horizontal-then-vertical steps.
        let ordered = curve.sorted { $0.recall < $1.recall || ($0.recall == $1.recall && $0.precision > $1.precision) }
        var steps: [(Double, Double)] = []
        for (i, p) in ordered.enumerated() {
            if i > 0 { steps.append(chart.point(ordered[i - 1].recall, p.precision)) }
            steps.append(chart.point(p.recall, p.precision))
        }
        doc.polyline(steps, stroke: PlotColor.orange, width: 2.5, cssClass: "pr-curve")
        chart.drawLegend([LegendEntry("PR, average precision \(fixed(averagePrecision, 3))", color: PlotColor.orange),
                          LegendEntry("Prevalence \(fixed(prevalence, 3)) (chance)", color: PlotColor.grey, mark: .line(dash: "6 4"))],
                         corner: .bottomLeft, into: &doc)
        return doc.render(title: title, description: "Average precision \(fixed(averagePrecision, 3)); prevalence \(fixed(prevalence, 3)).")
    }
}

/// The reliability diagram: observed frequency against mean predicted probability per bin, with a
/// Wilson interval per bin, the diagonal of perfect calibration, and the bin counts below.
public enum ReliabilityDiagram {
    public static func svg(_ calibration: CalibrationResult, title: String = "Reliability diagram") -> String {
        var doc = SVGDocument(width: 500, height: 640)
        let chart = Chart(x: .unit("Mean predicted probability"), y: .unit("Observed frequency of positives"),
                          title: title, width: 400, height: 400)
        chart.drawAxes(into: &doc)
        doc.polyline([chart.point(0, 0), chart.point(1, 1)], stroke: PlotColor.grey, width: 1.5, dash: "6 4", cssClass: "perfect-calibration")
        var line: [(Double, Double)] = []
        for bin in calibration.bins {
            guard let p = bin.meanConfidence, let o = bin.observedFrequency else { continue }
            let positives = Int((o * Double(bin.count)).rounded())
            if let ci = try? Wilson.interval(successes: positives, trials: bin.count) {
                let (px, lo) = chart.point(p, ci.lower), (_, hi) = chart.point(p, ci.upper)
                doc.line(px, lo, px, hi, stroke: PlotColor.green, width: 1.5, cssClass: "bin-interval")
                doc.line(px - 4, lo, px + 4, lo, stroke: PlotColor.green, width: 1.5, cssClass: "bin-interval")
                doc.line(px - 4, hi, px + 4, hi, stroke: PlotColor.green, width: 1.5, cssClass: "bin-interval")
            }
            line.append(chart.point(p, o))
        }
        doc.polyline(line, stroke: PlotColor.green, width: 2, cssClass: "reliability-curve")
        for (px, py) in line { doc.circle(px, py, r: 4, fill: PlotColor.green, stroke: "#ffffff", cssClass: "bin-point") }
        chart.drawLegend([LegendEntry("Observed (95% Wilson CI per bin)", color: PlotColor.green),
                          LegendEntry("Perfect calibration", color: PlotColor.grey, mark: .line(dash: "6 4"))],
                         corner: .topLeft, into: &doc)
        doc.text("ECE \(fixed(calibration.expectedCalibrationError, 3)) (\(calibration.binCount) bins), Brier \(fixed(calibration.brierScore, 3))",
                 x: chart.left + chart.width - 8, y: chart.top + chart.height - 10, size: 12, anchor: .end, cssClass: "summary")

        // Counts per bin, on their own axis below.
        let maxCount = max(1, calibration.bins.map(\.count).max() ?? 1)
        let counts = Chart(x: .unit("Predicted probability (bin)"), y: .linear("Samples", 0, Double(maxCount), tickCount: 3),
                           title: "", top: 510, width: 400, height: 70)
        counts.drawAxes(into: &doc)
        for bin in calibration.bins where bin.count > 0 {
            let (x0, y0) = counts.point(bin.lower, Double(bin.count)), (x1, y1) = counts.point(bin.upper, 0)
            doc.rect(x0 + 1, y0, x1 - x0 - 2, y1 - y0, fill: PlotColor.sky, cssClass: "bin-count")
        }
        return doc.render(title: title, description: "Calibration: ECE \(fixed(calibration.expectedCalibrationError, 3)) over \(calibration.binCount) equal-width bins.")
    }
}

/// The 2 × 2 confusion matrix at the threshold: counts and the share of each actual class.
public enum ConfusionMatrixPlot {
    public static func svg(_ metrics: ThresholdMetrics, classes: ClassNames, title: String = "Confusion matrix") -> String {
        var doc = SVGDocument(width: 460, height: 430)
        let c = metrics.confusion
        let cell = 130.0, left = 170.0, top = 110.0
        doc.text("\(title) at threshold \(fixed(metrics.threshold, 3))", x: 230, y: 30, size: 15, anchor: .middle, weight: "bold", cssClass: "title")
        doc.text("Predicted", x: left + cell, y: 62, size: 13, anchor: .middle, cssClass: "axis-label")
        doc.text("Actual", x: 40, y: top + cell, size: 13, anchor: .middle, rotate: -90, cssClass: "axis-label")
        let names = [classes.positive, classes.negative]
        for (j, name) in names.enumerated() {
            doc.text(name, x: left + cell * (Double(j) + 0.5), y: top - 12, size: 12, anchor: .middle, cssClass: "tick-label")
            doc.text(name, x: left - 10, y: top + cell * (Double(j) + 0.5) + 4, size: 12, anchor: .end, cssClass: "tick-label")
        }
        // Rows: actual positive, actual negative; columns: predicted positive, predicted negative.
        let cells = [[("TP", c.truePositives, c.positives), ("FN", c.falseNegatives, c.positives)],
                     [("FP", c.falsePositives, c.negatives), ("TN", c.trueNegatives, c.negatives)]]
        for (i, row) in cells.enumerated() {
            for (j, entry) in row.enumerated() {
                let share = entry.2 > 0 ? Double(entry.1) / Double(entry.2) : 0
                let correct = i == j
                let x = left + cell * Double(j), y = top + cell * Double(i)
                doc.rect(x, y, cell, cell, fill: correct ? PlotColor.blue : PlotColor.vermillion, stroke: "#ffffff",
                         opacity: 0.12 + 0.6 * share, cssClass: "cell")
                doc.text("\(entry.1)", x: x + cell / 2, y: y + cell / 2 + 2, size: 26, anchor: .middle, weight: "bold", cssClass: "count")
                doc.text("\(entry.0), \(fixed(100 * share, 1))% of actual", x: x + cell / 2, y: y + cell / 2 + 24, size: 11,
                         anchor: .middle, cssClass: "share")
            }
        }
        doc.text("Sensitivity \(fixed(metrics.sensitivity.value, 3)), specificity \(fixed(metrics.specificity.value, 3)), n = \(c.total)",
                 x: 230, y: top + 2 * cell + 32, size: 12, anchor: .middle, cssClass: "summary")
        return doc.render(title: title, description: "TP \(c.truePositives), FN \(c.falseNegatives), FP \(c.falsePositives), TN \(c.trueNegatives).")
    }
}

