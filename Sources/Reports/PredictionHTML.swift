import Foundation
import Imaging

/// The pictures of one frame on a study page.
public struct PredictionFramePictures: Sendable {
    public var instanceKey: String
    public var frameIndex: Int
    /// The frame's probability of the positive class (binary) or of the study's predicted class
    /// (multi-class).
    public var probability: Double
    /// The decoded frame with the crop box drawn.
    public var source: RGBImage
    /// The network input (size x size) as the network saw it.
    public var input: RGBImage
    /// Grad-CAM over the input, values in 0...1 (nil: not computed): of the positive class for a
    /// binary model, of the study's predicted class for a multi-class one.
    public var heatmap: [Float]?

    public init(instanceKey: String, frameIndex: Int, probability: Double, source: RGBImage, input: RGBImage, heatmap: [Float]?) {
        self.instanceKey = instanceKey
        self.frameIndex = frameIndex
        self.probability = probability
        self.source = source
        self.input = input
        self.heatmap = heatmap
    }

    var stem: String { "\(instanceKey)-f\(String(format: "%04d", frameIndex))" }
}

/// HTML pages of the prediction reports: `html/index.html` and `html/<study key>.html`, with
/// the pictures in `html/<study key>/`. Every file is written atomically; pages reference
/// pictures by relative paths, so the folder can be moved or served as is. Pages name studies,
/// series and instances only by their keys.
public enum PredictionHTML {
    public static let folderName = "html"

    /// Writes one study's page and pictures under `outputFolder/html/`; returns the page's path.
    @discardableResult
    public static func writeStudyPage(_ report: PredictionReport, pictures: [PredictionFramePictures], outputFolder: String) throws -> String {
        let html = (outputFolder as NSString).appendingPathComponent(folderName)
        let pictureFolder = (html as NSString).appendingPathComponent(report.studyKey)
        let multiclass = report.task == .multiclass
        // The class the probabilities and Grad-CAMs of the frames are of.
        let explained = multiclass ? report.label : (report.model.positiveClass ?? "")
        var figures = ""
        for p in pictures.sorted(by: { ($0.instanceKey, $0.frameIndex) < ($1.instanceKey, $1.frameIndex) }) {
            try PredictionFiles.write(PNGFile.encode(p.source), to: (pictureFolder as NSString).appendingPathComponent(p.stem + "-source.png"))
            try PredictionFiles.write(PNGFile.encode(p.input), to: (pictureFolder as NSString).appendingPathComponent(p.stem + "-input.png"))
            var heatCell = "<div class=\"missing\">no Grad-CAM</div>"
            if let heat = p.heatmap {
                try PredictionFiles.write(PNGFile.encode(PredictionHeatmap.overlay(heat, on: p.input)),
                                          to: (pictureFolder as NSString).appendingPathComponent(p.stem + "-gradcam.png"))
                heatCell = image("\(report.studyKey)/\(p.stem)-gradcam.png", alt: "Grad-CAM of \(p.stem)")
            }
            figures += """
            <figure class="frame">
              <div class="row">
                \(image("\(report.studyKey)/\(p.stem)-source.png", alt: "frame \(p.stem) with crop box"))
                \(image("\(report.studyKey)/\(p.stem)-input.png", alt: "network input of \(p.stem)"))
                \(heatCell)
              </div>
              <figcaption>\(HTML.escape(p.instanceKey)) frame \(p.frameIndex): p(\(HTML.escape(explained))) = \(format(p.probability))</figcaption>
            </figure>

            """
        }
        let r = report
        let fitted = r.threshold?.fittedOn.map { " fitted on \(HTML.escape($0.split)) (\($0.level), n = \($0.samples))" } ?? ""
        let warnings = r.warnings.isEmpty ? "<p>None.</p>" : "<ul>" + r.warnings.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        let failures = r.failures.isEmpty ? "" : "<h2>Not used</h2><ul>" + r.failures.map { "<li>\(HTML.escape($0.item)): \(HTML.escape($0.reason))</li>" }.joined() + "</ul>"
        let page = document(title: "SonoKit prediction \(r.studyKey)", extraStyle: multiclass ? multiclassStyle : "", body: """
        <p class="disclaimer">\(HTML.escape(r.disclaimer))</p>
        <p><a href="index.html">All studies</a></p>
        <h1>Study \(HTML.escape(r.studyKey))</h1>
        \(multiclass ? multiclassSummary(r) : binarySummary(r, fitted: fitted))
        <h2>Warnings</h2>
        \(warnings)
        \(failures)
        <h2>Frames</h2>
        <p>Left: the frame with the crop box (green: DICOM ultrasound regions, orange: found from the pixels, grey: whole frame).
        Middle: the network input. Right: Grad-CAM of the last convolution for \(HTML.escape(explained))\(multiclass ? " (the predicted class)" : ""), red = most influence.</p>
        \(figures)
        """)
        let path = (html as NSString).appendingPathComponent("\(r.studyKey).html")
        try PredictionFiles.write(page, to: path)
        return path
    }

