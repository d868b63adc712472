import DICOM
import Foundation
import SonoKitCore

/// Where the crop box of an instance comes from.
///
/// - `regions` (default): the union of the tissue regions of Sequence of Ultrasound Regions
///   (0018,6011); when the file has none, falls back to `auto` (and records that it did).
/// - `auto`: a box found from the pixels (see `CropPlanner.automatic`).
/// - `none`: the whole frame.
public enum CropMode: String, Codable, CaseIterable, Sendable {
    case regions, auto, none
}

/// Every choice that turns a decoded frame into the tensor a network sees, as one value.
///
/// Recorded in every artefact that depends on preprocessing (cached frames, features, checkpoints,
/// reports) together with its `hash`: the same options give the same hash on every machine and
/// every run, and changing any field gives a new one.
public struct PreprocessConfig: Codable, Hashable, Sendable {
    /// Version of the preprocessing code's behaviour; bumped whenever the same options would give
    /// different pixels, so that old caches and features are not reused by mistake.
    /// 2: ultrasound regions that do not fit inside the image are no longer clamped (`regions`
    /// then falls back to `auto`).
    public static let algorithmVersion = 2

    public var frames: FramePolicy
    public var crop: CropMode
    /// Grayscale VOI override (centre, width); nil leaves the reader's choice (file window, VOI
    /// LUT, min/max). Never applied to colour frames.
    public var window: VOIWindow?
    public var aspect: AspectPolicy
    public var interpolation: Interpolation
    public var normalize: Normalization
    /// Side of the square output in pixels.
    public var size: Int

    public init(frames: FramePolicy = .uniform(8), crop: CropMode = .regions, window: VOIWindow? = nil,
                aspect: AspectPolicy = .pad, interpolation: Interpolation = .area,
                normalize: Normalization = .caffe, size: Int = 224) {
        self.frames = frames
        self.crop = crop
        self.window = window
        self.aspect = aspect
        self.interpolation = interpolation
        self.normalize = normalize
        self.size = size
    }

    /// The defaults: `uniform:8`, `regions`, no window override, `pad`, `area`, `caffe`, 224.
    public static let standard = PreprocessConfig()

    // MARK: Stable hash

    /// Canonical JSON of every field: keys sorted, no spaces, strings for the enums, integers as
    /// decimal, window numbers in `canonicalNumber` form, `null` for no window, plus the
    /// `algorithm_version`. This exact text is what `hash` digests.
    public var canonicalJSON: String {
        canonicalJSON(includeNormalization: true, includeFrames: true)
    }

    /// SHA-256 of `canonicalJSON` in lowercase hex (64 characters).
    public var hash: String { Self.sha256Hex(canonicalJSON) }

    /// The hash of the options that decide the 8-bit pixels of one preprocessed frame (everything
    /// but the normalisation and the frame policy): the key of the frame cache, so that changing
    /// `--normalize` or `--frames` reuses frames already computed.
    public var pixelHash: String {
        Self.sha256Hex(canonicalJSON(includeNormalization: false, includeFrames: false))
    }

    /// The first 12 hex digits of `hash`, for file and folder names.
    public var shortHash: String { String(hash.prefix(12)) }

    func canonicalJSON(includeNormalization: Bool, includeFrames: Bool) -> String {
        var fields: [(String, String)] = [
            ("algorithm_version", String(Self.algorithmVersion)),
            ("aspect", Self.quoted(aspect.rawValue)),
            ("crop", Self.quoted(crop.rawValue)),
            ("interpolation", Self.quoted(interpolation.rawValue)),
            ("size", String(size)),
            ("window", window.map {
                "{\"center\":\(Self.canonicalNumber($0.center)),\"width\":\(Self.canonicalNumber($0.width))}"
            } ?? "null"),
        ]
        if includeFrames { fields.append(("frames", Self.quoted(frames.text))) }
        if includeNormalization { fields.append(("normalize", Self.quoted(normalize.rawValue))) }
        fields.sort { $0.0 < $1.0 }
        return "{" + fields.map { "\(Self.quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    /// A number written the same way on every machine: an integral value below 2^53 as a plain
    /// integer (`40`, `-1024`), anything else as Swift's shortest round-trip decimal (`40.5`,
    /// `0.1`), which is exact and platform independent.
    static func canonicalNumber(_ v: Double) -> String {
        if v.isFinite, v == v.rounded(), abs(v) < 9_007_199_254_740_992 { return String(Int64(v)) }
        return "\(v)"
    }

    static func quoted(_ s: String) -> String {
        // Field values are enum raw values and ASCII keys: no escaping is ever needed, but make
        // sure a future field cannot silently break the canonical form.
        precondition(!s.contains("\"") && !s.contains("\\"), "canonical JSON: unexpected character in \(s)")
        return "\"" + s + "\""
    }

    static func sha256Hex(_ text: String) -> String { SHA256Hex.of(text) }

    // MARK: Validation

    public enum ValidationFailure: Error, CustomStringConvertible, Equatable {
        case sizeOutOfRange(Int)
        case windowWidthTooSmall(Double)
        public var description: String {
            switch self {
            case .sizeOutOfRange(let s): return "--size \(s): must be between 8 and 4096 pixels"
            case .windowWidthTooSmall(let w): return "--window width \(w): must be at least 1 (PS3.3 C.11.2.1.2)"
            }
        }
    }

    /// Throws when a field is out of range.
    public func validate() throws {
        guard (8...4096).contains(size) else { throw ValidationFailure.sizeOutOfRange(size) }
        if let w = window, !(w.width >= 1) { throw ValidationFailure.windowWidthTooSmall(w.width) }
    }
}
