import CNN
import Foundation
import SonoKitCore
import Imaging

/// The augmentations a run may apply to training frames (never to validation frames). Each is
/// applied to the square 8-bit frame before normalisation, with numbers drawn from the frame's
/// own stream (`SeedStreams`: seed, epoch, position in the epoch), so every transform is
/// reproducible from the seed and independent of thread scheduling.
///
/// Never a vertical flip: depth runs down an ultrasound image and has meaning.
public struct AugmentationSet: OptionSet, Codable, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Mirror left-right with probability 1/2.
    public static let flip = AugmentationSet(rawValue: 1)
    /// Scale by s ∈ [0.9, 1.1] about the centre, and shift by up to ±5% of the side.
    public static let zoom = AugmentationSet(rawValue: 2)
    /// Rotate by θ ∈ [-10°, 10°] about the centre.
    public static let rotate = AugmentationSet(rawValue: 4)
    /// Multiply intensities by g ∈ [0.8, 1.2] (overall receive gain).
    public static let gain = AugmentationSet(rawValue: 8)
    /// Multiplicative speckle: I·(1 + 0.15·u), u ∈ [-1, 1] per pixel, the same on the 3 channels.
    public static let speckle = AugmentationSet(rawValue: 16)

    public static let names: [(String, AugmentationSet)] = [("flip", .flip), ("zoom", .zoom), ("rotate", .rotate), ("gain", .gain), ("speckle", .speckle)]

    /// Parses "flip,zoom,rotate,gain,speckle" (any subset; "none" or "" for none).
    public init(parsing text: String) throws {
        self = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !part.isEmpty && part != "none" {
            if part == "vflip" || part == "vertical-flip" {
                throw TrainingError.invalidOption(name: "--augment", reason: "vertical flip is not offered: depth has meaning in ultrasound")
            }
            guard let found = Self.names.first(where: { $0.0 == part }) else {
                throw TrainingError.invalidOption(name: "--augment", reason: "unknown augmentation '\(part)'; choose from \(Self.names.map(\.0).joined(separator: ","))")
            }
            insert(found.1)
        }
    }

    public var text: String { Self.names.filter { contains($0.1) }.map(\.0).joined(separator: ",") }

    public init(from decoder: Decoder) throws { try self.init(parsing: try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(text) }

    /// The augmented frame. Draws a fixed number of values from `rng` whatever the set, so a
    /// stream position always means the same transform.
    public func apply(to image: RGBImage, rng: inout SplitMix64) -> RGBImage {
        let doFlip = rng.nextUnitFloat() < 0.5
        let scale = 1 + rng.nextUniform(limit: 0.1)
        let shiftX = rng.nextUniform(limit: 0.05), shiftY = rng.nextUniform(limit: 0.05)
        let angle = rng.nextUniform(limit: 10) * .pi / 180
        let gainFactor = 1 + rng.nextUniform(limit: 0.2)
        let speckleSeed = rng.next()
        guard !isEmpty else { return image }
        var out = image
        if contains(.zoom) || contains(.rotate) || (contains(.flip) && doFlip) {
            out = Self.affine(image, scale: contains(.zoom) ? scale : 1,
                              shift: contains(.zoom) ? (shiftX, shiftY) : (0, 0),
                              angle: contains(.rotate) ? angle : 0, flip: contains(.flip) && doFlip)
        }
        if contains(.gain) || contains(.speckle) {
            var noise = SplitMix64(seed: speckleSeed)
            let g = contains(.gain) ? gainFactor : 1
            let n = out.width * out.height
            out.pixels.withUnsafeMutableBufferPointer { p in
                for i in 0..<n {
                    var f = g
                    if contains(.speckle) { f *= 1 + 0.15 * noise.nextUniform(limit: 1) }
                    for c in 0..<3 { p[3 * i + c] = UInt8(max(0, min(255, (Float(p[3 * i + c]) * f).rounded()))) }
                }
            }
        }
        return out
    }

    /// Output pixel (x, y) takes the bilinear sample at the inverse map of
    /// p' = c + s·R(θ)·(p − c) + t, with an optional mirror x → w − 1 − x applied first; outside
    /// the frame is black (the padding colour of `pad`).
    static func affine(_ image: RGBImage, scale: Float, shift: (Float, Float), angle: Float, flip: Bool) -> RGBImage {
        let w = image.width, h = image.height
        let cx = Float(w - 1) / 2, cy = Float(h - 1) / 2
        let cosA = cos(angle), sinA = sin(angle)
        let tx = shift.0 * Float(w), ty = shift.1 * Float(h)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<h {
                for x in 0..<w {
                    // Inverse: p = c + R(-θ)·(p' − c − t)/s
                    let dx = (Float(x) - cx - tx) / scale, dy = (Float(y) - cy - ty) / scale
                    var sx = cx + cosA * dx + sinA * dy
                    let sy = cy - sinA * dx + cosA * dy
                    if flip { sx = Float(w - 1) - sx }
                    guard sx > -1, sy > -1, sx < Float(w), sy < Float(h) else { continue }
                    let x0 = Int(floor(sx)), y0 = Int(floor(sy))
                    let fx = sx - Float(x0), fy = sy - Float(y0)
                    for c in 0..<3 {
                        func at(_ xx: Int, _ yy: Int) -> Float {
                            guard xx >= 0, yy >= 0, xx < w, yy < h else { return 0 }
                            return Float(src[(yy * w + xx) * 3 + c])
                        }
                        let v = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy)
                            + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy
                        out[(y * w + x) * 3 + c] = UInt8(max(0, min(255, v.rounded())))
                    }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}
