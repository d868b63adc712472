import Imaging

/// How 8-bit RGB samples become the floats a network was trained on. The choice belongs to the
/// weights: VGG16 ImageNet weights from Keras expect `caffe`; torchvision/timm weights expect
/// `imagenet`; a network trained from scratch here uses `unit`.
///
/// For a pixel with samples `R, G, B` in 0...255 (all arithmetic in Float32, in this order):
///
/// - `caffe`   — channels in **B, G, R** order, `B - 103.939, G - 116.779, R - 123.68`, no scaling.
///   Equals `keras.applications.vgg16.preprocess_input` (`imagenet_utils._preprocess_numpy_input`,
///   mode "caffe": `x[..., ::-1]`, then `x[..., i] -= mean[i]` in float32).
/// - `imagenet` — R, G, B order, `(v / 255 - mean) / std`, `mean = (0.485, 0.456, 0.406)`,
///   `std = (0.229, 0.224, 0.225)`: torchvision's `ToTensor()` (`float / 255`) then
///   `Normalize(mean, std)` (`(t - mean) / std`).
/// - `unit`    — R, G, B order, `v / 255`.
public enum Normalization: String, Codable, CaseIterable, Sendable {
    case caffe, unit, imagenet

    public static let caffeMeansBGR: (Float, Float, Float) = (103.939, 116.779, 123.68)
    public static let imagenetMean: (Float, Float, Float) = (0.485, 0.456, 0.406)
    public static let imagenetStd: (Float, Float, Float) = (0.229, 0.224, 0.225)

    /// Channel order of the tensor.
    public var channelOrder: String { self == .caffe ? "BGR" : "RGB" }

    /// Writes `image` as `height x width x 3` floats (NHWC without the N) into `out`, which must
    /// hold `width * height * 3` values.
    public func normalize(_ image: RGBImage, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= image.pixels.count, "Normalization: output buffer too small")
        let n = image.width * image.height
        image.pixels.withUnsafeBufferPointer { src in
            let s = src.baseAddress!, d = out.baseAddress!
            switch self {
            case .caffe:
                let (mb, mg, mr) = Self.caffeMeansBGR
                for i in 0..<n {
                    d[3 * i] = Float(s[3 * i + 2]) - mb
                    d[3 * i + 1] = Float(s[3 * i + 1]) - mg
                    d[3 * i + 2] = Float(s[3 * i]) - mr
                }
            case .unit:
                for i in 0..<(3 * n) { d[i] = Float(s[i]) / 255 }
            case .imagenet:
                let (m0, m1, m2) = Self.imagenetMean, (s0, s1, s2) = Self.imagenetStd
                for i in 0..<n {
                    d[3 * i] = (Float(s[3 * i]) / 255 - m0) / s0
                    d[3 * i + 1] = (Float(s[3 * i + 1]) / 255 - m1) / s1
                    d[3 * i + 2] = (Float(s[3 * i + 2]) / 255 - m2) / s2
                }
            }
        }
    }

    /// `image` as a new `height x width x 3` float array.
    public func normalize(_ image: RGBImage) -> [Float] {
        [Float](unsafeUninitializedCapacity: image.pixels.count) { buffer, count in
            normalize(image, into: buffer)
            count = image.pixels.count
        }
    }

    /// The inverse, for display: the RGB picture the network sees, each value rounded to the
    /// nearest 8-bit level and clamped to 0...255. `denormalize(normalize(x)) == x` for every image.
    public func denormalize(_ tensor: UnsafeBufferPointer<Float>, width: Int, height: Int) -> RGBImage {
        precondition(tensor.count >= width * height * 3, "Normalization: tensor too small")
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        func byte(_ v: Float) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }
        for i in 0..<(width * height) {
            let a = tensor[3 * i], b = tensor[3 * i + 1], c = tensor[3 * i + 2]
            switch self {
            case .caffe:
                let (mb, mg, mr) = Self.caffeMeansBGR
                pixels[3 * i] = byte(c + mr); pixels[3 * i + 1] = byte(b + mg); pixels[3 * i + 2] = byte(a + mb)
            case .unit:
                pixels[3 * i] = byte(a * 255); pixels[3 * i + 1] = byte(b * 255); pixels[3 * i + 2] = byte(c * 255)
            case .imagenet:
                let (m0, m1, m2) = Self.imagenetMean, (s0, s1, s2) = Self.imagenetStd
                pixels[3 * i] = byte((a * s0 + m0) * 255)
                pixels[3 * i + 1] = byte((b * s1 + m1) * 255)
                pixels[3 * i + 2] = byte((c * s2 + m2) * 255)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Convenience over an array.
    public func denormalize(_ tensor: [Float], width: Int, height: Int) -> RGBImage {
        tensor.withUnsafeBufferPointer { denormalize($0, width: width, height: height) }
    }
}
