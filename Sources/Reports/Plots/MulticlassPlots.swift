import Evaluation
import Foundation

/// The one-vs-rest ROC curves of every class on one chart, with the chance diagonal; each class
/// its own colour and dash pattern (so the curves stay apart in grey print and for colour-blind readers).
public enum MulticlassROCPlot {
    /// Okabe-Ito colours in a fixed order; classes beyond the palette reuse it with another dash.
    static let colors = [PlotColor.blue, PlotColor.orange, PlotColor.green, PlotColor.vermillion, PlotColor.purple, PlotColor.sky]
    static let dashes: [String?] = [nil, "8 3", "2 3", "8 3 2 3"]

    static func style(_ k: Int) -> (color: String, dash: String?) {
        (colors[k % colors.count], dashes[(k / colors.count + k) % dashes.count])
    }

    public static func svg(_ perClass: [MulticlassClassResult], title: String = "One-vs-rest ROC curves") -> String {
        var doc = SVGDocument(width: 500, height: 510)
        let chart = Chart(x: .unit("False positive rate (1 - specificity)"), y: .unit("True positive rate (sensitivity)"),
                          title: title, width: 400, height: 400)
        chart.drawAxes(into: &doc)
        doc.polyline([chart.point(0, 0), chart.point(1, 1)], stroke: PlotColor.grey, width: 1.5, dash: "6 4", cssClass: "chance")
        var legend: [LegendEntry] = []
        for c in perClass {
            let (color, dash) = style(c.index)
            doc.polyline(c.rocCurve.map { chart.point($0.falsePositiveRate, $0.truePositiveRate) }, stroke: color, width: 2.5, dash: dash,
                         cssClass: "roc-curve")
            var text = "\(c.name): AUC \(fixed(c.auc.estimate, 3))"
            if let ci = c.auc.delong?.interval { text += " (\(fixed(ci.lower, 3))-\(fixed(ci.upper, 3)))" }
            legend.append(LegendEntry(text, color: color, mark: .line(dash: dash)))
        }
        legend.append(LegendEntry("Chance", color: PlotColor.grey, mark: .line(dash: "6 4")))
        chart.drawLegend(legend, corner: .bottomRight, into: &doc)
        let description = perClass.map { "\($0.name) against the rest: AUC \(fixed($0.auc.estimate, 3))" }.joined(separator: "; ")
        return doc.render(title: title, description: description + ". One-vs-rest ROC curves with the chance diagonal.")
    }
}

/// The N × N confusion matrix as an HTML heat map: a table whose cells hold the numbers and are
/// shaded by the share of their row (the true class), so that a rare class's errors are as visible
/// as a common class's.
///
/// Colours: a sequential scale from white to Okabe-Ito blue (#0072B2) by the row share, readable
/// in grey print; the text turns white on dark cells (share above 0.5) so it keeps its contrast.
/// Each cell carries `data-row`, `data-column` and `data-count` so that a test (or a script) can
/// read the matrix back from the page.
public enum ConfusionHeatmap {
    public enum Content: String, Sendable {
        /// Counts, shaded by the row share.
        case counts
        /// Row shares in percent (the diagonal is each class's sensitivity).
        case rowNormalized = "row-normalized"
    }

    /// The cell colour for a row share s in [0, 1]: white (s = 0) to #0072B2 (s = 1), linearly in sRGB.
    public static func color(share s: Double) -> String {
        let t = min(max(s, 0), 1)
        let target = (0x00, 0x72, 0xB2)
        func channel(_ c: Int) -> Int { Int((255 + (Double(c) - 255) * t).rounded()) }
        return String(format: "#%02X%02X%02X", channel(target.0), channel(target.1), channel(target.2))
    }

    public static func html(_ matrix: MulticlassConfusionMatrix, classes: [String], content: Content) -> String {
        var out = "<table class=\"confusion-heatmap \(content.rawValue)\">\n<thead><tr><th>Actual \\ Predicted</th>"
        out += classes.map { "<th>\(HTML.escape($0))</th>" }.joined() + "<th>Total</th></tr></thead>\n<tbody>\n"
        for (i, row) in matrix.counts.enumerated() {
            let total = row.reduce(0, +)
            out += "<tr><th>\(HTML.escape(classes[i]))</th>"
            for (j, count) in row.enumerated() {
                let share = matrix.rowNormalized[i][j]
                let text = content == .counts ? String(count) : fixed(100 * share, 1) + "%"
                let ink = share > 0.5 ? "#ffffff" : "#111111"
                let title = "actual \(classes[i]), predicted \(classes[j]): \(count) of \(total) (\(fixed(100 * share, 1))%)"
                out += "<td class=\"cell\(i == j ? " diagonal" : "")\" data-row=\"\(i)\" data-column=\"\(j)\" data-count=\"\(count)\""
                    + " style=\"background-color:\(color(share: share));color:\(ink);text-align:center;min-width:4em\""
                    + " title=\"\(HTML.escape(title))\">\(HTML.escape(text))</td>"
            }
            out += "<td class=\"num\">\(total)</td></tr>\n"
        }
        return out + "</tbody>\n</table>"
    }
}