    static func binarySummary(_ r: PredictionReport, fitted: String) -> String {
        let threshold = r.threshold.map { "\(format($0.value)) (\(HTML.escape($0.rule))\(fitted)); \(HTML.escape($0.source))" } ?? ""
        return """
        <table>
          <tr><th>Label</th><td class="\(r.labelIsPositive ? "positive" : "negative")">\(HTML.escape(r.label))</td></tr>
          <tr><th>Probability of \(HTML.escape(r.model.positiveClass ?? ""))</th><td>\(format(r.probability))</td></tr>
          <tr><th>Threshold</th><td>\(threshold)</td></tr>
        \(commonRows(r))
        </table>
        """
    }

    /// The predicted class, the decision, and every class's probability as a bar list (a bar's
    /// width is the probability; the predicted class's bar is marked).
    static func multiclassSummary(_ r: PredictionReport) -> String {
        let decision: String
        if let d = r.decision, let thresholds = d.thresholds {
            decision = "per-class thresholds (" + thresholds.map { "\(HTML.escape($0.name)) \(format($0.value))" }.joined(separator: ", ")
                + "): the class exceeding its own threshold by the largest factor"
                + (d.reachedThreshold == false ? "; no class reached its threshold: the closest one" : "") + "; \(HTML.escape(d.source))"
        } else {
            decision = "highest probability (argmax)" + (r.decision.map { "; \(HTML.escape($0.source))" } ?? "")
        }
        let bars = (r.classProbabilities ?? []).map { c in
            let predicted = c.name == r.label
            return "<li class=\"\(predicted ? "predicted" : "")\"><span class=\"name\">\(HTML.escape(c.name))</span>"
                + "<span class=\"bar\"><span style=\"width: \(String(format: "%.1f", c.probability * 100))%\"></span></span>"
                + "<span class=\"value\">\(format(c.probability))</span></li>"
        }.joined(separator: "\n")
        return """
        <table>
          <tr><th>Predicted class</th><td class="predicted">\(HTML.escape(r.label))</td></tr>
          <tr><th>Probability of \(HTML.escape(r.label))</th><td>\(format(r.probability))</td></tr>
          <tr><th>Decision</th><td>\(decision)</td></tr>
        \(commonRows(r))
        </table>
        <h2>Class probabilities</h2>
        <ul class="bars">
        \(bars)
        </ul>
        """
    }

    static func commonRows(_ r: PredictionReport) -> String {
        let aggregation = r.task == .multiclass && r.aggregation.rule == "vote" ? "vote (fraction of frames whose most probable class it is)" : r.aggregation.rule
        return """
          <tr><th>Aggregation</th><td>\(HTML.escape(aggregation))\(r.aggregation.frameThreshold.map { " (frame threshold \(format($0)))" } ?? "") of \(r.aggregation.framesUsed) frames</td></tr>
          <tr><th>Model</th><td>\(HTML.escape(r.model.modelID)) (\(HTML.escape(r.model.architecture))), weights sha256 \(HTML.escape(String(r.model.weightsSHA256.prefix(16))))…</td></tr>
          <tr><th>Preprocessing</th><td>sha256 \(HTML.escape(String(r.model.preprocessingHash.prefix(16))))…</td></tr>
        """
    }

