import DICOM
import Foundation

/// The header of a file as DCMTK's `dcmdump -Un +L` printed it: top-level elements only
/// (sequence items are indented and skipped), values as text without brackets.
struct DcmdumpReference {
    private var values: [DicomTag: String] = [:]

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"^\(([0-9a-f]{4}),([0-9a-f]{4})\) [A-Z]{2} (.*?)\s+#"#)
        for line in text.split(separator: "\n") where line.hasPrefix("(") {
            let s = String(line)
            guard let m = pattern.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)),
                  let g = Range(m.range(at: 1), in: s), let e = Range(m.range(at: 2), in: s),
                  let v = Range(m.range(at: 3), in: s),
                  let group = UInt16(s[g], radix: 16), let element = UInt16(s[e], radix: 16) else { continue }
            var value = String(s[v])
            if value.hasPrefix("[") && value.hasSuffix("]") { value = String(value.dropFirst().dropLast()) }
            values[DicomTag(group, element)] = value
        }
    }

    func string(_ tag: DicomTag) -> String? { values[tag] }
    func int(_ tag: DicomTag) -> Int? { values[tag].flatMap { Int($0) } }
    func doubles(_ tag: DicomTag) -> [Double] {
        values[tag].map { $0.split(separator: "\\").compactMap { Double($0) } } ?? []
    }
}
