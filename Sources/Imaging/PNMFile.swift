import Foundation

/// Reading binary PNM files (P5 grey, P6 colour, 8-bit), the default output of DCMTK's `dcm2pnm`,
/// which the tests use as the reference decoder.
public enum PNMFile {
    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): not a binary 8-bit PNM file: \(reason)" }
    }

    /// Reads a P5 or P6 file with maxval 255; grey is replicated to three channels.
    public static func read(_ path: String) throws -> RGBImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(path: path, reason: "cannot open")
        }
        let bytes = [UInt8](data)
        var index = 0
        func token() throws -> String {
            // Skip whitespace and comments, then read one token.
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "#") {
                    while index < bytes.count, bytes[index] != 10 { index += 1 }
                } else if bytes[index] == 32 || (9...13).contains(bytes[index]) {
                    index += 1
                } else { break }
            }
            let start = index
            while index < bytes.count, !(bytes[index] == 32 || (9...13).contains(bytes[index])) { index += 1 }
            guard index > start else { throw Failure(path: path, reason: "header ends early") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        let magic = try token()
        guard magic == "P5" || magic == "P6" else { throw Failure(path: path, reason: "magic \(magic)") }
        guard let width = Int(try token()), let height = Int(try token()), let maxval = Int(try token()) else {
            throw Failure(path: path, reason: "bad header numbers")
        }
        guard maxval == 255 else { throw Failure(path: path, reason: "maxval \(maxval), expected 255") }
        index += 1  // the single whitespace after maxval
        let channels = magic == "P6" ? 3 : 1
        let count = width * height * channels
        guard bytes.count - index >= count else { throw Failure(path: path, reason: "pixel data short") }
        let samples = Array(bytes[index..<(index + count)])
        if channels == 3 { return RGBImage(width: width, height: height, pixels: samples) }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            rgb[3 * i] = samples[i]; rgb[3 * i + 1] = samples[i]; rgb[3 * i + 2] = samples[i]
        }
        return RGBImage(width: width, height: height, pixels: rgb)
    }
}
