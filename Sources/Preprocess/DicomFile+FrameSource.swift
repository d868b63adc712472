import DICOM
import Imaging

/// A DICOM instance is a frame source: frames decoded lazily by the reader (colour converted to
/// RGB once, grayscale through VOI with `window` taking precedence), keyed in the cache by its
/// SOP Instance UID.
extension DicomFile: FrameSource {
    public var instanceKey: String { metadata.sopInstanceUID }
    public var frameCount: Int { metadata.isImage ? metadata.numberOfFrames : 0 }
    public var frameWidth: Int { metadata.columns }
    public var frameHeight: Int { metadata.rows }
    public var ultrasoundRegions: [UltrasoundRegion] { metadata.regions }
    public func decodeRGB(frame index: Int, window: VOIWindow?) throws -> RGBImage {
        try decodeFrame(index, window: window).image
    }
    public func decodeWithRecord(frame index: Int, window: VOIWindow?) throws -> (image: RGBImage, record: DecodeRecord?) {
        let f = try decodeFrame(index, window: window)
        return (f.image, f.record)
    }
}
