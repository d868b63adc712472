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
