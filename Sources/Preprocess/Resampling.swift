import DICOM
import Imaging

/// How pixels are interpolated when a picture changes size.
///
/// The three filters are Pillow's, reproduced exactly (`src/libImaging/Resample.c` and
/// `Geometry.c`, Pillow 11–13), so that a user who checks a frame against `PIL.Image.resize`
/// sees the same numbers (within 1 grey level; in practice identical):
///
/// - `area`: Pillow's `Image.BILINEAR` resize. A triangle filter whose support is widened by the
///   shrink factor, so every source pixel under an output pixel contributes (antialiased,
///   "area-like") when shrinking; on an axis that is enlarged it is ordinary bilinear
///   interpolation. This is why `area` is the default for both directions: it *is* "area when
///   shrinking, bilinear when enlarging", decided per axis.
/// - `bilinear`: the same triangle filter with its support fixed at one pixel (no antialiasing):
///   two taps at half-pixel centres, edges clamped. Identical to `area` when enlarging; when
///   shrinking it skips pixels and aliases (what OpenCV `INTER_LINEAR` and Pillow's
///   `transform(..., BILINEAR)` do). Offered because some pipelines were trained that way.
/// - `nearest`: Pillow's `Image.NEAREST` resize (`ImagingScaleAffine`): the source pixel whose
///   cell contains the output pixel's centre.
public enum Interpolation: String, Codable, CaseIterable, Sendable {
    case area, bilinear, nearest
}

/// The part of a source picture that is mapped onto the output: Pillow's `box` argument of
/// `Image.resize`, in source pixel coordinates (`x0, y0` top-left edge, `x1, y1` bottom-right edge,
/// fractional values allowed). Pillow passes it to C as 32-bit floats, and so do we: the
/// coefficient arithmetic then sees exactly the same numbers.
public struct ResampleBox: Equatable, Sendable {
    public var x0: Float, y0: Float, x1: Float, y1: Float
    public init(x0: Float, y0: Float, x1: Float, y1: Float) {
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }
    /// The whole of a `width` x `height` picture.
    public static func whole(width: Int, height: Int) -> ResampleBox {
        ResampleBox(x0: 0, y0: 0, x1: Float(width), y1: Float(height))
    }
}

/// Pillow's separable fixed-point resampling, the per-axis coefficient tables and the two passes.
///
/// For output sample `i` of an axis with input extent `[in0, in1)` and `n` outputs:
///
///     scale   = (in1 - in0) / n                       (in1 - in0 computed in Float, as in Pillow)
///     fscale  = max(scale, 1) for `area`, 1 for `bilinear`
///     support = 1 * fscale                            (triangle filter, radius 1)
///     centre  = in0 + (i + 0.5) * scale
///     taps    = x in [trunc(centre - support + 0.5), trunc(centre + support + 0.5)) ∩ [0, inSize)
///     w(x)    = max(0, 1 - |x - centre + 0.5| / fscale),  normalised to sum 1
///     k(x)    = w(x) * 2^22 rounded half away from zero   (PRECISION_BITS = 32 - 8 - 2)
///     out     = clamp((2^21 + Σ in(x) k(x)) >> 22, 0, 255)
///
/// The horizontal pass runs first over the rows the vertical pass needs, and stores 8-bit
/// intermediate samples; the vertical pass then reads those, exactly as `ImagingResampleInner`.
public enum Resampler {
    static let precisionBits: Int32 = 32 - 8 - 2

    /// The taps and fixed-point weights of one axis.
    struct AxisCoefficients {
        /// Number of weight slots per output sample (Pillow's `ksize`).
        let kernelSize: Int
        /// First input index used by output `i` (`bounds[2i]`) and how many follow (`bounds[2i+1]`).
        let bounds: [Int]
        /// Fixed-point weights, `kernelSize` per output sample.
        let weights: [Int32]
        /// The floating-point weights before quantisation (for the plain reference implementation).
        let realWeights: [Double]

