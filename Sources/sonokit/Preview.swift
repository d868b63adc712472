import ArgumentParser
import Catalog
import DICOM
import Foundation
import Reports
import SonoKitCore
import Imaging
import Preprocess

/// `sonokit preview`: the pictures to check preprocessing by eye.
struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Write PNGs of each selected frame with its crop box and of the network input, plus a contact sheet per study.",
        discussion: """
        For every selected frame of every image instance under INPUT (files or folders):
          <study>/<instance>-f<frame>-source.png  the decoded frame with the crop box drawn
                                                  (green: DICOM tissue regions, orange: found
                                                  from the pixels, grey: no crop)
          <study>/<instance>-f<frame>-input.png   the SIZE x SIZE input exactly as the network
                                                  sees it, de-normalised for display
          <study>/contact-sheet.png               source thumbnail and input of every frame
          <study>/preview.json                    crop box and source, frames, warnings, config hash
        Folder and file names are pseudonymous (hashes of the Study and SOP Instance UIDs): no
        patient name or ID appears in them.

        Examples:
          sonokit preview SampleStudies -o preview/
          sonokit preview study/IM0001 -o preview/ --frames all --crop auto --aspect crop
        """
    )

    @Argument(help: "DICOM files or folders of them.") var inputs: [String]
    @Option(name: .shortAndLong, help: "Output folder (created).") var output: String
    @OptionGroup var preprocess: PreprocessOptions

    func run() throws {
        let config = try preprocess.config()
        let files = try ExportWalker.files(under: inputs).map(\.path).filter(DicomFile.looksLikeDICOM(path:))
        guard !files.isEmpty else { throw ValidationError("no DICOM files under \(inputs.joined(separator: ", "))") }
        let root = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let preprocessor = try preprocess.preprocessor()
        var studies: [String: StudyPreview] = [:]
        var frameCount = 0, skipped = 0
        for path in files {
            let file: DicomFile
            do { file = try DicomFile(path: path) } catch { printError("skipped: \(error)"); skipped += 1; continue }
            guard file.metadata.isImage, !file.isDICOMDIR else { skipped += 1; continue }
            let source = MemoizedFrames(file)
            let result: PreprocessedInstance
            do { result = try preprocessor.process(source) } catch { printError("skipped: \(error)"); skipped += 1; continue }
            let studyName = "study-" + Pseudonym.unkeyed(file.metadata.studyInstanceUID)
            let instanceName = "inst-" + Pseudonym.unkeyed(file.metadata.sopInstanceUID)
            let folder = root.appendingPathComponent(studyName)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var study = studies[studyName] ?? StudyPreview(study: studyName, config: config, configHash: config.hash, instances: [], tiles: [])
            var record = InstanceRecord(instance: instanceName, frames: result.selection.indices, crop: result.crop,
                                        decode: result.frames.first?.decode, warnings: result.warnings, pngs: [])
            for frame in result.frames {
                let decoded = try source.decodeRGB(frame: frame.frameIndex, window: config.window)
                let boxed = PreviewPictures.drawing(frame.crop.box, on: decoded, colour: PreviewPictures.colour(of: frame.crop.source))
                let shown = config.normalize.denormalize(preprocessor.tensor(frame), width: config.size, height: config.size)
                let stem = "\(instanceName)-f\(String(format: "%03d", frame.frameIndex))"
                try PNGFile.write(boxed, to: folder.appendingPathComponent(stem + "-source.png").path)
                try PNGFile.write(shown, to: folder.appendingPathComponent(stem + "-input.png").path)
                record.pngs.append(stem)
                study.tiles.append(PreviewPictures.pair(PreviewPictures.thumbnail(boxed, side: config.size), shown))
                frameCount += 1
            }
            study.instances.append(record)
            studies[studyName] = study
        }
        for (name, study) in studies.sorted(by: { $0.key < $1.key }) {
            let folder = root.appendingPathComponent(name)
            if !study.tiles.isEmpty {
                try PNGFile.write(PreviewPictures.sheet(study.tiles, columns: 3), to: folder.appendingPathComponent("contact-sheet.png").path)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(study).write(to: folder.appendingPathComponent("preview.json"), options: .atomic)
        }
        print("preview: \(frameCount) frames of \(files.count - skipped) instances in \(studies.count) studies -> \(root.path)"
              + (skipped > 0 ? " (\(skipped) files not images or unreadable)" : ""))
        print("preprocessing \(config.shortHash): \(config.canonicalJSON)")
    }

    private func printError(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}

/// What preview.json records for each study.
private struct StudyPreview: Encodable {
    let study: String
    let config: PreprocessConfig
    let configHash: String
    var instances: [InstanceRecord]
    var tiles: [RGBImage]
    enum CodingKeys: String, CodingKey { case study, config, configHash = "config_hash", instances }
}

private struct InstanceRecord: Encodable {
    let instance: String
    let frames: [Int]
    let crop: CropDecision?
    /// The reader's colour/VOI decisions (of the first selected frame).
    let decode: DecodeRecord?
    let warnings: [String]
    var pngs: [String]
}
