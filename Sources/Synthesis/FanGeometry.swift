import Foundation

/// Where a sector fan sits in the image (bmode.py's `FanGeometry`).
///
/// The fan is the set of pixels whose centre (x, y) lies at a distance r from the apex
/// (apexX, apexY) with r₀ ≤ r ≤ r₀ + depth (in cm, r = |(x, y) − apex| / pixelsPerCm, r₀ the
/// probe's face radius) and at an angle θ = atan2(x − apexX, y − apexY) from the vertical with
/// |θ| ≤ halfAngle, and that lies inside the viewport. The apex lies above the fan (for convex
/// probes above the image). `pixelsPerCm` is isotropic: PhysicalDeltaX = PhysicalDeltaY =
/// 1 / pixelsPerCm.
///
/// Tissue coordinates: lateral X and depth Z below the skin on the centre line,
/// X = r sin θ, Z = r cos θ − r₀ (cm); a pixel's tissue point is ((x − apexX)/s, (y − apexY)/s − r₀).
public struct FanGeometry: Sendable {
    public let probe: Probe
    public let depthCm: Double
    public let pixelsPerCm: Double
    public let apexX: Double
    public let apexY: Double
    /// The part of the image the fan was fitted into; pixels outside it are never fan pixels.
    public let viewport: PixelBox
    /// r₀², r_max² and tan α, for `contains`.
    private let minRadiusSquared: Double, maxRadiusSquared: Double, tanHalfAngle: Double

    public init(probe: Probe, depthCm: Double, pixelsPerCm: Double, apexX: Double, apexY: Double, viewport: PixelBox) {
        self.probe = probe
        self.depthCm = depthCm
        self.pixelsPerCm = pixelsPerCm
        self.apexX = apexX
        self.apexY = apexY
        self.viewport = viewport
        minRadiusSquared = probe.faceRadiusCm * probe.faceRadiusCm
        maxRadiusSquared = (probe.faceRadiusCm + depthCm) * (probe.faceRadiusCm + depthCm)
        tanHalfAngle = tan(probe.halfAngle)
    }

    /// r₀ + depth: the distance apex → deepest sample (cm).
    public var maxRadiusCm: Double { probe.faceRadiusCm + depthCm }

    /// The largest fan that fits the viewport minus the pads (pixels kept free on each side for
    /// the annotations). With the available width W and height H:
    ///
    ///     s = min(H / (r_max − r₀ cos α), W / (2 r_max sin α))        (pixels per cm)
    ///     apexX = x₀ + left + W / 2,   apexY = y₀ + top + 1 − s r₀ cos α
    ///
    /// (α the half angle): the fan's height from the corners of the face to the deepest arc, and
    /// its width at the deepest arc. Evaluated in bmode.py's order of operations, so that the
    /// values are the reference's bit for bit.
    public static func fit(probe: Probe, depthCm: Double, viewport: PixelBox,
                           pads: (left: Int, top: Int, right: Int, bottom: Int)) -> FanGeometry {
        let availableWidth = Double(viewport.width - pads.left - pads.right)
        let availableHeight = Double(viewport.height - pads.top - pads.bottom)
        let r0 = probe.faceRadiusCm, half = probe.halfAngle
        let rMax = r0 + depthCm
        let sH = availableHeight / (rMax - r0 * cos(half))
        let sW = availableWidth / (2 * rMax * sin(half))
        let s = min(sH, sW)
        let apexX = Double(viewport.minX + pads.left) + availableWidth / 2.0
        let apexY = Double(viewport.minY + pads.top + 1) - s * r0 * cos(half)
        return FanGeometry(probe: probe, depthCm: depthCm, pixelsPerCm: s, apexX: apexX, apexY: apexY, viewport: viewport)
    }

    /// (r in cm, θ in radians) of the centre of pixel (x, y).
    @inline(__always)
    public func polar(x: Int, y: Int) -> (r: Double, theta: Double) {
        let dx = (Double(x) - apexX) / pixelsPerCm
        let dy = (Double(y) - apexY) / pixelsPerCm
        return (hypot(dx, dy), atan2(dx, dy))   // numpy's np.hypot / np.arctan2: C's hypot, atan2
    }

