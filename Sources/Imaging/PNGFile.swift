import CLibPNG
import Foundation
import SonoKitCore

/// Reading and writing 8-bit RGB PNG files through libpng's simplified API (`png_image`), which
/// needs no setjmp and so is callable from Swift.
public enum PNGFile {
    public enum Failure: Error, CustomStringConvertible {
        case cannotRead(path: String, reason: String)
        case cannotWrite(path: String, reason: String)

        public var description: String {
            switch self {
            case let .cannotRead(path, reason): return "\(path): cannot read PNG: \(reason)"
            case let .cannotWrite(path, reason): return "\(path): cannot write PNG: \(reason)"
            }
        }
    }

    /// Encodes `image` as an RGB PNG in memory.
    public static func encode(_ image: RGBImage) throws -> Data {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = UInt32(PNG_FORMAT_RGB)
        defer { png_image_free(&png) }
        var size: png_alloc_size_t = 0
        let rowStride = Int32(image.width * 3)
        let ok = image.pixels.withUnsafeBufferPointer { px -> Int32 in
            // First call measures, second call writes.
            guard png_image_write_to_memory(&png, nil, &size, 0, px.baseAddress, rowStride, nil) != 0 else { return 0 }
            return 1
        }
        guard ok != 0, size > 0 else { throw Failure.cannotWrite(path: "<memory>", reason: message(of: png)) }
        var data = Data(count: Int(size))
        let written = data.withUnsafeMutableBytes { out in
            image.pixels.withUnsafeBufferPointer { px in
                png_image_write_to_memory(&png, out.baseAddress, &size, 0, px.baseAddress, rowStride, nil)
            }
        }
        guard written != 0 else { throw Failure.cannotWrite(path: "<memory>", reason: message(of: png)) }
        data.count = Int(size)
        return data
    }

    /// Writes `image` to `path` atomically through SonoKitCore's `AtomicFile` (a temporary file
    /// in the same folder, created with the folder when missing, then a rename): a reader never
    /// sees half a PNG, a killed writer's temporary is one `StaleTemporaries` recognises, and the
    /// rename is a `CrashPoint`.
    public static func write(_ image: RGBImage, to path: String) throws {
        let data: Data
        do { data = try encode(image) } catch { throw Failure.cannotWrite(path: path, reason: "\(error)") }
        do {
            try AtomicFile.write(data, to: URL(fileURLWithPath: path))
        } catch let error as AtomicFile.WriteError {
            throw Failure.cannotWrite(path: path, reason: error.reason)
        }
    }

    /// Reads any PNG (gray, palette, 16-bit, alpha) converted by libpng to 8-bit RGB.
    public static func read(_ path: String) throws -> RGBImage {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&png) }
        guard png_image_begin_read_from_file(&png, path) != 0 else {
            throw Failure.cannotRead(path: path, reason: message(of: png))
        }
        png.format = UInt32(PNG_FORMAT_RGB)
        let width = Int(png.width), height = Int(png.height)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let ok = pixels.withUnsafeMutableBufferPointer { px in
            png_image_finish_read(&png, nil, px.baseAddress, Int32(width * 3), nil)
        }
        guard ok != 0 else { throw Failure.cannotRead(path: path, reason: message(of: png)) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private static func message(of png: png_image) -> String {
        var m = png.message
        return withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
