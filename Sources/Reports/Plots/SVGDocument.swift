import Foundation

/// A minimal SVG 1.1 writer: elements appended in drawing order, text and attributes escaped.
///
/// Plots are plain SVG strings so that a report is readable in any browser without the tool, and so
/// that tests can parse them as XML.
public struct SVGDocument: Sendable {
    public let width: Double
    public let height: Double
    private var body: [String] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// The complete document, with an XML declaration, title and description for accessibility.
    public func render(title: String, description: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(f(width))" height="\(f(height))" \
        viewBox="0 0 \(f(width)) \(f(height))" role="img" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        <title>\(escape(title))</title>
        <desc>\(escape(description))</desc>
        <rect x="0" y="0" width="\(f(width))" height="\(f(height))" fill="#ffffff"/>
        \(body.joined(separator: "\n"))
        </svg>

        """
    }

    public mutating func raw(_ element: String) { body.append(element) }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1,
                              dash: String? = nil, cssClass: String? = nil) {
        body.append("<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\""
            + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + classAttribute(cssClass) + "/>")
    }

    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil, cssClass: String? = nil) {
        guard !points.isEmpty else { return }
        body.append("<polyline points=\"\(pointList(points))\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\""
            + " stroke-linejoin=\"round\"" + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + classAttribute(cssClass) + "/>")
    }

    public mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double, cssClass: String? = nil) {
        guard !points.isEmpty else { return }
        body.append("<polygon points=\"\(pointList(points))\" fill=\"\(fill)\" fill-opacity=\"\(f(opacity))\" stroke=\"none\""
            + classAttribute(cssClass) + "/>")
    }

    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil,
                              opacity: Double = 1, cssClass: String? = nil) {
        body.append("<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(max(0, w)))\" height=\"\(f(max(0, h)))\" fill=\"\(fill)\""
            + (opacity < 1 ? " fill-opacity=\"\(f(opacity))\"" : "") + (stroke.map { " stroke=\"\($0)\"" } ?? "") + classAttribute(cssClass) + "/>")
    }

    public mutating func circle(_ cx: Double, _ cy: Double, r: Double, fill: String, stroke: String? = nil, cssClass: String? = nil) {
        body.append("<circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"\(f(r))\" fill=\"\(fill)\"" + (stroke.map { " stroke=\"\($0)\"" } ?? "")
            + classAttribute(cssClass) + "/>")
    }

    public enum Anchor: String, Sendable { case start, middle, end }

    public mutating func text(_ content: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                              weight: String? = nil, fill: String = "#222222", rotate: Double? = nil, cssClass: String? = nil) {
        let transform = rotate.map { " transform=\"rotate(\(f($0)) \(f(x)) \(f(y)))\"" } ?? ""
        body.append("<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(fill)\""
            + (weight.map { " font-weight=\"\($0)\"" } ?? "") + transform + classAttribute(cssClass) + ">\(escape(content))</text>")
    }

    private func classAttribute(_ c: String?) -> String { c.map { " class=\"\(escape($0))\"" } ?? "" }

    private func pointList(_ points: [(Double, Double)]) -> String {
        points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
    }
}

/// Coordinates with two decimals: sub-pixel precision without kilobytes of digits.
func f(_ v: Double) -> String {
    let r = (v * 100).rounded() / 100
    if r == r.rounded() { return String(Int(r)) }
    return String(format: "%.2f", r)
}

/// Escaping of text content and attribute values for XML, SVG and HTML alike: the five
/// metacharacters become entities (`'` as `&#39;`, which HTML 4, HTML 5 and XML all accept).
public enum MarkupEscaping {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// Shorthand used by the plot builders.
func escape(_ s: String) -> String { MarkupEscaping.escape(s) }
