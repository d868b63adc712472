import DICOM
import Imaging

/// A DICOM file whose decoded frames are kept, so a frame shown twice (with its crop box, and
/// through the pipeline: `preview`, the pictures of `predict --html`) is decoded once.
public final class MemoizedFrames: FrameSource {
    public let file: DicomFile
    private var frames: [Int: (image: RGBImage, record: DecodeRecord?)] = [:]
    public init(_ file: DicomFile) { self.file = file }
    public var instanceKey: String { file.instanceKey }
    public var frameCount: Int { file.frameCount }
    public var frameWidth: Int { file.frameWidth }
    public var frameHeight: Int { file.frameHeight }
    public var ultrasoundRegions: [UltrasoundRegion] { file.ultrasoundRegions }
    public func decodeRGB(frame index: Int, window: VOIWindow?) throws -> RGBImage {
        try decodeWithRecord(frame: index, window: window).image
    }
    public func decodeWithRecord(frame index: Int, window: VOIWindow?) throws -> (image: RGBImage, record: DecodeRecord?) {
        if let f = frames[index] { return f }
        let f = try file.decodeWithRecord(frame: index, window: window)
        frames[index] = f
        return f
    }
}
