import Evaluation
import Foundation
import Imaging

/// The folder `sonokit evaluate` writes for a multi-class run (RUN_DIR/eval-SPLIT/), the same
/// files as the binary `EvaluationOutput`:
///
/// ```
/// evaluation.json     MulticlassEvaluationReport (task "multiclass"; Schemas/evaluation-report.schema.json)
/// studies.csv         one row per study: the binary columns, task, one probability column per class (MulticlassEvaluationTables)
/// frames.csv          one row per frame: the binary columns, task, the frame's decision, one probability column per class
/// evaluation.html     the page (MulticlassEvaluationHTMLPage)
/// thumbnails/*.png    the frames the model saw, for the worst confusions
/// ```
///
/// Written atomically, pictures first and the page last; thumbnails of an earlier evaluation that
/// the new page no longer shows are removed. File names hold pseudonymous keys only.
///
/// Wiring (EvaluateWorkflow): pick each worst confusion's frames with `thumbnailFrames`, preprocess
/// `frame.frame.path` as for the binary failure cases, name the picture
/// `EvaluationOutput.thumbnailFile(studyKey:instanceKey:frameIndex:)`, and give
/// `EvaluationThumbnail(file:instanceKey:frameIndex:probability:)` with the frame's probability of
/// the wrongly predicted class.
public struct MulticlassEvaluationOutput {
    public var page: MulticlassPageContent
    /// Thumbnail pictures by the file name given in `page.thumbnails`.
    public var pictures: [String: RGBImage]

    public init(page: MulticlassPageContent, pictures: [String: RGBImage] = [:]) {
        self.page = page
        self.pictures = pictures
    }

    /// Writes the folder for `evaluation` with these thumbnails; returns the paths written,
    /// relative to `directory`, in writing order.
    @discardableResult
    public static func write(_ evaluation: MulticlassEvaluation, thumbnails: [String: [EvaluationThumbnail]] = [:],
                             pictures: [String: RGBImage] = [:], to directory: URL) throws -> [String] {
        try MulticlassEvaluationOutput(page: MulticlassPageContent(evaluation: evaluation, thumbnails: thumbnails), pictures: pictures)
            .write(to: directory)
    }

    @discardableResult
    public func write(to directory: URL) throws -> [String] {
        let evaluation = page.evaluation
        let classes = evaluation.report.classes
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(EvaluationOutput.thumbnailFolder),
                                                withIntermediateDirectories: true)
        var written: [String] = []
        let referenced = page.thumbnails.values.flatMap { $0 }.map(\.file)
        for file in referenced.sorted() {
            guard let picture = pictures[file] else { throw EvaluationOutputError.missingPicture(file: file) }
            try EvaluationOutput.writeAtomically(try PNGFile.encode(picture), to: directory.appendingPathComponent(file))
            written.append(file)
        }
        try EvaluationOutput.writeAtomically(Data(MulticlassEvaluationTables.studiesCSV(evaluation.studies, classes: classes,
                                                                                           decision: evaluation.report.study.decision).utf8),
                                             to: directory.appendingPathComponent("studies.csv"))
        try EvaluationOutput.writeAtomically(Data(MulticlassEvaluationTables.framesCSV(evaluation.frames, classes: classes,
                                                                                          decision: evaluation.report.frame?.decision ?? .argmax).utf8),
                                             to: directory.appendingPathComponent("frames.csv"))
        try EvaluationOutput.writeAtomically(try evaluation.report.jsonData(), to: directory.appendingPathComponent("evaluation.json"))
        try EvaluationOutput.writeAtomically(Data(MulticlassEvaluationHTMLPage.render(page).utf8),
                                             to: directory.appendingPathComponent("evaluation.html"))
        written += ["studies.csv", "frames.csv", "evaluation.json", "evaluation.html"]

        let keep = Set(referenced.map { URL(fileURLWithPath: $0).lastPathComponent })
        let folder = directory.appendingPathComponent(EvaluationOutput.thumbnailFolder)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasSuffix(".png") && !keep.contains(name) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        return written
    }

    /// The frames to show for a worst confusion: the study's frames with the highest probability of
    /// the wrongly predicted class first (ties by instance key and frame index), at most `perCase`.
    public static func thumbnailFrames(for confusion: WorstConfusion, frames: [MulticlassFrame], classes: [String],
                                       perCase: Int = 4) -> [MulticlassFrame] {
        guard let k = classes.firstIndex(of: confusion.predictedClass) else { return [] }
        return frames.filter { $0.studyKey == confusion.studyKey && $0.probabilities.count > k }
            .sorted {
                ($0.probabilities[k], $1.frame.instanceKey, $1.frame.frameIndex) > ($1.probabilities[k], $0.frame.instanceKey, $0.frame.frameIndex)
            }
            .prefix(max(0, perCase)).map { $0 }
    }
}
