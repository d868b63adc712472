import Evaluation
import Foundation

/// Training curves: losses, validation AUC and learning rate (log scale) against the epoch, each
/// in its own panel, drawing only the panels whose columns exist.
public enum TrainingCurvesPlot {
    public static func svg(_ history: TrainingHistory, title: String = "Training curves") -> String {
        struct Panel { var title: String; var yLabel: String; var series: [(String, String, String?)]; var log: Bool }
        let candidates = [
            Panel(title: "Loss", yLabel: "Binary cross-entropy", series: [("loss", PlotColor.blue, nil), ("val_loss", PlotColor.orange, "6 3")], log: false),
            Panel(title: "Validation AUC", yLabel: "AUC", series: [("auc", PlotColor.blue, nil), ("val_auc", PlotColor.green, "6 3")], log: false),
            Panel(title: "Learning rate", yLabel: "Learning rate (log scale)", series: [("lr", PlotColor.purple, nil)], log: true),
        ]
        let panels = candidates.compactMap { panel -> Panel? in
            var p = panel
            p.series = panel.series.filter { !history.series($0.0).isEmpty && (!panel.log || history.series($0.0).allSatisfy { $0.1 > 0 }) }
            return p.series.isEmpty ? nil : p
        }
        let panelWidth = 300.0, pitch = 400.0
        var doc = SVGDocument(width: max(pitch, pitch * Double(panels.count)), height: 420)
        doc.text(title, x: doc.width / 2, y: 22, size: 16, anchor: .middle, weight: "bold", cssClass: "title")
        if panels.isEmpty {
            doc.text("No loss, AUC or learning-rate column in the history.", x: doc.width / 2, y: 200, size: 13, anchor: .middle)
        }
        let epochs = history.rows.compactMap { $0["epoch"] }
        for (k, panel) in panels.enumerated() {
            let values = panel.series.flatMap { history.series($0.0).map(\.1) }
            let y: PlotAxis = panel.log ? .log10(panel.yLabel, values.min()!, values.max()!)
                : panel.title == "Validation AUC" ? .linear(panel.yLabel, min(0.5, values.min()!), 1, tickCount: 6)
                : .linear(panel.yLabel, 0, values.max()! * 1.05, tickCount: 6)
            let x = PlotAxis.linear("Epoch", epochs.min() ?? 0, max(epochs.max() ?? 1, (epochs.min() ?? 0) + 1), tickCount: 6)
            let chart = Chart(x: x, y: y, title: panel.title, left: 75 + pitch * Double(k), top: 70, width: panelWidth, height: 280)
            chart.drawAxes(into: &doc)
            var legend: [LegendEntry] = []
            for (column, color, dash) in panel.series {
                let points = history.series(column).map { chart.point($0.0, $0.1) }
                doc.polyline(points, stroke: color, width: 2, dash: dash, cssClass: "series-\(column)")
                for (px, py) in points { doc.circle(px, py, r: 2.5, fill: color, cssClass: "series-\(column)-point") }
                legend.append(LegendEntry(column, color: color, mark: .line(dash: dash)))
            }
            chart.drawLegend(legend, corner: panel.title == "Loss" ? .topRight : .bottomRight, into: &doc)
        }
        return doc.render(title: title, description: "Per-epoch training history: \(history.columns.joined(separator: ", ")).")
    }
}
