/// An 8-bit RGB picture: the common currency between the DICOM reader, preprocessing, previews
/// and reports.
///
/// Layout: row-major, interleaved `R, G, B` per pixel, no row padding, so the sample of channel
/// `c` at column `x`, row `y` is `pixels[(y * width + x) * 3 + c]`. Row 0 is the top of the
/// picture (DICOM and PNG agree on this).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    /// A picture from interleaved RGB samples; `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) samples for \(width)x\(height)x3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A picture filled with one colour (black by default).
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        if fill != (0, 0, 0) {
            for i in stride(from: 0, to: pixels.count, by: 3) {
                pixels[i] = fill.0; pixels[i + 1] = fill.1; pixels[i + 2] = fill.2
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The three samples at column `x`, row `y`.
    @inlinable
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        get {
            let i = (y * width + x) * 3
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = (y * width + x) * 3
            pixels[i] = newValue.r; pixels[i + 1] = newValue.g; pixels[i + 2] = newValue.b
        }
    }

    /// Largest absolute difference of any sample between two pictures of the same size
    /// (nil when the sizes differ). Used to compare with reference decoders "within N grey levels".
    public func maxAbsoluteDifference(to other: RGBImage) -> Int? {
        guard width == other.width, height == other.height else { return nil }
        var worst = 0
        pixels.withUnsafeBufferPointer { a in
            other.pixels.withUnsafeBufferPointer { b in
                for i in 0..<a.count {
                    let d = abs(Int(a[i]) - Int(b[i]))
                    if d > worst { worst = d }
                }
            }
        }
        return worst
    }
}

/// A rectangle of pixels: `x`, `y` is the top-left pixel, `width` x `height` pixels are inside.
public struct PixelRect: Sendable, Equatable, Hashable, Codable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    /// The smallest rectangle containing both.
    public func union(_ other: PixelRect) -> PixelRect {
        if isEmpty { return other }
        if other.isEmpty { return self }
        let x0 = min(x, other.x), y0 = min(y, other.y)
        return PixelRect(x: x0, y: y0, width: max(maxX, other.maxX) - x0, height: max(maxY, other.maxY) - y0)
    }

    /// The part of this rectangle inside `other` (empty when they do not overlap).
    public func intersection(_ other: PixelRect) -> PixelRect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(maxX, other.maxX), y1 = min(maxY, other.maxY)
        return PixelRect(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }
}
