import Catalog
import DICOM
import Foundation
import Imaging
import Preprocess
import Reports
import SonoKitCore

/// `preview`: the pictures to check preprocessing by eye. For every selected frame of every image
/// instance: the decoded frame with its crop box, the network input (de-normalised), a contact
/// sheet per study and preview.json. Folder and file names are pseudonymous (hashes of the UIDs).
/// Every file is written through `AtomicFile`; the temporaries a killed preview left in the output
/// folder or the frame cache are removed by the next one (`StaleTemporaries`' rules).
public struct PreviewWorkflow {
    public struct Options: Sendable {
        /// DICOM files or folders of them.
        public var inputs: [String]
        /// Output folder (created).
        public var output: String
        public var config: PreprocessConfig
        /// Folder of the on-disk cache of preprocessed frames, and its bound.
        public var frameCache: String?
        public var frameCacheLimitMiB = 2048

        public init(inputs: [String], output: String, config: PreprocessConfig) {
            self.inputs = inputs
            self.output = output
            self.config = config
        }
    }

    public struct Result: Sendable {
        public var frames: Int
        /// Image instances previewed.
        public var instances: Int
        public var studies: Int
        /// Files that are not images or could not be read or preprocessed.
        public var skipped: Int
        public var folder: URL
    }

    public let options: Options
    public let events: WorkflowEvents

    public init(_ options: Options, events: WorkflowEvents = .silent) {
        self.options = options
        self.events = events
    }

    public func run() throws -> Result {
        let config = options.config
        let files = try ExportWalker.files(under: options.inputs).map(\.path).filter(DicomFile.looksLikeDICOM(path:))
        guard !files.isEmpty else { throw WorkflowError.invalidInput("no DICOM files under \(options.inputs.joined(separator: ", "))") }
        let root = URL(fileURLWithPath: options.output)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        events.removeStaleTemporaries(in: root.path)
        let cache = options.frameCache.map {
            FrameCache(directory: URL(fileURLWithPath: $0, isDirectory: true), maxBytes: Int64(options.frameCacheLimitMiB) << 20)
        }
        if let cache { events.removeStaleTemporaries(of: cache) }
        let preprocessor = FramePreprocessor(config: config, cache: cache)
        var studies: [String: StudyPreview] = [:]
        var frameCount = 0, skipped = 0
        for path in files {
            let file: DicomFile
            do { file = try DicomFile(path: path) } catch { events.warning("skipped: \(error)"); skipped += 1; continue }
            guard file.metadata.isImage, !file.isDICOMDIR else { skipped += 1; continue }
            let source = MemoizedFrames(file)
            let result: PreprocessedInstance
            do { result = try preprocessor.process(source) } catch { events.warning("skipped: \(error)"); skipped += 1; continue }
            for warning in result.crop?.warnings ?? [] where CropPlanner.isUntrustedRegionWarning(warning) {
                events.warning("\(path): \(warning)")
            }
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
            try AtomicFile.write(try encoder.encode(study), to: folder.appendingPathComponent("preview.json"))
        }
        return Result(frames: frameCount, instances: files.count - skipped, studies: studies.count, skipped: skipped, folder: root)
    }
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
