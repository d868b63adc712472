/// Why a DICOM file could not be read or a frame could not be decoded. Every case names the file
/// and says what the user can do; reading one bad file never stops a run over many.
public enum DicomError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The content is not DICOM (detected by content, not by extension).
    case notDICOM(path: String)
    /// The file ends before its structure does (an interrupted copy or transfer).
    case truncated(path: String, detail: String)
    /// An image object without Pixel Data (7FE0,0010).
    case noPixelData(path: String)
    /// Native pixel data shorter than Rows x Columns x Samples x Frames x Bits Allocated say.
    case pixelDataTooShort(path: String, expected: Int, actual: Int)
    /// Rows, Columns or Number of Frames is zero.
    case zeroDimension(path: String, tag: DicomTag)
    /// Image dimensions no real image has: a negative Number of Frames, or a frame whose decoded
    /// RGB would exceed `DicomFile.maximumDecodedFrameBytes` (a damaged or hostile header).
    case implausibleDimensions(path: String, detail: String)
    /// Compressed in a transfer syntax DCMTK cannot decode (JPEG 2000, ...).
    case unsupportedTransferSyntax(path: String, uid: String, name: String)
    /// A frame index past the last frame.
    case frameOutOfRange(path: String, frame: Int, frameCount: Int)
    /// DCMTK failed while decoding a frame.
    case decodeFailed(path: String, frame: Int, detail: String)
    /// The file cannot be opened or parsed for another reason.
    case unreadable(path: String, detail: String)

    /// A short stable name for the kind of problem (used to count problems by kind).
    public var kind: String {
        switch self {
        case .notDICOM: return "not_dicom"
        case .truncated: return "truncated"
        case .noPixelData: return "no_pixel_data"
        case .pixelDataTooShort: return "pixel_data_too_short"
        case .zeroDimension: return "zero_dimension"
        case .implausibleDimensions: return "implausible_dimensions"
        case .unsupportedTransferSyntax: return "unsupported_transfer_syntax"
        case .frameOutOfRange: return "frame_out_of_range"
        case .decodeFailed: return "decode_failed"
        case .unreadable: return "unreadable"
        }
    }

    public var path: String {
        switch self {
        case let .notDICOM(path), let .truncated(path, _), let .noPixelData(path),
             let .pixelDataTooShort(path, _, _), let .zeroDimension(path, _), let .implausibleDimensions(path, _),
             let .unsupportedTransferSyntax(path, _, _), let .frameOutOfRange(path, _, _),
             let .decodeFailed(path, _, _), let .unreadable(path, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case let .notDICOM(path):
            return "\(path): not a DICOM file (detected by content); skip it or check the export"
        case let .truncated(path, detail):
            return "\(path): the file is truncated (\(detail)); copy it again from the source"
        case let .noPixelData(path):
            return "\(path): no Pixel Data \(DicomTag.pixelData); this object has no image to decode"
        case let .pixelDataTooShort(path, expected, actual):
            return "\(path): Pixel Data \(DicomTag.pixelData) holds \(actual) bytes but Rows x Columns x stored samples per pixel (2 for YBR_FULL_422 and YBR_PARTIAL_422, else Samples per Pixel) x Frames x Bits Allocated / 8 need \(expected); the file is damaged"
        case let .zeroDimension(path, tag):
            return "\(path): \(tag) is zero; the image has no pixels"
        case let .implausibleDimensions(path, detail):
            return "\(path): \(detail); the header is damaged, the file is not decoded"
        case let .unsupportedTransferSyntax(path, uid, name):
            return "\(path): transfer syntax \(name) (\(uid)) cannot be decoded by DCMTK; convert the file to an uncompressed or JPEG syntax first (e.g. with a PACS export option)"
        case let .frameOutOfRange(path, frame, count):
            return "\(path): frame \(frame) requested but the file has \(count) frame(s), numbered 0..\(max(0, count - 1))"
        case let .decodeFailed(path, frame, detail):
            return "\(path): frame \(frame) could not be decoded: \(detail)"
        case let .unreadable(path, detail):
            return "\(path): cannot read: \(detail)"
        }
    }
}
