import Evaluation
import Foundation
import SonoKitCore
import Imaging

/// The folder `sonokit evaluate` writes (RUN_DIR/eval-SPLIT/):
///
/// ```
/// evaluation.json     EvaluationReport (Schemas/evaluation-report.schema.json)
/// studies.csv         one row per study (EvaluationTables.studyColumns)
/// frames.csv          one row per frame (EvaluationTables.frameColumns)
/// evaluation.html     the page (EvaluationHTMLPage), plots inline, thumbnails beside it
/// thumbnails/*.png    the frames the model saw, for the failure cases
/// ```
///
/// Every file is written atomically (a temporary file in the same folder renamed over the
/// destination), pictures first and the page last, so the page never refers to a picture that is
/// not there yet. Thumbnails of an earlier evaluation that the new page no longer shows are removed.
/// File names hold pseudonymous keys only.
public struct EvaluationOutput {
    public var directory: URL
    public var report: EvaluationReport
    public var studies: [AggregatedStudy]
    public var frames: [EvaluationFrameRow]
    public var page: EvaluationPageContent
    /// Thumbnail pictures by the file name given in `page.thumbnails`.
    public var pictures: [String: RGBImage]

    public static let thumbnailFolder = "thumbnails"

    public init(directory: URL, report: EvaluationReport, studies: [AggregatedStudy], frames: [EvaluationFrameRow],
                page: EvaluationPageContent, pictures: [String: RGBImage]) {
        self.directory = directory
        self.report = report
        self.studies = studies
        self.frames = frames
        self.page = page
        self.pictures = pictures
    }

    /// The paths written, relative to `directory`, in writing order.
    @discardableResult
    public func write() throws -> [String] {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(Self.thumbnailFolder), withIntermediateDirectories: true)
        var written: [String] = []
        let referenced = page.thumbnails.values.flatMap { $0 }.map(\.file)
        for file in referenced.sorted() {
            guard let picture = pictures[file] else { throw EvaluationOutputError.missingPicture(file: file) }
            try Self.writeAtomically(try PNGFile.encode(picture), to: directory.appendingPathComponent(file))
            written.append(file)
        }
        try Self.writeAtomically(Data(EvaluationTables.studiesCSV(studies, threshold: report.study.threshold.choice.value, classes: report.classes).utf8),
                                 to: directory.appendingPathComponent("studies.csv"))
        try Self.writeAtomically(Data(EvaluationTables.framesCSV(frames, classes: report.classes).utf8), to: directory.appendingPathComponent("frames.csv"))
        try Self.writeAtomically(try report.jsonData(), to: directory.appendingPathComponent("evaluation.json"))
        try Self.writeAtomically(Data(EvaluationHTMLPage.render(page).utf8), to: directory.appendingPathComponent("evaluation.html"))
        written += ["studies.csv", "frames.csv", "evaluation.json", "evaluation.html"]

        // Stale thumbnails of an earlier evaluation into the same folder.
        let keep = Set(referenced.map { URL(fileURLWithPath: $0).lastPathComponent })
        let folder = directory.appendingPathComponent(Self.thumbnailFolder)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasSuffix(".png") && !keep.contains(name) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        return written
    }

    /// The relative thumbnail path of a frame: keys reduced to `[A-Za-z0-9_-]`, so a file name can
    /// hold nothing but the pseudonymous keys and the frame number.
    public static func thumbnailFile(studyKey: String, instanceKey: String, frameIndex: Int) -> String {
        func clean(_ s: String) -> String {
            String(s.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" || $0 == "_" ? Character($0) : "_" })
        }
        return "\(thumbnailFolder)/\(clean(studyKey))-\(clean(instanceKey))-f\(frameIndex).png"
    }

    /// Writes `data` to a temporary file next to `url`, then renames it over `url`.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        do { try AtomicFile.write(data, to: url) } catch let error as AtomicFile.WriteError {
            throw EvaluationOutputError.cannotWrite(path: url.path, reason: error.reason)
        }
    }
}

public enum EvaluationOutputError: Error, Equatable, CustomStringConvertible {
    case missingPicture(file: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingPicture(let file): return "\(file): the page shows this thumbnail but no picture was given for it"
        case .cannotWrite(let path, let reason): return "\(path): cannot write: \(reason); check the folder's permissions and free space"
        }
    }
}
