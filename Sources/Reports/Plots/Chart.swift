import Evaluation
import Foundation

/// Colours of the Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
public enum PlotColor {
    public static let blue = "#0072B2"
    public static let orange = "#E69F00"
    public static let green = "#009E73"
    public static let vermillion = "#D55E00"
    public static let purple = "#CC79A7"
    public static let sky = "#56B4E9"
    public static let grey = "#7F7F7F"
    public static let axis = "#333333"
    public static let grid = "#E5E5E5"
}

/// A numeric axis: linear or base-10 logarithmic, its domain and its ticks.
public struct PlotAxis: Sendable {
    public enum Scale: Sendable { case linear, log10 }
    public var label: String
    public var lower: Double
    public var upper: Double
    public var scale: Scale
    public var ticks: [Double]

    /// A linear axis over [lower, upper] with "nice" ticks (1, 2, 5 × 10^k steps; Heckbert 1990).
    public static func linear(_ label: String, _ lower: Double, _ upper: Double, tickCount: Int = 6) -> PlotAxis {
        var lo = lower, hi = upper
        if hi <= lo { hi = lo + 1 }
        let step = niceNumber((hi - lo) / Double(max(tickCount - 1, 1)), round: true)
        lo = (lo / step).rounded(.down) * step
        hi = (hi / step).rounded(.up) * step
        let ticks = stride(from: lo, through: hi + step * 1e-9, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
        return PlotAxis(label: label, lower: lo, upper: hi, scale: .linear, ticks: ticks)
    }

    /// The unit interval with ticks every 0.2 (rates, probabilities).
    public static func unit(_ label: String) -> PlotAxis {
        PlotAxis(label: label, lower: 0, upper: 1, scale: .linear, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1])
    }

    /// A log10 axis covering [lower, upper] (> 0), ticks at the powers of ten.
    public static func log10(_ label: String, _ lower: Double, _ upper: Double) -> PlotAxis {
        let lo = Foundation.pow(10, Foundation.floor(Foundation.log10(lower)))
        var hi = Foundation.pow(10, Foundation.ceil(Foundation.log10(upper)))
        if hi <= lo { hi = lo * 10 }
        let ticks = stride(from: Foundation.log10(lo), through: Foundation.log10(hi) + 1e-9, by: 1).map { Foundation.pow(10, $0.rounded()) }
        return PlotAxis(label: label, lower: lo, upper: hi, scale: .log10, ticks: ticks)
    }

    /// Position of `v` in [0, 1] along the axis.
    func fraction(_ v: Double) -> Double {
        switch scale {
        case .linear: return (v - lower) / (upper - lower)
        case .log10: return (Foundation.log10(v) - Foundation.log10(lower)) / (Foundation.log10(upper) - Foundation.log10(lower))
        }
    }

    /// A tick label with as many decimals as the tick spacing needs.
    func label(for v: Double) -> String {
        if scale == .log10 { return v >= 1 ? String(Int(v)) : "1e\(Int(Foundation.log10(v).rounded()))" }
        let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : 1
        let decimals = max(0, Int(-Foundation.floor(Foundation.log10(step) + 1e-9)))
        return String(format: "%.\(decimals)f", v)
    }

    static func niceNumber(_ x: Double, round: Bool) -> Double {
        let exponent = Foundation.floor(Foundation.log10(x))
        let fraction = x / Foundation.pow(10, exponent)
        let nice: Double
        if round { nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10 }
        else { nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10 }
        return nice * Foundation.pow(10, exponent)
    }
}

/// One entry of a legend.
public struct LegendEntry: Sendable {
    public enum Mark: Sendable { case line(dash: String?), band, marker }
    public var label: String
    public var color: String
    public var mark: Mark

    public init(_ label: String, color: String, mark: Mark = .line(dash: nil)) {
        self.label = label
        self.color = color
        self.mark = mark
    }
}

