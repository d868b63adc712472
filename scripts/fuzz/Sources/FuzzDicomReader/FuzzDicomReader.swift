import DICOM
import Foundation

/// One libFuzzer input: the bytes of a file handed to the reader as `sonokit ingest`, `inspect`,
/// `preview` and `predict` do. `DicomFile` reads from a path, so the bytes go to a file in
/// /dev/shm (memory) first. Everything that reads the file runs: the header and metadata (encoded
/// to JSON, which touches every field, regions included), each region's bounds, then every frame
/// decoded (libjpeg-turbo where it applies), the first one also by DCMTK alone and with an
/// explicit window. Any thrown error is a correct answer; a crash, hang, leak or memory error
/// found by AddressSanitizer is a bug.
private let path: String = {
    let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return (folder as NSString).appendingPathComponent("sonokit-fuzz-dicom-\(getpid()).dcm")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDicomReader(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    guard FileManager.default.createFile(atPath: path, contents: data) else { fatalError("cannot write \(path)") }
    _ = DicomFile.looksLikeDICOM(path: path)
    guard let file = try? DicomFile(path: path) else { return 0 }
    _ = try? JSONEncoder().encode(file.metadata)
    _ = file.isDICOMDIR
    for region in file.metadata.regions {
        _ = region.bounds
        _ = region.dataTypeName
    }
    guard file.metadata.isImage else { return 0 }
    var first: DecodedFrame?
    for index in 0..<file.metadata.numberOfFrames {
        let frame = try? file.decodeFrame(index)
        if index == 0 { first = frame }
    }
    _ = InspectReport(file: file, decodedFrame: first, includeIdentifiers: false)
    file.allowsLibjpegTurbo = false
    _ = try? file.decodeFrame(0)
    _ = try? file.decodeFrame(0, window: VOIWindow(center: 40, width: 400))
    return 0
}