    /// Whether the centre of pixel (x, y) is in the fan (see the type's definition).
    ///
    /// Pixels clearly inside or outside (by more than a relative 10⁻⁹ in r² and in
    /// |Δx|/Δy against tan α, where |θ| ≤ α ⇔ Δy > 0 and |Δx|/Δy ≤ tan α for α < 90°) are decided
    /// without hypot and atan2; the few near an edge take bmode.py's exact test.
    @inline(__always)
    public func contains(x: Int, y: Int) -> Bool {
        guard viewport.contains(x: x, y: y) else { return false }
        let dx = (Double(x) - apexX) / pixelsPerCm, dy = (Double(y) - apexY) / pixelsPerCm
        let r2 = dx * dx + dy * dy
        let rMin2 = minRadiusSquared, rMax2 = maxRadiusSquared, tanHalf = tanHalfAngle
        if r2 < rMin2 * (1 - 1e-9) || r2 > rMax2 * (1 + 1e-9) || dy <= 0 { return false }
        let slope = abs(dx) / dy
        if slope > tanHalf * (1 + 1e-9) { return false }
        if slope < tanHalf * (1 - 1e-9) && r2 > rMin2 * (1 + 1e-9) && r2 < rMax2 * (1 - 1e-9) { return true }
        let (r, theta) = polar(x: x, y: y)
        return r >= probe.faceRadiusCm && r <= maxRadiusCm && abs(theta) <= probe.halfAngle
    }

    /// The fan's pixels in an image of the given size, row-major (true = fan).
    public func mask(width: Int, height: Int) -> [Bool] {
        var mask = [Bool](repeating: false, count: width * height)
        let box = candidateBox(width: width, height: height)
        guard box.minX <= box.maxX, box.minY <= box.maxY else { return mask }
        for y in box.minY...box.maxY {
            for x in box.minX...box.maxX where contains(x: x, y: y) { mask[y * width + x] = true }
        }
        return mask
    }

    /// The inclusive bounding box of the fan's pixels (bmode.py's `bounding_box`), found by
    /// scanning rows inwards from the top and the bottom and then columns from the left and the
    /// right, each scan stopping at the first fan pixel. A fan that fits its viewport always has
    /// pixels; an empty one gives the (invalid) box (0, 0, −1, −1).
    public func boundingBox(width: Int, height: Int) -> PixelBox {
        let box = candidateBox(width: width, height: height)
        let empty = PixelBox(minX: 0, minY: 0, maxX: -1, maxY: -1)
        guard box.minX <= box.maxX, box.minY <= box.maxY else { return empty }
        func rowHasFan(_ y: Int) -> Bool { (box.minX...box.maxX).contains { contains(x: $0, y: y) } }
        guard let minY = (box.minY...box.maxY).first(where: rowHasFan),
              let maxY = (minY...box.maxY).reversed().first(where: rowHasFan) else { return empty }
        func columnHasFan(_ x: Int) -> Bool { (minY...maxY).contains { contains(x: x, y: $0) } }
        guard let minX = (box.minX...box.maxX).first(where: columnHasFan),
              let maxX = (minX...box.maxX).reversed().first(where: columnHasFan) else { return empty }
        return PixelBox(minX: minX, minY: minY, maxX: maxX, maxY: maxY)
    }

    /// Viewport ∩ image: the only pixels that can be fan pixels.
    private func candidateBox(width: Int, height: Int) -> PixelBox {
        PixelBox(minX: max(0, viewport.minX), minY: max(0, viewport.minY),
                 maxX: min(width - 1, viewport.maxX), maxY: min(height - 1, viewport.maxY))
    }

    /// The image row of depth d (cm) below the skin on the centre line.
    public func depthToY(_ depthBelowSkinCm: Double) -> Double {
        apexY + (probe.faceRadiusCm + depthBelowSkinCm) * pixelsPerCm
    }

    /// The x of the fan's right-most point (the right corner of the deepest arc).
    public var fanRightX: Double { apexX + maxRadiusCm * pixelsPerCm * sin(probe.halfAngle) }

    /// The x of the fan's left-most point.
    public var fanLeftX: Double { apexX - maxRadiusCm * pixelsPerCm * sin(probe.halfAngle) }
}
