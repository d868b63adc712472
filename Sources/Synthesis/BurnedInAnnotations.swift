import Foundation

/// An 8-bit RGB colour of the burned-in annotations.
public struct RGBColour: Sendable, Hashable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B (what the 12-bit greyscale output stores for
    /// an annotation pixel).
    public var luminance: Float { 0.299 * Float(r) + 0.587 * Float(g) + 0.114 * Float(b) }

    /// The colours make_sample_studies.py uses.
    public static let white = RGBColour(236, 236, 236)
    public static let green = RGBColour(90, 222, 96)
    public static let yellow = RGBColour(244, 214, 64)
    public static let cyan = RGBColour(96, 200, 236)
    public static let grey = RGBColour(170, 170, 170)
}

/// An RGB drawing surface for the annotations (black = nothing drawn, as in
/// make_sample_studies.py, where an overlay pixel counts as drawn when any channel is non-zero).
/// Drawing outside the surface is clipped.
struct AnnotationCanvas: Sendable {
    let width: Int, height: Int
    var rgb: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        rgb = [UInt8](repeating: 0, count: width * height * 3)
    }

    func isDrawn(_ index: Int) -> Bool { rgb[3 * index] != 0 || rgb[3 * index + 1] != 0 || rgb[3 * index + 2] != 0 }

    mutating func set(_ x: Int, _ y: Int, _ c: RGBColour) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = 3 * (y * width + x)
        rgb[i] = c.r; rgb[i + 1] = c.g; rgb[i + 2] = c.b
    }

    /// Text with its top-left at (x, y) (ImageDraw.text).
    mutating func text(_ s: String, x: Int, y: Int, font: BitmapFont, colour: RGBColour) {
        let (w, mask) = font.mask(s)
        for row in 0..<font.lineHeight {
            for col in 0..<w where mask[row * w + col] { set(x + col, y + row, colour) }
        }
    }

    /// A horizontal or vertical line, both end points included (ImageDraw.line of width 1).
    mutating func line(x0: Int, y0: Int, x1: Int, y1: Int, colour: RGBColour) {
        if x0 == x1 {
            for y in min(y0, y1)...max(y0, y1) { set(x0, y, colour) }
        } else if y0 == y1 {
            for x in min(x0, x1)...max(x0, x1) { set(x, y0, colour) }
        } else {
            preconditionFailure("AnnotationCanvas draws horizontal and vertical lines only")
        }
    }

    /// A filled polygon the way Pillow fills one (ImageDraw.polygon with a fill): the vertices
    /// are truncated to whole pixels, and on every row between the lowest and the highest vertex
    /// the pixels from the left-most to the right-most crossing of the edges, each rounded to the
    /// nearest pixel, are set.
    mutating func fillPolygon(_ points: [(x: Double, y: Double)], colour: RGBColour) {
        let p = points.map { (x: Double(Int($0.x)), y: Double(Int($0.y))) }
        guard let minY = p.map(\.y).min(), let maxY = p.map(\.y).max() else { return }
        for y in Int(minY)...Int(maxY) {
            let yc = Double(y)
            var lo = Double.infinity, hi = -Double.infinity
            for k in p.indices {
                let a = p[k], b = p[(k + 1) % p.count]
                guard (a.y <= yc && yc <= b.y) || (b.y <= yc && yc <= a.y) else { continue }
                let xs = a.y == b.y ? [a.x, b.x] : [a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y)]
                for x in xs { lo = min(lo, x); hi = max(hi, x) }
            }
            guard lo <= hi else { continue }
            for x in Int(lo.rounded())...Int(hi.rounded()) { set(x, y, colour) }
        }
    }

    /// A filled ellipse in the box [x0, x1] × [y0, y1] the way Pillow fills one
    /// (ImageDraw.ellipse): the box is truncated to whole pixels (inclusive), and the pixels whose
    /// centre lies in the ellipse through the box's outer pixel edges are set.
    mutating func fillEllipse(x0: Double, y0: Double, x1: Double, y1: Double, colour: RGBColour) {
        let bx0 = Int(x0), by0 = Int(y0), bx1 = Int(x1), by1 = Int(y1)
        let cx = Double(bx0 + bx1) / 2, cy = Double(by0 + by1) / 2
        let rx = Double(bx1 - bx0 + 1) / 2, ry = Double(by1 - by0 + 1) / 2
        for y in by0...by1 {
            for x in bx0...bx1 {
                let u = (Double(x) - cx) / rx, v = (Double(y) - cy) / ry
                if u * u + v * v <= 1 { set(x, y, colour) }
            }
        }
    }
}

/// The settings shown in the burned-in text, drawn once per instance (make_sample_studies.py's
/// `ui`): gain, dynamic range, mechanical and thermal indices, focus depth (fraction of depth).
struct ScannerSettings: Sendable {
    var gain: Int, dynamicRange: Int, mechanicalIndex: Double, thermalIndex: Double, focus: Double

