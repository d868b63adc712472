import Foundation

/// What one synthetic image instance looks like, decided by the cohort plan; everything else
/// (depths, tissue, settings) is drawn by `InstanceRenderer` from the instance's draws.
public struct InstanceLook: Sendable {
    public var width: Int, height: Int, frames: Int
    public var probe: Probe
    /// The study's lesion; nil: no lesion.
    public var lesion: LesionLook?
    /// Two fans side by side with different depths (so their pixel spacings differ).
    public var dualFan: Bool
    /// Burned in at the bottom right, upper-cased.
    public var deviceModel: String
    /// Probability that the view shows an anechoic cyst (0.25 in SampleStudies).
    public var cystProbability: Double

    public init(width: Int, height: Int, frames: Int, probe: Probe, lesion: LesionLook?, dualFan: Bool,
                deviceModel: String, cystProbability: Double = 0.25) {
        self.width = width
        self.height = height
        self.frames = frames
        self.probe = probe
        self.lesion = lesion
        self.dualFan = dualFan
        self.deviceModel = deviceModel
        self.cystProbability = cystProbability
    }

    /// The smallest image the layout (fan pads, header lines, grey bar) fits: 128 × 96, and
    /// 192 pixels wide for two fans.
    public static let minimumWidth = 128, minimumDualFanWidth = 192, minimumHeight = 96
}

/// The frames of one instance.
public struct RenderedInstance: Sendable {
    public let width: Int, height: Int, frames: Int
    /// Per frame, interleaved RGB, rows top to bottom: the B-mode grey with the coloured
    /// annotations burned in.
    public let rgb: [[UInt8]]
    /// Per frame, 0...255, row-major: the B-mode at full precision and annotation pixels as their
    /// luminance (for 12-bit output). Rounding a B-mode pixel of `grey` half to even gives its
    /// value in `rgb`.
    public let grey: [[Float]]
    /// The fans, left to right (one, or two for a dual-fan look).
    public let fans: [FanGeometry]
    /// The grey bar's box.
    public let greyBar: PixelBox

    public init(width: Int, height: Int, frames: Int, rgb: [[UInt8]], grey: [[Float]], fans: [FanGeometry], greyBar: PixelBox) {
        self.width = width
        self.height = height
        self.frames = frames
        self.rgb = rgb
        self.grey = grey
        self.fans = fans
        self.greyBar = greyBar
    }
}

/// Renders an instance the way make_sample_studies.py's `render_instance` does.
///
/// Draws, in this order from `draws`: the fan depth(s) (one of the probe's `depthChoices`; for
/// two fans two different depths of 6, 8, 10, 12, 14 cm, the shallower on the left), whether
/// there is a cyst, one `TissueScene` per fan, then the scanner settings of the annotations. Each
/// fan is fitted to its viewport (the whole image, or the left and right halves) with pads for
/// the annotations and rendered by `FanRenderer`; the annotations (`BurnedInAnnotations`) are
/// drawn over the B-mode (an annotation pixel replaces the B-mode pixel).
public enum InstanceRenderer {
    public static func render(_ look: InstanceLook, draws: inout SyntheticDraws) -> RenderedInstance {
        let w = look.width, h = look.height, n = look.frames
        precondition(n >= 1, "InstanceRenderer: an instance needs at least one frame, got \(n)")
        precondition(h >= InstanceLook.minimumHeight && w >= (look.dualFan ? InstanceLook.minimumDualFanWidth : InstanceLook.minimumWidth),
                     "InstanceRenderer: \(w)x\(h) is smaller than the annotation layout needs (at least \(look.dualFan ? InstanceLook.minimumDualFanWidth : InstanceLook.minimumWidth)x\(InstanceLook.minimumHeight))")
        let probe = look.probe
        let pads = (left: 22, top: 30, right: 34, bottom: 16)
        var fans: [FanGeometry]
        if look.dualFan {
            let choices: [Double] = [6, 8, 10, 12, 14]
            let order = draws.permutation(choices.count)
            let depths = [choices[order[0]], choices[order[1]]].sorted()
            fans = [FanGeometry.fit(probe: probe, depthCm: depths[0], viewport: PixelBox(minX: 0, minY: 0, maxX: w / 2 - 1, maxY: h - 1), pads: pads),
                    FanGeometry.fit(probe: probe, depthCm: depths[1], viewport: PixelBox(minX: w / 2, minY: 0, maxX: w - 1, maxY: h - 1),
                                    pads: (left: 8, top: 30, right: 34, bottom: 16))]
        } else {
            fans = [FanGeometry.fit(probe: probe, depthCm: draws.choice(probe.depthChoices),
                                    viewport: PixelBox(minX: 0, minY: 0, maxX: w - 1, maxY: h - 1), pads: pads)]
        }
        let cyst = draws.chance(look.cystProbability)
        var bmode = [[Float]](repeating: [Float](repeating: 0, count: w * h), count: n)
        for fan in fans {
            let scene = TissueScene.random(&draws, probe: probe, depthCm: fan.depthCm, lesion: look.lesion, cyst: cyst, cine: n > 1)
            let renderer = FanRenderer(geometry: fan, scene: scene)
            let conversion = ScanConversion(geometry: fan, width: w, height: h, rows: renderer.nR, columns: renderer.nT)
            for (k, polar) in renderer.polarFrames(n).enumerated() { conversion.apply(polar, into: &bmode[k]) }
        }
        let settings = ScannerSettings.random(&draws)
        var rgb: [[UInt8]] = [], grey: [[Float]] = []
        rgb.reserveCapacity(n)
        grey.reserveCapacity(n)
        var bar = PixelBox(minX: 0, minY: 0, maxX: -1, maxY: -1)
        for k in 0..<n {
            var canvas = AnnotationCanvas(width: w, height: h)
            bar = BurnedInAnnotations.draw(on: &canvas, fans: fans, probe: probe, deviceModel: look.deviceModel,
                                           settings: settings, frame: k, of: n)
            let (frameRGB, frameGrey) = compose(bmode[k], canvas)
            rgb.append(frameRGB)
            grey.append(frameGrey)
        }
        return RenderedInstance(width: w, height: h, frames: n, rgb: rgb, grey: grey, fans: fans, greyBar: bar)
    }

    /// The annotations over the B-mode: an RGB frame and its greyscale twin.
    static func compose(_ bmode: [Float], _ canvas: AnnotationCanvas) -> (rgb: [UInt8], grey: [Float]) {
        let count = canvas.width * canvas.height
        var rgb = [UInt8](repeating: 0, count: count * 3)
        var grey = [Float](repeating: 0, count: count)
        canvas.rgb.withUnsafeBufferPointer { ui in
            bmode.withUnsafeBufferPointer { b in
                rgb.withUnsafeMutableBufferPointer { out in
                    grey.withUnsafeMutableBufferPointer { g in
                        for p in 0..<count {
                            let r = ui[3 * p], gr = ui[3 * p + 1], bl = ui[3 * p + 2]
                            if r != 0 || gr != 0 || bl != 0 {
                                out[3 * p] = r; out[3 * p + 1] = gr; out[3 * p + 2] = bl
                                g[p] = RGBColour(r, gr, bl).luminance
                            } else {
                                let v = min(max(b[p], 0), 255)
                                let byte = UInt8(v.rounded(.toNearestOrEven))
                                out[3 * p] = byte; out[3 * p + 1] = byte; out[3 * p + 2] = byte
                                g[p] = v
                            }
                        }
                    }
                }
            }
        }
        return (rgb, grey)
    }
}