/// A rectangular plotting area with two axes, drawn into an `SVGDocument`: frame, grid, ticks,
/// tick labels, axis labels, title and legend. Data coordinates map to pixels with `point(_:_:)`.
public struct Chart: Sendable {
    public var x: PlotAxis
    public var y: PlotAxis
    public var title: String
    /// The plotting area in document pixels.
    public var left: Double, top: Double, width: Double, height: Double

    public init(x: PlotAxis, y: PlotAxis, title: String, left: Double = 70, top: Double = 40, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.title = title
        self.left = left
        self.top = top
        self.width = width
        self.height = height
    }

    /// Pixel position of the data point (vx, vy), clamped to the plotting area.
    public func point(_ vx: Double, _ vy: Double) -> (Double, Double) {
        let fx = min(max(x.fraction(vx), 0), 1), fy = min(max(y.fraction(vy), 0), 1)
        return (left + fx * width, top + (1 - fy) * height)
    }

    /// Grid, frame, ticks and labels (drawn first, under the data).
    public func drawAxes(into doc: inout SVGDocument) {
        doc.text(title, x: left + width / 2, y: top - 14, size: 15, anchor: .middle, weight: "bold", cssClass: "title")
        for t in x.ticks {
            let (px, _) = point(t, y.lower)
            doc.line(px, top, px, top + height, stroke: PlotColor.grid, cssClass: "grid")
            doc.line(px, top + height, px, top + height + 5, stroke: PlotColor.axis, cssClass: "tick")
            doc.text(x.label(for: t), x: px, y: top + height + 19, size: 11, anchor: .middle, cssClass: "tick-label")
        }
        for t in y.ticks {
            let (_, py) = point(x.lower, t)
            doc.line(left, py, left + width, py, stroke: PlotColor.grid, cssClass: "grid")
            doc.line(left - 5, py, left, py, stroke: PlotColor.axis, cssClass: "tick")
            doc.text(y.label(for: t), x: left - 8, y: py + 4, size: 11, anchor: .end, cssClass: "tick-label")
        }
        doc.rect(left, top, width, height, fill: "none", stroke: PlotColor.axis, cssClass: "frame")
        doc.text(x.label, x: left + width / 2, y: top + height + 40, size: 13, anchor: .middle, cssClass: "axis-label")
        doc.text(y.label, x: left - 48, y: top + height / 2, size: 13, anchor: .middle, rotate: -90, cssClass: "axis-label")
    }

    public enum Corner: Sendable { case topLeft, topRight, bottomLeft, bottomRight }

    /// A legend box in a corner of the plotting area.
    public func drawLegend(_ entries: [LegendEntry], corner: Corner, into doc: inout SVGDocument) {
        guard !entries.isEmpty else { return }
        let rowHeight = 18.0
        let boxWidth = 34 + 6.6 * Double(entries.map(\.label.count).max()!)
        let boxHeight = rowHeight * Double(entries.count) + 8
        let bx = corner == .topLeft || corner == .bottomLeft ? left + 10 : left + width - boxWidth - 10
        let by = corner == .topLeft || corner == .topRight ? top + 10 : top + height - boxHeight - 10
        doc.raw("<g class=\"legend\">")
        doc.rect(bx, by, boxWidth, boxHeight, fill: "#ffffff", stroke: "#bbbbbb", opacity: 0.92)
        for (i, e) in entries.enumerated() {
            let cy = by + 4 + rowHeight * (Double(i) + 0.5)
            switch e.mark {
            case .line(let dash): doc.line(bx + 6, cy, bx + 26, cy, stroke: e.color, width: 2.5, dash: dash)
            case .band: doc.rect(bx + 6, cy - 5, 20, 10, fill: e.color, opacity: 0.25)
            case .marker: doc.circle(bx + 16, cy, r: 4, fill: e.color)
            }
            doc.text(e.label, x: bx + 32, y: cy + 4, size: 11)
        }
        doc.raw("</g>")
    }
}