    static func random(_ draws: inout SyntheticDraws) -> ScannerSettings {
        let gain = draws.integer(in: 40...69)
        let dr = draws.choice([50, 55, 60, 66])
        let mi = draws.uniform(0.6, 1.4)
        let tis = draws.uniform(0.2, 1.0)
        return ScannerSettings(gain: gain, dynamicRange: dr, mechanicalIndex: mi, thermalIndex: tis,
                               focus: draws.uniform(0.35, 0.65))
    }
}

/// The burned-in annotations of make_sample_studies.py's `draw_ui`: the header lines (probe,
/// depth, gain, dynamic range, frequency; MI/TIS at the top right), the device model at the bottom
/// right, the frame counter at the bottom left, per fan a depth ruler (a tick per cm, long ticks
/// with labels every 5 cm, every 2 cm for depths ≤ 6 cm), a focus triangle and the probe's
/// orientation dot, and the grey bar (a 255 → 0 ramp at the left edge).
enum BurnedInAnnotations {
    static let font = BitmapFont.pillowDefault

    /// Python's `format(x, "g")` for the depths and frequencies shown (6 significant digits,
    /// no trailing zeros).
    static func g(_ x: Double) -> String { String(format: "%g", x) }

    /// Draws frame k's annotations, in draw_ui's order (later drawings cover earlier ones);
    /// returns the grey bar's box.
    static func draw(on canvas: inout AnnotationCanvas, fans: [FanGeometry], probe: Probe, deviceModel: String,
                     settings ui: ScannerSettings, frame k: Int, of n: Int) -> PixelBox {
        let w = canvas.width, h = canvas.height
        let depth = fans[0].depthCm
        canvas.text("SONOKIT DEMO  \(probe.name)  \(g(depth))cm", x: 4, y: 2, font: font, colour: .white)
        canvas.text("B  GN \(ui.gain)  DR \(ui.dynamicRange)  \(g(probe.frequencyMHz))MHz", x: 4, y: 14, font: font, colour: .green)
        let mi = String(format: "MI %.1f TIS %.1f", ui.mechanicalIndex, ui.thermalIndex)
        canvas.text(mi, x: w - 6 - font.width(of: mi), y: 2, font: font, colour: .yellow)
        let model = deviceModel.uppercased()
        canvas.text(model, x: w - 6 - font.width(of: model), y: h - 13, font: font, colour: .grey)
        canvas.text(counter(frame: k, of: n), x: 4, y: h - 13, font: font, colour: .white)
        for fan in fans {
            // Depth ruler: a tick per cm, long ticks with labels every 5 cm (2 cm for shallow depths).
            let x = Int(fan.fanRightX.rounded(.toNearestOrEven)) + 5
            let major = fan.depthCm > 6 ? 5 : 2
            let yTop = fan.depthToY(0), yBottom = fan.depthToY(fan.depthCm)
            canvas.line(x0: x, y0: Int(yTop), x1: x, y1: Int(yBottom), colour: .grey)
            for d in 0...Int(fan.depthCm) {
                let y = Int(fan.depthToY(Double(d)).rounded(.toNearestOrEven))
                let long = d % major == 0
                canvas.line(x0: x, y0: y, x1: x + (long ? 6 : 3), y1: y, colour: .white)
                if long && d > 0 { canvas.text(String(d), x: x + 8, y: y - 5, font: font, colour: .white) }
            }
            // Focus marker: a yellow triangle left of the ruler.
            let yf = fan.depthToY(ui.focus * fan.depthCm)
            let xd = Double(x)
            canvas.fillPolygon([(xd - 1, yf), (xd - 6, yf - 3), (xd - 6, yf + 3)], colour: .yellow)
            // Probe orientation marker next to the fan's upper-left corner.
            let r0 = fan.probe.faceRadiusCm, s = fan.pixelsPerCm, half = fan.probe.halfAngle
            let cx = fan.apexX - r0 * s * sin(half) - 8, cy = fan.apexY + r0 * s * cos(half) + 2
            canvas.fillEllipse(x0: cx - 3, y0: cy - 3, x1: cx + 3, y1: cy + 3, colour: .cyan)
        }
        // Grey bar: a 255 → 0 ramp at the left edge.
        let barHeight = min(128, h - 70), x0 = 5, y0 = 32
        for i in 0..<barHeight {
            let v = UInt8((255 * (1 - Double(i) / Double(barHeight - 1))).rounded(.toNearestOrEven))
            canvas.line(x0: x0, y0: y0 + i, x1: x0 + 7, y1: y0 + i, colour: RGBColour(v, v, v))
        }
        return PixelBox(minX: x0, minY: y0, maxX: x0 + 7, maxY: y0 + barHeight - 1)
    }

    /// "F kk/nn" for frame k of a cine loop, "FRZ" (frozen) for a single frame.
    static func counter(frame k: Int, of n: Int) -> String {
        n > 1 ? String(format: "F %02d/%02d", k + 1, n) : "FRZ"
    }
}
