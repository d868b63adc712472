import Evaluation
import Foundation

/// A small HTML5 writer for the reports: a page is a title, a style sheet and body fragments
/// appended in order. Every piece of text and every attribute value goes through `HTML.escape`,
/// so a study key or a site name can never inject markup.
///
/// The pages it writes need no script and no network: styles are inline, plots are SVG `data:`
/// images, pictures are PNG files next to the page. They open in any browser, from a USB stick.
public struct HTMLDocument: Sendable {
    public var title: String
    public var styleSheet: String
    private var body: [String] = []

    public init(title: String, styleSheet: String = HTMLDocument.defaultStyleSheet) {
        self.title = title
        self.styleSheet = styleSheet
    }

    /// Appends a fragment that is already HTML (built with the helpers below).
    public mutating func append(_ fragment: String) { body.append(fragment) }

    /// The complete page.
    public func render() -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <style>
        \(styleSheet)
        </style>
        </head>
        <body>
        \(body.joined(separator: "\n"))
        </body>
        </html>

        """
    }

    /// Plain, printable styling; tables with numbers right-aligned.
    public static let defaultStyleSheet = """
    body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; line-height: 1.4; }
    h1 { font-size: 1.6em; margin-bottom: 0.2em; }
    h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.8em; }
    h3 { font-size: 1.05em; margin-bottom: 0.3em; }
    table { border-collapse: collapse; margin: 0.5em 0 1em 0; }
    th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    th { background: #f2f2f2; }
    .warning { background: #fff3cd; border: 1px solid #e0b100; padding: 8px 12px; margin: 0.6em 0; }
    .disclaimer { background: #f8d7da; border: 1px solid #c0392b; padding: 8px 12px; font-weight: bold; }
    .note { color: #555; font-size: 0.92em; }
    .plots { display: flex; flex-wrap: wrap; gap: 16px; }
    figure { margin: 0; }
    figure img.plot { max-width: 100%; height: auto; border: 1px solid #eee; }
    figcaption { font-size: 0.9em; color: #444; max-width: 500px; }
    .thumbs { display: flex; flex-wrap: wrap; gap: 8px; }
    .thumbs figure { width: 160px; }
    .thumbs img { width: 160px; height: 160px; image-rendering: auto; border: 1px solid #999; }
    code { background: #f4f4f4; padding: 0 3px; }
    """
}

/// Escaping and element helpers for `HTMLDocument`.
public enum HTML {
    /// Escapes `& < > " '` for text content and attribute values.
    public static func escape(_ s: String) -> String { MarkupEscaping.escape(s) }

    /// `<tag attr="value"...>inner</tag>`; `inner` is HTML (escape text yourself or use `text`).
    public static func element(_ tag: String, _ attributes: [(String, String)] = [], _ inner: String) -> String {
        "<\(tag)\(attributeList(attributes))>\(inner)</\(tag)>"
    }

    /// An element whose content is escaped text.
    public static func text(_ tag: String, _ content: String, _ attributes: [(String, String)] = []) -> String {
        element(tag, attributes, escape(content))
    }

    /// `<img>` with escaped source and alternative text (the text a reader gets when the picture fails).
    public static func image(source: String, alternative: String, cssClass: String? = nil, width: Int? = nil, height: Int? = nil) -> String {
        var attributes = [("src", source), ("alt", alternative)]
        if let cssClass { attributes.append(("class", cssClass)) }
        if let width { attributes.append(("width", String(width))) }
        if let height { attributes.append(("height", String(height))) }
        return "<img\(attributeList(attributes))>"
    }

    /// An SVG document as an `<img>` source: `data:image/svg+xml;base64,...`. The plot is then an
    /// image like any other (it either loads or shows its alternative text), and the page stays one file.
    public static func svgDataURI(_ svg: String) -> String {
        "data:image/svg+xml;base64," + Data(svg.utf8).base64EncodedString()
    }

    /// A table cell: numbers right-aligned.
    public enum Cell {
        case text(String)
        case number(String)
        case html(String)
    }

    /// A table with a header row; every cell escaped unless given as `.html`.
    public static func table(header: [String], rows: [[Cell]], cssClass: String? = nil) -> String {
        var out = "<table\(attributeList(cssClass.map { [("class", $0)] } ?? []))>\n<thead><tr>"
        out += header.map { "<th>\(escape($0))</th>" }.joined()
        out += "</tr></thead>\n<tbody>\n"
        for row in rows {
            out += "<tr>" + row.map { cell -> String in
                switch cell {
                case .text(let s): return "<td>\(escape(s))</td>"
                case .number(let s): return "<td class=\"num\">\(escape(s))</td>"
                case .html(let s): return "<td>\(s)</td>"
                }
            }.joined() + "</tr>\n"
        }
        return out + "</tbody>\n</table>"
    }

    /// A two-column name/value table.
    public static func definitionTable(_ pairs: [(String, String)]) -> String {
        table(header: ["Item", "Value"], rows: pairs.map { [.text($0.0), .text($0.1)] })
    }

    private static func attributeList(_ attributes: [(String, String)]) -> String {
        attributes.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }
}
