import Foundation

/// The per-epoch history a training run writes (history.csv, like Keras' CSVLogger): a header
/// row naming the columns (`epoch` required; typically loss, val_loss, val_auc, lr), then one row
/// per epoch. Empty cells are missing values (a metric not computed that epoch).
public struct TrainingHistory: Equatable, Sendable {
    public var columns: [String]
    /// rows[i][column] for the i-th epoch row; nil when the cell was empty.
    public var rows: [[String: Double]]

    public init(columns: [String], rows: [[String: Double]]) {
        self.columns = columns
        self.rows = rows
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case missingEpochColumn(file: String)
        case badCell(file: String, line: Int, column: String, value: String)
        case wrongCellCount(file: String, line: Int, expected: Int, found: Int)
        case empty(file: String)

        public var description: String {
            switch self {
            case .missingEpochColumn(let file): return "\(file): the header has no 'epoch' column."
            case .badCell(let file, let line, let column, let value):
                return "\(file) line \(line), column \(column): '\(value)' is not a number."
            case .wrongCellCount(let file, let line, let expected, let found):
                return "\(file) line \(line): \(found) cells, the header has \(expected)."
            case .empty(let file): return "\(file): no header row."
            }
        }
    }

    /// Parses comma-separated history text; `file` names it in errors. Lines starting with '#' are comments.
    public init(csv text: String, file: String = "history.csv") throws {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).enumerated()
            .filter { !$0.element.trimmingCharacters(in: .whitespaces).isEmpty && !$0.element.hasPrefix("#") }
        guard let header = lines.first else { throw ParseError.empty(file: file) }
        let columns = header.element.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard columns.contains("epoch") else { throw ParseError.missingEpochColumn(file: file) }
        var rows: [[String: Double]] = []
        for (offset, line) in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == columns.count else {
                throw ParseError.wrongCellCount(file: file, line: offset + 1, expected: columns.count, found: cells.count)
            }
            var row: [String: Double] = [:]
            for (name, cell) in zip(columns, cells) where !cell.isEmpty {
                guard let v = Double(cell), v.isFinite else { throw ParseError.badCell(file: file, line: offset + 1, column: name, value: cell) }
                row[name] = v
            }
            guard row["epoch"] != nil else { throw ParseError.badCell(file: file, line: offset + 1, column: "epoch", value: "") }
            rows.append(row)
        }
        self.init(columns: columns, rows: rows)
    }

    /// (epoch, value) pairs of a column, skipping missing cells.
    public func series(_ column: String) -> [(Double, Double)] {
        rows.compactMap { row in row[column].map { (row["epoch"]!, $0) } }
    }
}

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