    /// Writes `html/index.html`: every reported study with its label and probability, and the
    /// studies that could not be reported with the reason.
    @discardableResult
    public static func writeIndex(reports: [PredictionReport], failed: [PredictionStudyFailure], outputFolder: String) throws -> String {
        let rows = reports.sorted { $0.studyKey < $1.studyKey }.map { r in
            "<tr><td><a href=\"\(r.studyKey).html\">\(HTML.escape(r.studyKey))</a></td><td class=\"\(r.task == .multiclass ? "predicted" : r.labelIsPositive ? "positive" : "negative")\">\(HTML.escape(r.label))</td>"
                + "<td>\(format(r.probability))</td><td>\(r.aggregation.framesUsed)</td><td>\(r.warnings.count)</td></tr>"
        }.joined(separator: "\n")
        let failedRows = failed.map { "<li>\(HTML.escape($0.studyKey)): \(HTML.escape($0.reasons.joined(separator: "; ")))</li>" }.joined()
        let model = reports.first?.model
        let page = document(title: "SonoKit predictions", extraStyle: reports.contains { $0.task == .multiclass } ? multiclassStyle : "", body: """
        <p class="disclaimer">\(HTML.escape(PredictionReport.disclaimer))</p>
        <h1>Predictions</h1>
        \(model.map { m in "<p>Model \(HTML.escape(m.modelID)) (\(HTML.escape(m.architecture))); "
            + (m.positiveClass.map { "positive class \(HTML.escape($0))" } ?? "classes \(HTML.escape(m.classes.joined(separator: ", "))); probability of the predicted class") + ".</p>" } ?? "")
        <table>
          <tr><th>Study</th><th>Label</th><th>Probability</th><th>Frames</th><th>Warnings</th></tr>
        \(rows)
        </table>
        \(failed.isEmpty ? "" : "<h2>Studies not reported</h2><ul>\(failedRows)</ul>")
        """)
        let path = ((outputFolder as NSString).appendingPathComponent(folderName) as NSString).appendingPathComponent("index.html")
        try PredictionFiles.write(page, to: path)
        return path
    }

    static func image(_ src: String, alt: String) -> String {
        "<img src=\"\(HTML.escape(src))\" alt=\"\(HTML.escape(alt))\">"
    }

    static func format(_ p: Double) -> String { String(format: "%.3f", p) }

    /// The CSS of the multi-class pages (the predicted class, the bar list), added to the common one.
    static let multiclassStyle = """

        .predicted { font-weight: bold; }
        ul.bars { list-style: none; padding: 0; } ul.bars li { display: flex; gap: 8px; align-items: center; margin: 2px 0; }
        ul.bars .name { width: 12em; } ul.bars .bar { width: 300px; height: 0.9em; background: #eee; border: 1px solid #ccc; }
        ul.bars .bar span { display: block; height: 100%; background: #59a; } ul.bars li.predicted .bar span { background: #c60; }
        """

    static func document(title: String, extraStyle: String = "", body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(HTML.escape(title))</title>
        <style>
        body { font-family: sans-serif; margin: 1.5em; max-width: 1100px; }
        .disclaimer { background: #fff3cd; border: 1px solid #e0c36c; padding: 0.5em; font-weight: bold; }
        table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
        .positive { color: #a00; font-weight: bold; } .negative { color: #060; font-weight: bold; }\(extraStyle)
        figure.frame { margin: 1em 0; } .row { display: flex; gap: 8px; align-items: flex-start; }
        .row img { max-width: 340px; height: auto; border: 1px solid #999; }
        .missing { width: 224px; height: 224px; border: 1px dashed #999; display: flex; align-items: center; justify-content: center; }
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }
}
