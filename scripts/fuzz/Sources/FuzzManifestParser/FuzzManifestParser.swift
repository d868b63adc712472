import Foundation
import Manifest

/// One libFuzzer input: a label manifest as `sonokit manifest validate/split` and `train` read it.
/// The first byte chooses the options a user may give (bit 0: classes declared on the command
/// line, else only a `# classes:` comment can declare them; bits 1-2: the delimiter given, or
/// detected from the header); the rest is the file. Any thrown `ManifestError` is a correct
/// answer; a crash, hang or memory error is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifestParser(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let options = bytes[0]
    let data = Data(bytes: bytes + 1, count: count - 1)
    let classes = options & 1 == 1 ? try? ClassDeclaration(classes: ["benign", "malignant"], positive: "malignant") : nil
    let delimiters: [ManifestDelimiter?] = [nil, .comma, .semicolon, .tab]
    let delimiter = delimiters[Int(options >> 1) & 3]
    _ = try? ManifestParser.parse(data: data, file: "fuzz.csv", directory: "/fuzz", delimiter: delimiter, classes: classes)
    return 0
}
