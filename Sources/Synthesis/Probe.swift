import Foundation

/// A transducer of the synthetic scanner: the geometry of its sector and its centre frequency
/// (burned into the image). The catalog is scripts/samples/bmode.py's `PROBES`, value for value.
public struct Probe: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Curved array: the beams start on an arc of radius `faceRadiusCm`.
        case convex
        /// Phased array: a small face, the beams fan out from (almost) a point.
        case phased
    }

    /// Label burned into the image, e.g. "C5-2".
    public let name: String
    public let kind: Kind
    /// Radius of the probe face: the distance apex → skin on the centre line (cm).
    public let faceRadiusCm: Double
    /// Half of the sector opening (radians).
    public let halfAngle: Double
    public let frequencyMHz: Double

    public init(name: String, kind: Kind, faceRadiusCm: Double, halfAngle: Double, frequencyMHz: Double) {
        self.name = name
        self.kind = kind
        self.faceRadiusCm = faceRadiusCm
        self.halfAngle = halfAngle
        self.frequencyMHz = frequencyMHz
    }

    /// Degrees to radians the way Python's `math.radians` does it (`x · (π/180)`), so that the
    /// angles, and the fan geometry computed from them, are the reference's to the last bit.
    static func radians(_ degrees: Double) -> Double { degrees * (Double.pi / 180.0) }

    /// "C5-2", "C6-1" and "P4-2", as in bmode.py.
    public static let catalog: [String: Probe] = [
        "C5-2": Probe(name: "C5-2", kind: .convex, faceRadiusCm: 4.5, halfAngle: radians(34), frequencyMHz: 3.5),
        "C6-1": Probe(name: "C6-1", kind: .convex, faceRadiusCm: 5.5, halfAngle: radians(30), frequencyMHz: 3.0),
        "P4-2": Probe(name: "P4-2", kind: .phased, faceRadiusCm: 0.25, halfAngle: radians(41), frequencyMHz: 2.5),
    ]

    /// The image depths (cm) a single fan of this kind of probe is drawn with in SampleStudies.
    public var depthChoices: [Double] { kind == .convex ? [8, 10, 12, 14, 16] : [10, 12, 14, 16] }
}

/// An inclusive pixel rectangle (like a DICOM ultrasound region's
/// RegionLocationMinX0…RegionLocationMaxY1): columns minX...maxX, rows minY...maxY.
public struct PixelBox: Sendable, Hashable, Codable {
    public var minX: Int, minY: Int, maxX: Int, maxY: Int

    public init(minX: Int, minY: Int, maxX: Int, maxY: Int) {
        self.minX = minX
        self.minY = minY
        self.maxX = maxX
        self.maxY = maxY
    }

    public var width: Int { maxX - minX + 1 }
    public var height: Int { maxY - minY + 1 }

    public func contains(x: Int, y: Int) -> Bool { x >= minX && x <= maxX && y >= minY && y <= maxY }
}
