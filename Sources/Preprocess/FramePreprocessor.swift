import DICOM
import Imaging

/// Anything that delivers decoded 8-bit RGB frames of one instance: a `DicomFile`, or a
/// synthetic picture in tests.
public protocol FrameSource {
    /// Key of the frame cache (the SOP Instance UID for DICOM).
    var instanceKey: String { get }
    var frameCount: Int { get }
    var frameWidth: Int { get }
    var frameHeight: Int { get }
    /// Ultrasound regions (0018,6011); empty when the file has none.
    var ultrasoundRegions: [UltrasoundRegion] { get }
    /// Frame `index` as 8-bit RGB, colour converted and grayscale windowed (`window` overrides).
    func decodeRGB(frame index: Int, window: VOIWindow?) throws -> RGBImage
    /// The same frame with the reader's record of what it did (colour model, VOI), when the
    /// source has one. The default has none.
    func decodeWithRecord(frame index: Int, window: VOIWindow?) throws -> (image: RGBImage, record: DecodeRecord?)
}

extension FrameSource {
    public func decodeWithRecord(frame index: Int, window: VOIWindow?) throws -> (image: RGBImage, record: DecodeRecord?) {
        (try decodeRGB(frame: index, window: window), nil)
    }
}

/// One frame after preprocessing, before normalisation: what is cached and what previews show.
public struct PreprocessedFrame: Sendable {
    public let frameIndex: Int
    /// `size` x `size` 8-bit RGB.
    public let image: RGBImage
    public let crop: CropDecision
    /// The reader's colour and VOI decisions for this frame (nil for sources without them).
    public let decode: DecodeRecord?
    /// True when the pixels came from the frame cache (no decoding happened).
    public let fromCache: Bool
}

/// The frames of one instance, with the decisions taken on the way.
public struct PreprocessedInstance: Sendable {
    public let instanceKey: String
    public let selection: FrameSelection
    public let frames: [PreprocessedFrame]
    /// The crop shared by all frames (nil when no frame was selected).
    public var crop: CropDecision? { frames.first?.crop }
    /// Every warning: frame policy clamping and crop fallbacks.
    public var warnings: [String] { selection.warnings + (crop?.warnings ?? []) }
}

/// The pipeline from decoded frames to tensors, the same in training, evaluation, prediction and
/// preview: select frames → crop (per instance) → resample to `size` x `size` by the aspect
/// policy → 8-bit RGB (cached) → normalised float32 HWC tensor.
///
/// One instance per thread or shared: it holds no mutable state besides the thread-safe cache.
public final class FramePreprocessor: Sendable {
    public let config: PreprocessConfig
    public let cache: FrameCache?
    /// Frames decoded to find a cine loop's moving pixels (uniform over the loop, independent of
    /// the frame policy, so the crop and therefore the cache do not depend on `--frames`).
    public static let cropAnalysisFrames = 8

    public init(config: PreprocessConfig, cache: FrameCache? = nil) {
        self.config = config
        self.cache = cache
    }

    /// Preprocesses the selected frames of `source`. Frames found in the cache are not decoded;
    /// when all are found, the file is not decoded at all.
    public func process(_ source: FrameSource) throws -> PreprocessedInstance {
        let selection = config.frames.select(frameCount: source.frameCount)
        let pixelHash = config.pixelHash
        var results: [Int: PreprocessedFrame] = [:]
        if let cache {
            for index in selection.indices {
                let key = FrameCache.key(sopInstanceUID: source.instanceKey, frame: index, pixelHash: pixelHash)
                if let hit = cache.load(key: key), hit.image.width == config.size, hit.image.height == config.size {
                    results[index] = PreprocessedFrame(frameIndex: index, image: hit.image, crop: hit.crop,
                                                       decode: hit.decode, fromCache: true)
                }
            }
        }
        let missing = selection.indices.filter { results[$0] == nil }
        if !missing.isEmpty {
            var decoded: [Int: (image: RGBImage, record: DecodeRecord?)] = [:]
            func decode(_ i: Int) throws -> (image: RGBImage, record: DecodeRecord?) {
                if let f = decoded[i] { return f }
                let f = try source.decodeWithRecord(frame: i, window: config.window)
                decoded[i] = f
                return f
            }
            func frame(_ i: Int) throws -> RGBImage { try decode(i).image }
            let crop = try CropPlanner.decide(
                mode: config.crop, regions: source.ultrasoundRegions,
                width: source.frameWidth, height: source.frameHeight,
                analysisFrames: {
                    try FramePolicy.uniform(Self.cropAnalysisFrames).select(frameCount: source.frameCount).indices.map(frame)
                })
            for index in missing {
                let (image, record) = try decode(index)
                let square = render(image, crop: crop)
                decoded[index] = nil
                let result = PreprocessedFrame(frameIndex: index, image: square, crop: crop, decode: record, fromCache: false)
                results[index] = result
                if let cache {
                    // A cache that cannot be written only costs time later; never fail the frame for it.
                    try? cache.store(FrameCache.Entry(image: square, crop: crop, decode: record),
                                     key: FrameCache.key(sopInstanceUID: source.instanceKey, frame: index, pixelHash: pixelHash))
                }
            }
        }
        return PreprocessedInstance(instanceKey: source.instanceKey, selection: selection,
                                    frames: selection.indices.compactMap { results[$0] })
    }

    /// Crop, aspect policy and resampling of one decoded frame: the `size` x `size` 8-bit picture.
    public func render(_ image: RGBImage, crop: CropDecision) -> RGBImage {
        let whole = PixelRect(x: 0, y: 0, width: image.width, height: image.height)
        var box = crop.box.intersection(whole)
        if box.isEmpty { box = whole }
        let plan = ResizePlan(sourceWidth: box.width, sourceHeight: box.height, size: config.size, aspect: config.aspect)
        return plan.apply(to: image, region: box, interpolation: config.interpolation)
    }

    /// The network input of one frame: `size x size x 3` float32, channels last, normalised.
    public func tensor(_ frame: PreprocessedFrame) -> [Float] {
        config.normalize.normalize(frame.image)
    }

    /// Writes the network inputs of `frames` one after another (NHWC) into `out`.
    public func writeBatch(_ frames: [PreprocessedFrame], into out: UnsafeMutableBufferPointer<Float>) {
        let per = config.size * config.size * 3
        precondition(out.count >= per * frames.count, "FramePreprocessor: batch buffer too small")
        for (n, f) in frames.enumerated() {
            config.normalize.normalize(f.image, into: UnsafeMutableBufferPointer(rebasing: out[(n * per)..<((n + 1) * per)]))
        }
    }
}

/// A single picture (already decoded) as a frame source: PNG inputs and tests.
public struct PictureSource: FrameSource {
    public let instanceKey: String
    public let pictures: [RGBImage]
    public let ultrasoundRegions: [UltrasoundRegion]

    public init(instanceKey: String, pictures: [RGBImage], regions: [UltrasoundRegion] = []) {
        precondition(!pictures.isEmpty, "PictureSource: no pictures")
        self.instanceKey = instanceKey
        self.pictures = pictures
        self.ultrasoundRegions = regions
    }
    public var frameCount: Int { pictures.count }
    public var frameWidth: Int { pictures[0].width }
    public var frameHeight: Int { pictures[0].height }
    public func decodeRGB(frame index: Int, window: VOIWindow?) throws -> RGBImage { pictures[index] }
}
