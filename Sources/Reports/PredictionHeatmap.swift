import Imaging

/// Heat maps drawn over pictures for the HTML reports.
public enum PredictionHeatmap {
    /// The "jet" colour map at t in [0, 1]: blue (0) -> cyan -> yellow -> red (1), piecewise
    /// linear: r = clamp(1.5 - |4t - 3|), g = clamp(1.5 - |4t - 2|), b = clamp(1.5 - |4t - 1|).
    public static func jet(_ t: Float) -> (UInt8, UInt8, UInt8) {
        let x = min(max(t, 0), 1)
        func channel(_ centre: Float) -> UInt8 { UInt8((min(max(1.5 - abs(4 * x - centre), 0), 1) * 255).rounded()) }
        return (channel(3), channel(2), channel(1))
    }

    /// `picture` blended with the jet colours of `heat` (row-major, `picture.width` x
    /// `picture.height`, values in 0...1): out = (1 - a·h) · picture + a·h · jet(h), so cold
    /// areas keep the picture and hot areas show the colour.
    public static func overlay(_ heat: [Float], on picture: RGBImage, alpha: Float = 0.6) -> RGBImage {
        precondition(heat.count == picture.width * picture.height, "heat map of \(heat.count) values for a \(picture.width)x\(picture.height) picture")
        var out = picture
        for i in 0..<heat.count {
            let h = min(max(heat[i], 0), 1)
            let w = alpha * h
            let (r, g, b) = jet(h)
            for (c, v) in [r, g, b].enumerated() {
                let p = Float(picture.pixels[i * 3 + c])
                out.pixels[i * 3 + c] = UInt8(((1 - w) * p + w * Float(v)).rounded())
            }
        }
        return out
    }

    /// The position (x, y) of the largest value of a `width`-wide map (the first among equals).
    public static func peak(_ heat: [Float], width: Int) -> (x: Int, y: Int) {
        var best = 0
        for i in heat.indices where heat[i] > heat[best] { best = i }
        return (best % width, best / width)
    }
}
