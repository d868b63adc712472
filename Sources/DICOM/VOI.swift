/// A linear VOI window (PS3.3 C.11.2.1.2): values are mapped to the display range by
/// `y = ((x - (c - 0.5)) / (w - 1) + 0.5)` clipped to [0, 1], with centre `c` and width `w >= 1`.
public struct VOIWindow: Codable, Hashable, Sendable {
    public var center: Double
    public var width: Double

    public init(center: Double, width: Double) {
        self.center = center
        self.width = width
    }
}

/// Where the VOI transformation of a grayscale frame came from, in the reader's precedence order:
/// an explicit window (the user's), the file's window (0028,1050/1051), the file's VOI LUT
/// (0028,3010), the frame's own min/max. Colour frames never get VOI (PS3.3 C.11.2.1.2.2).
public enum VOISource: String, Codable, Sendable {
    case explicit
    case fileWindow = "file_window"
    case voiLUT = "voi_lut"
    case minMax = "min_max"
    case notApplicable = "not_applicable"
}

/// The VOI transformation one frame went through, recorded with the frame.
public struct VOIDecision: Codable, Hashable, Sendable {
    public let source: VOISource
    /// The window applied (nil for a VOI LUT and for colour).
    public let center: Double?
    public let width: Double?

    public init(source: VOISource, center: Double?, width: Double?) {
        self.source = source
        self.center = center
        self.width = width
    }
}
