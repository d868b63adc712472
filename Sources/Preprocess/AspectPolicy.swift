import Imaging

/// How a crop of any shape becomes a square `size` x `size` picture.
///
/// - `pad` (default): keep the geometry. Scale so the longer side fills `size`, centre on black.
///   Exactly Pillow's `ImageOps.pad(image, (size, size), method, color=0)`: the short side is
///   `round(short / long * size)` and the offset `round((size - short) / 2)`, both with Python's
///   round-half-to-even.
/// - `stretch`: resize to `size` x `size` ignoring the aspect ratio; what Keras does with
///   `target_size` (`load_img` → `PIL.Image.resize((w, h))`). Circles become ellipses.
/// - `crop`: centre crop to a square and resize: Pillow's `ImageOps.fit(image, (size, size),
///   method)`, whose crop box is fractional (passed to `resize` as its `box`). Cuts off the sides
///   of wide sectors.
public enum AspectPolicy: String, Codable, CaseIterable, Sendable {
    case pad, stretch, crop
}

/// Where a crop of `sourceWidth` x `sourceHeight` lands in the square output.
public struct ResizePlan: Equatable, Sendable {
    /// The part of the source that is resampled (Pillow's `box`).
    public let box: ResampleBox
    /// Size of the resampled picture.
    public let resizedWidth: Int, resizedHeight: Int
    /// Top-left corner of the resampled picture in the output (non-zero only for `pad`).
    public let offsetX: Int, offsetY: Int
    /// Side of the square output.
    public let size: Int

    /// The plan for a source of the given size.
    public init(sourceWidth w: Int, sourceHeight h: Int, size: Int, aspect: AspectPolicy) {
        precondition(w > 0 && h > 0 && size > 0, "ResizePlan: empty size")
        self.size = size
        switch aspect {
        case .stretch:
            box = .whole(width: w, height: h)
            resizedWidth = size; resizedHeight = size; offsetX = 0; offsetY = 0
        case .pad:
            // ImageOps.contain, then ImageOps.pad with centering (0.5, 0.5), for a square target.
            box = .whole(width: w, height: h)
            let ratio = Double(w) / Double(h)
            var rw = size, rh = size
            if ratio > 1 {
                rh = max(1, Int((Double(h) / Double(w) * Double(size)).rounded(.toNearestOrEven)))
            } else if ratio < 1 {
                rw = max(1, Int((Double(w) / Double(h) * Double(size)).rounded(.toNearestOrEven)))
            }
            resizedWidth = rw; resizedHeight = rh
            offsetX = Int((Double(size - rw) * 0.5).rounded(.toNearestOrEven))
            offsetY = Int((Double(size - rh) * 0.5).rounded(.toNearestOrEven))
        case .crop:
            // ImageOps.fit with bleed 0 and centering (0.5, 0.5), output ratio 1.
            let lw = Double(w), lh = Double(h)
            let liveRatio = lw / lh
            var cropWidth = lw, cropHeight = lh
            if liveRatio == 1 {
            } else if liveRatio >= 1 {
                cropWidth = 1.0 * lh
            } else {
                cropHeight = lw / 1.0
            }
            let left = (lw - cropWidth) * 0.5, top = (lh - cropHeight) * 0.5
            box = ResampleBox(x0: Float(left), y0: Float(top), x1: Float(left + cropWidth), y1: Float(top + cropHeight))
            resizedWidth = size; resizedHeight = size; offsetX = 0; offsetY = 0
        }
    }

    /// Resamples `region` of `image` by this plan into a black `size` x `size` picture.
    public func apply(to image: RGBImage, region: PixelRect, interpolation: Interpolation) -> RGBImage {
        let resized = Resampler.resize(image, region: region, box: box, width: resizedWidth,
                                       height: resizedHeight, interpolation: interpolation)
        if resizedWidth == size && resizedHeight == size { return resized }
        var out = [UInt8](repeating: 0, count: size * size * 3)
        resized.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<resizedHeight {
                    let from = src.baseAddress! + y * resizedWidth * 3
                    let to = dst.baseAddress! + ((y + offsetY) * size + offsetX) * 3
                    to.update(from: from, count: resizedWidth * 3)
                }
            }
        }
        return RGBImage(width: size, height: size, pixels: out)
    }
}