        init(inSize: Int, in0: Float, in1: Float, outSize: Int, antialias: Bool) {
            let scale = Double(in1 - in0) / Double(outSize)
            let filterScale = antialias ? max(scale, 1.0) : 1.0
            let support = 1.0 * filterScale
            let kernelSize = Int(support.rounded(.up)) * 2 + 1
            let inverseFilterScale = 1.0 / filterScale
            var bounds = [Int](repeating: 0, count: outSize * 2)
            var real = [Double](repeating: 0, count: outSize * kernelSize)
            for xx in 0..<outSize {
                let center = Double(in0) + (Double(xx) + 0.5) * scale
                // C's (int) cast truncates toward zero; Swift's Int(_:) does the same.
                var xmin = Int(center - support + 0.5)
                if xmin < 0 { xmin = 0 }
                var xmax = Int(center + support + 0.5)
                if xmax > inSize { xmax = inSize }
                xmax -= xmin
                var total = 0.0
                for x in 0..<max(0, xmax) {
                    let w = Self.triangle((Double(x + xmin) - center + 0.5) * inverseFilterScale)
                    real[xx * kernelSize + x] = w
                    total += w
                }
                if total != 0 {
                    for x in 0..<max(0, xmax) { real[xx * kernelSize + x] /= total }
                }
                bounds[2 * xx] = xmin
                bounds[2 * xx + 1] = max(0, xmax)
            }
            let one = Double(1 << Resampler.precisionBits)
            self.kernelSize = kernelSize
            self.bounds = bounds
            self.realWeights = real
            self.weights = real.map { $0 < 0 ? Int32(-0.5 + $0 * one) : Int32(0.5 + $0 * one) }
        }

        /// Pillow's `bilinear_filter`: the triangle of radius 1.
        static func triangle(_ x: Double) -> Double {
            let a = x < 0 ? -x : x
            return a < 1 ? 1 - a : 0
        }
    }

