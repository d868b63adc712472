import CDCMTK
import Foundation
import SonoKitCore

/// A DICOM object as attributes (DCMTK attribute paths and string values) plus native pixel
/// data, written through DCMTK (`sk_write_object`, Sources/CDCMTK/Writer.cpp): the encodings are
/// DCMTK's own codecs in-process, the file is written to a temporary name and renamed
/// (AtomicFile), so a reader never sees half a file.
public struct DicomObject: Sendable {
    /// (path, value): "Rows" = "480", "SequenceOfUltrasoundRegions[0].PhysicalDeltaX" = "0.01";
    /// a sequence path with an empty value is an empty sequence; multiple values joined by "\".
    public var attributes: [(path: String, value: String)] = []
    /// Native pixel data: 8-bit samples, or 16-bit samples as host-order UInt16 (bitsAllocated 16).
    public var pixels8: [UInt8] = []
    public var pixels16: [UInt16] = []
    public var bitsAllocated = 8
    public var rows = 0, columns = 0, frames = 0
    public var encoding: Encoding = .explicitLE

    public init() {}

    public mutating func set(_ path: String, _ value: String) { attributes.append((path, value)) }
    public mutating func set(_ path: String, _ value: Int) { attributes.append((path, String(value))) }
    public mutating func set(_ path: String, _ values: [String]) { attributes.append((path, values.joined(separator: "\\"))) }

    /// Writes the object at `url` (replacing it atomically).
    public func write(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = AtomicFile.temporaryURL(for: url)
        var error = SKError()
        let ok: Int32 = withCStrings(attributes.flatMap { [$0.path, $0.value] }) { strings in
            var list: [SKWriteAttribute] = []
            list.reserveCapacity(attributes.count)
            for i in 0..<attributes.count { list.append(SKWriteAttribute(path: strings[2 * i], value: strings[2 * i + 1])) }
            return list.withUnsafeBufferPointer { attributeBuffer in
                func call(_ pixels: UnsafeRawPointer?, _ length: Int) -> Int32 {
                    var object = SKWriteObject(attributes: attributeBuffer.baseAddress, attribute_count: attributeBuffer.count,
                                               pixel_data: pixels, pixel_data_length: length, bits_allocated: Int32(bitsAllocated),
                                               rows: Int32(rows), columns: Int32(columns), frames: Int32(frames),
                                               encoding: SKEncoding(rawValue: encoding.code))
                    return sk_write_object(&object, temporary.path, &error)
                }
                if bitsAllocated == 16 {
                    return pixels16.withUnsafeBytes { call($0.isEmpty ? nil : $0.baseAddress, $0.count) }
                }
                return pixels8.withUnsafeBytes { call($0.isEmpty ? nil : $0.baseAddress, $0.count) }
            }
        }
        guard ok == 1 else {
            try? FileManager.default.removeItem(at: temporary)
            throw SynthesisError.write(path: url.path, reason: Self.message(error))
        }
        do { try AtomicFile.replace(url, with: temporary) } catch let failure as AtomicFile.WriteError {
            throw SynthesisError.write(path: url.path, reason: failure.reason)
        }
    }

    static func message(_ error: SKError) -> String {
        var copy = error.message
        return withUnsafeBytes(of: &copy) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

extension Encoding {
    /// The SKEncoding value of the C surface.
    var code: UInt32 {
        switch self {
        case .explicitLE: return SK_ENCODE_EXPLICIT_LE.rawValue
        case .implicitLE: return SK_ENCODE_IMPLICIT_LE.rawValue
        case .bigEndian: return SK_ENCODE_BIG_ENDIAN.rawValue
        case .deflate: return SK_ENCODE_DEFLATE.rawValue
        case .jpegBaseline: return SK_ENCODE_JPEG_BASELINE.rawValue
        case .jpegBaselineRGB: return SK_ENCODE_JPEG_BASELINE_RGB.rawValue
        case .jpegBaseline444: return SK_ENCODE_JPEG_BASELINE_444.rawValue
        case .jpegExtended: return SK_ENCODE_JPEG_EXTENDED.rawValue
        case .jpegLossless: return SK_ENCODE_JPEG_LOSSLESS.rawValue
        case .jpegLosslessSV1: return SK_ENCODE_JPEG_LOSSLESS_SV1.rawValue
        case .rle: return SK_ENCODE_RLE.rawValue
        case .jpegLSLossless: return SK_ENCODE_JPEG_LS_LOSSLESS.rawValue
        case .jpegLSNearLossless: return SK_ENCODE_JPEG_LS_NEAR_LOSSLESS.rawValue
        case .jfifWrapped: return SK_ENCODE_JFIF_WRAPPED.rawValue
        }
    }
}

/// The DICOMDIR of a file set (`sk_write_dicomdir`): general purpose profile, transfer-syntax
/// check disabled (`dcmmkdir -Nxc`; real exports carry JPEG in such file sets), missing type 1
/// values invented (`+I`), the media UID given (deterministic), written atomically.
public enum DicomDirectoryWriter {
    public static func write(to url: URL, root: URL, fileSetID: String, mediaUID: String, files: [String]) throws {
        let temporary = AtomicFile.temporaryURL(for: url)
        var error = SKError()
        let ok = withCStrings(files) { pointers -> Int32 in
            let list: [UnsafePointer<CChar>?] = pointers.map { UnsafePointer($0) }
            return list.withUnsafeBufferPointer { sk_write_dicomdir(temporary.path, root.path, fileSetID, mediaUID, $0.baseAddress, $0.count, &error) }
        }
        guard ok == 1 else {
            try? FileManager.default.removeItem(at: temporary)
            throw SynthesisError.write(path: url.path, reason: DicomObject.message(error))
        }
        do { try AtomicFile.replace(url, with: temporary) } catch let failure as AtomicFile.WriteError {
            throw SynthesisError.write(path: url.path, reason: failure.reason)
        }
    }
}

/// Calls `body` with C copies of `strings` (valid only during the call).
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>]) throws -> R) rethrows -> R {
    let pointers = strings.map { strdup($0)! }
    defer { pointers.forEach { free($0) } }
    return try body(pointers)
}
