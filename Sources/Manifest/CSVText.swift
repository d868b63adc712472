import CSV
import Foundation

/// CSV text written with yaslab/CSV.swift's `CSVWriter` (quotes fields holding the delimiter,
/// quotes or line breaks), LF line ends, UTF-8 without byte-order mark, optional `#` comment lines
/// first (which ``ManifestParser`` and ``SplitsFile`` skip).
enum CSVText {
    static func make(comments: [String] = [], header: [String], rows: [[String]]) throws -> Data {
        let stream = OutputStream(toMemory: ())
        stream.open()
        let writer = try CSVWriter(stream: stream)
        try writer.write(row: header)
        for row in rows { try writer.write(row: row) }
        stream.close()
        guard let body = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data else {
            throw CocoaError(.fileWriteUnknown)
        }
        var data = Data(comments.map { "# \($0)\n" }.joined().utf8)
        data.append(body)
        data.append(contentsOf: [0x0A])
        return data
    }
}
