import Foundation
import SonoKitCore

/// Reading and writing `.safetensors` files (Hugging Face's format): an 8-byte little-endian
/// header length N, N bytes of JSON `{name: {"dtype", "shape", "data_offsets": [begin, end]},
/// "__metadata__": {string: string}}` (padded with spaces to a multiple of 8), then the raw
/// little-endian tensor bytes. F32 tensors are read and written; U8 tensors (pictures) are read
/// as their float values.
public enum SafeTensors {
    /// The tensors and string metadata of a file; errors name the file and the tensor.
    public static func read(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw CNNError.unreadableWeights(file: file, reason: "\(error.localizedDescription)")
        }
        guard data.count >= 8 else { throw CNNError.unreadableWeights(file: file, reason: "shorter than the 8-byte header length") }
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard n <= UInt64(data.count - 8) else {
            throw CNNError.unreadableWeights(file: file, reason: "header length \(n) exceeds the file size \(data.count) (not a safetensors file?)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw CNNError.unreadableWeights(file: file, reason: "the header is not a JSON object")
        }
        let body = 8 + Int(n)
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw CNNError.unreadableWeights(file: file, reason: "tensor '\(name)': malformed header entry")
            }
            guard dtype == "F32" || dtype == "U8" else { throw CNNError.unsupportedDType(file: file, name: name, dtype: dtype) }
            let count = shape.reduce(1, *)
            let width = dtype == "U8" ? 1 : 4
            guard offsets[1] - offsets[0] == count * width, offsets[0] >= 0, body + offsets[1] <= data.count else {
                throw CNNError.unreadableWeights(file: file, reason: "tensor '\(name)': data_offsets \(offsets) do not fit shape \(shape) or the file size")
            }
            if dtype == "U8" {
                tensors[name] = Tensor(shape: shape, scalars: data[(body + offsets[0])..<(body + offsets[1])].map { Float($0) })
                continue
            }
            var scalars = [Float](repeating: 0, count: count)
            scalars.withUnsafeMutableBytes { dst in
                data.copyBytes(to: dst, from: (body + offsets[0])..<(body + offsets[1]))
            }
            if UInt32(littleEndian: 1) != 1 { scalars = scalars.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) } }
            tensors[name] = Tensor(shape: shape, scalars: scalars)
        }
        return (tensors, metadata)
    }

    /// The file's bytes for `tensors` (names sorted, so the same tensors give the same bytes).
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]] as [String: Any]
            offset += t.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            tensors[name]!.scalars.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Writes atomically through SonoKitCore's `AtomicFile` (a temporary file in the same folder,
    /// created when missing, then a rename that is a `CrashPoint`): a reader sees the old file or
    /// the new one, and a killed writer's temporary is one `StaleTemporaries` recognises.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        do {
            try AtomicFile.write(try encode(tensors, metadata: metadata), to: url)
        } catch let error as CNNError {
            throw error
        } catch let error as AtomicFile.WriteError {
            throw CNNError.writeFailed(file: url.path, reason: error.reason)
        } catch {
            throw CNNError.writeFailed(file: url.path, reason: error.localizedDescription)
        }
    }
}