    /// Resamples the `region` of `image` (the whole picture when nil) to `width` x `height`.
    ///
    /// `box` is Pillow's `box` in the coordinates of the region (the whole region when nil). Taps
    /// never reach outside the region: cropping happens first, so burned-in text beside a crop box
    /// cannot bleed into the result through the filter's support.
    public static func resize(
        _ image: RGBImage, region: PixelRect? = nil, box: ResampleBox? = nil,
        width: Int, height: Int, interpolation: Interpolation
    ) -> RGBImage {
        let region = region ?? PixelRect(x: 0, y: 0, width: image.width, height: image.height)
        precondition(region.x >= 0 && region.y >= 0 && region.maxX <= image.width && region.maxY <= image.height,
                     "Resampler: region \(region) outside \(image.width)x\(image.height)")
        precondition(width > 0 && height > 0 && !region.isEmpty, "Resampler: empty size")
        let box = box ?? .whole(width: region.width, height: region.height)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        image.pixels.withUnsafeBufferPointer { src in
            let origin = (region.y * image.width + region.x) * 3
            let view = SourceView(base: src.baseAddress! + origin, rowStride: image.width * 3,
                                  width: region.width, height: region.height)
            out.withUnsafeMutableBufferPointer { dst in
                switch interpolation {
                case .nearest:
                    nearest(view, box: box, into: dst.baseAddress!, width: width, height: height)
                case .area, .bilinear:
                    convolve(view, box: box, into: dst.baseAddress!, width: width, height: height,
                             antialias: interpolation == .area)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Rows of interleaved RGB samples with a row stride (a region of a larger picture).
    struct SourceView {
        let base: UnsafePointer<UInt8>
        let rowStride: Int
        let width: Int
        let height: Int
    }

    // MARK: Separable convolution (area, bilinear)

    static func convolve(_ src: SourceView, box: ResampleBox, into dst: UnsafeMutablePointer<UInt8>,
                         width: Int, height: Int, antialias: Bool) {
        let needHorizontal = width != src.width || box.x0 != 0 || box.x1 != Float(width)
        let needVertical = height != src.height || box.y0 != 0 || box.y1 != Float(height)
        let vertical = AxisCoefficients(inSize: src.height, in0: box.y0, in1: box.y1, outSize: height,
                                        antialias: antialias)
        if !needHorizontal && !needVertical {
            for y in 0..<height {
                (dst + y * width * 3).update(from: src.base + y * src.rowStride, count: width * 3)
            }
            return
        }
        // Rows of the source the vertical pass reads.
        let firstRow = vertical.bounds[0]
        let lastRow = vertical.bounds[2 * (height - 1)] + vertical.bounds[2 * (height - 1) + 1]
        var temporary: [UInt8] = []
        var verticalSource = src
        var rowShift = 0
        if needHorizontal {
            let horizontal = AxisCoefficients(inSize: src.width, in0: box.x0, in1: box.x1, outSize: width,
                                              antialias: antialias)
            let rows = lastRow - firstRow
            if !needVertical {
                horizontalPass(src, firstRow: 0, rows: height, coefficients: horizontal, into: dst, width: width)
                return
            }
            temporary = [UInt8](repeating: 0, count: max(1, rows * width * 3))
            temporary.withUnsafeMutableBufferPointer { t in
                horizontalPass(src, firstRow: firstRow, rows: rows, coefficients: horizontal,
                               into: t.baseAddress!, width: width)
            }
            rowShift = firstRow
        }
        temporary.withUnsafeBufferPointer { t in
            if needHorizontal {
                verticalSource = SourceView(base: t.baseAddress!, rowStride: width * 3, width: width,
                                            height: lastRow - firstRow)
            }
            verticalPass(verticalSource, rowShift: rowShift, coefficients: vertical, into: dst, height: height)
        }
    }

    /// One output row per input row: `out[xx] = clip8(2^21 + Σ_x in[xmin + x] * k[xx][x])`.
    static func horizontalPass(_ src: SourceView, firstRow: Int, rows: Int, coefficients c: AxisCoefficients,
                               into dst: UnsafeMutablePointer<UInt8>, width: Int) {
        let half: Int32 = 1 << (precisionBits - 1)
        let shift = precisionBits
        c.bounds.withUnsafeBufferPointer { bounds in
            c.weights.withUnsafeBufferPointer { weights in
                for row in 0..<rows {
                    let line = src.base + (row + firstRow) * src.rowStride
                    let out = dst + row * width * 3
                    for xx in 0..<width {
                        let xmin = bounds[2 * xx], count = bounds[2 * xx + 1]
                        let k = weights.baseAddress! + xx * c.kernelSize
                        var s0 = half, s1 = half, s2 = half
                        var p = line + xmin * 3
                        for x in 0..<count {
                            let w = k[x]
                            s0 &+= Int32(p[0]) &* w
                            s1 &+= Int32(p[1]) &* w
                            s2 &+= Int32(p[2]) &* w
                            p += 3
                        }
                        out[3 * xx] = clip8(s0 >> shift)
                        out[3 * xx + 1] = clip8(s1 >> shift)
                        out[3 * xx + 2] = clip8(s2 >> shift)
                    }
                }
            }
        }
    }

    /// One output row from a weighted sum of input rows, accumulated a whole row at a time (the
    /// sums are integers, so the order of accumulation cannot change the result).
    static func verticalPass(_ src: SourceView, rowShift: Int, coefficients c: AxisCoefficients,
                             into dst: UnsafeMutablePointer<UInt8>, height: Int) {
        let half: Int32 = 1 << (precisionBits - 1)
        let shift = precisionBits
        let samples = src.width * 3
        let accumulator = UnsafeMutablePointer<Int32>.allocate(capacity: samples)
        defer { accumulator.deallocate() }
        c.bounds.withUnsafeBufferPointer { bounds in
            c.weights.withUnsafeBufferPointer { weights in
                for yy in 0..<height {
                    let ymin = bounds[2 * yy] - rowShift, count = bounds[2 * yy + 1]
                    let k = weights.baseAddress! + yy * c.kernelSize
                    accumulator.initialize(repeating: half, count: samples)
                    for y in 0..<count {
                        let w = k[y]
                        let line = src.base + (ymin + y) * src.rowStride
                        for i in 0..<samples { accumulator[i] &+= Int32(line[i]) &* w }
                    }
                    let out = dst + yy * samples
                    for i in 0..<samples { out[i] = clip8(accumulator[i] >> shift) }
                }
            }
        }
    }

    @inline(__always)
    static func clip8(_ v: Int32) -> UInt8 {
        v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
    }

    // MARK: Nearest (Pillow ImagingScaleAffine)

    /// `a0 = (x1 - x0) / width`, first centre `x0 + a0 / 2`, then `+= a0` per output pixel (the
    /// accumulation, not a multiplication, is what Pillow does, and it decides ties); the source
    /// index is the centre truncated; outside the source gives black.
    static func nearest(_ src: SourceView, box: ResampleBox, into dst: UnsafeMutablePointer<UInt8>,
                        width: Int, height: Int) {
        let a0 = Double(box.x1 - box.x0) / Double(width)
        let a4 = Double(box.y1 - box.y0) / Double(height)
        var columns = [Int](repeating: -1, count: width)
        var xo = Double(box.x0) + a0 * 0.5
        for x in 0..<width {
            let xin = xo < 0 ? -1 : Int(xo)
            if xin >= 0 && xin < src.width { columns[x] = xin }
            xo += a0
        }
        var yo = Double(box.y0) + a4 * 0.5
        for y in 0..<height {
            let yi = yo < 0 ? -1 : Int(yo)
            let out = dst + y * width * 3
            if yi >= 0 && yi < src.height {
                let line = src.base + yi * src.rowStride
                for x in 0..<width where columns[x] >= 0 {
                    let s = line + columns[x] * 3
                    out[3 * x] = s[0]; out[3 * x + 1] = s[1]; out[3 * x + 2] = s[2]
                }
            }
            yo += a4
        }
    }

    // MARK: Plain reference (for tests of the hot loops)

    /// The same filter written directly from the formula on `[UInt8]` arrays with subscripts and
    /// no pointer arithmetic; the tests check the fast passes against it sample for sample.
    static func plainResize(_ image: RGBImage, box: ResampleBox? = nil, width: Int, height: Int,
                            antialias: Bool) -> RGBImage {
        let box = box ?? .whole(width: image.width, height: image.height)
        let h = AxisCoefficients(inSize: image.width, in0: box.x0, in1: box.x1, outSize: width, antialias: antialias)
        let v = AxisCoefficients(inSize: image.height, in0: box.y0, in1: box.y1, outSize: height, antialias: antialias)
        let needH = width != image.width || box.x0 != 0 || box.x1 != Float(width)
        let needV = height != image.height || box.y0 != 0 || box.y1 != Float(height)
        func quantise(_ s: Int) -> UInt8 {
            let shifted = s >> Int(precisionBits)
            return UInt8(min(255, max(0, shifted)))
        }
        var stage = image
        if needH {
            var px = [UInt8](repeating: 0, count: width * image.height * 3)
            for y in 0..<image.height {
                for xx in 0..<width {
                    for c in 0..<3 {
                        var s = 1 << (Int(precisionBits) - 1)
                        for t in 0..<h.bounds[2 * xx + 1] {
                            let x = h.bounds[2 * xx] + t
                            s += Int(image.pixels[(y * image.width + x) * 3 + c]) * Int(h.weights[xx * h.kernelSize + t])
                        }
                        px[(y * width + xx) * 3 + c] = quantise(s)
                    }
                }
            }
            stage = RGBImage(width: width, height: image.height, pixels: px)
        }
        if needV {
            var px = [UInt8](repeating: 0, count: stage.width * height * 3)
            for yy in 0..<height {
                for x in 0..<stage.width {
                    for c in 0..<3 {
                        var s = 1 << (Int(precisionBits) - 1)
                        for t in 0..<v.bounds[2 * yy + 1] {
                            let y = v.bounds[2 * yy] + t
                            s += Int(stage.pixels[(y * stage.width + x) * 3 + c]) * Int(v.weights[yy * v.kernelSize + t])
                        }
                        px[(yy * stage.width + x) * 3 + c] = quantise(s)
                    }
                }
            }
            stage = RGBImage(width: stage.width, height: height, pixels: px)
        }
        return stage
    }
}
