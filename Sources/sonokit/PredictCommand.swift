import ArgumentParser
import Catalog
import DICOM
import Evaluation
import Foundation
import Imaging
import Preprocess
import Reports
import Training

/// `sonokit predict`: one report per study from a trained run.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a trained model on DICOM studies and write one report per study (JSON, CSV; HTML and DICOM SR on request).",
        discussion: """
        INPUT is DICOM files, folders of them, or a catalog (.sqlite made by `sonokit ingest`). Instances
        are grouped into studies by StudyInstanceUID. Each frame is preprocessed exactly as the model
        card says (options that would change that are refused), scored, and the frame probabilities
        are aggregated by the card's rule and labelled at the card's threshold.

        Outputs in OUT_DIR:
          <study key>.json     the report (Schemas/prediction-report.schema.json)
          predictions.csv      one row per study, reported or failed, fixed columns
          unreadable-files.csv files that could not be opened (file key and reason)
          html/                with --html: index.html and a page per study with every frame used,
                               its crop, its probability and a Grad-CAM heat map
          sr/<study key>.dcm   with --sr: DICOM Comprehensive 3D SR (TID 1500), UNVERIFIED
          .sonokit-key-secret  the secret of the pseudonymous keys of this folder (keep it private)

        Study keys are the catalog's keys when the input is a catalog, else HMAC-SHA256 of the
        StudyInstanceUID with the folder's secret. No patient name, ID or birth date appears in any
        output, file name or message unless --include-identifiers is given (then the JSON carries
        them and the SR copies the source's patient and study modules).

        Examples:
          sonokit predict runs/exp1 new-studies/ -o reports/
          sonokit predict runs/exp1 work/catalog.sqlite -o reports/ --html --sr
        """
    )

    @Argument(help: ArgumentHelp("The run folder written by `sonokit train`.", valueName: "run-dir")) var runDirectory: String
    @Argument(help: ArgumentHelp("DICOM files, folders, or a catalog (.sqlite).", valueName: "input")) var inputs: [String]
    @Option(name: .shortAndLong, help: "Output folder (created).") var output: String
    @Flag(help: "Also write HTML pages with the frames, their crops and Grad-CAM heat maps.") var html = false
    @Flag(help: "Also write a DICOM Structured Report per study.") var sr = false
    @Flag(help: "Put patient identifiers and UIDs into the outputs (default: pseudonymous keys only).") var includeIdentifiers = false
    @Option(help: ArgumentHelp("Folder of the on-disk cache of preprocessed frames (does not change results).", valueName: "dir"))
    var frameCache: String?

    // Preprocessing belongs to the model card. These options exist only to refuse a value that
    // differs from the card with a sentence, instead of ArgumentParser's "unknown option".
    @Option(help: .hidden) var frames: String?
    @Option(help: .hidden) var crop: String?
    @Option(help: .hidden) var window: String?
    @Option(help: .hidden) var aspect: String?
    @Option(help: .hidden) var interpolation: String?
    @Option(help: .hidden) var normalize: String?
    @Option(help: .hidden) var size: Int?

    func run() throws {
        let started = Date()
        let trained: TrainedRun
        do { trained = try TrainedRun(directory: runDirectory) } catch { throw CommandFailure("\(error)") }
        try refusePreprocessingChanges(card: trained.card)
        // The HTML pages need each frame's preprocessed picture again (for Grad-CAM): a frame
        // cache, temporary unless one was given, spares preprocessing every frame twice.
        var temporaryCache: URL? = nil
        if frameCache == nil && html {
            temporaryCache = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-predict-frames-\(UUID().uuidString)")
        }
        defer { if let temporaryCache { try? FileManager.default.removeItem(at: temporaryCache) } }
        if let folder = frameCache.map({ URL(fileURLWithPath: $0, isDirectory: true) }) ?? temporaryCache {
            trained.frameCache = FrameCache(directory: folder, maxBytes: 2048 << 20)
        }
        guard let threshold = trained.card.threshold else {
            throw CommandFailure("\(runDirectory)/model-card.json has no threshold: the run did not fit one on a validation split; retrain with a validation split")
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let secret = try PredictionKeys.secret(inOutputFolder: output)

        // 1. The instances, grouped by study (inputs sorted by study so progress counts studies).
        var collected = try PredictionInputs.collect(inputs, secret: secret)
        let keys = PredictionKeys(secret: secret, catalogStudyKeys: collected.catalogStudyKeys)
        collected.instances.sort { ($0.studyInstanceUID, $0.path) < ($1.studyInstanceUID, $1.path) }
        guard !collected.instances.isEmpty else {
            throw CommandFailure("no DICOM image instances under \(includeIdentifiers ? inputs.joined(separator: ", ") : "the inputs")"
                                 + (collected.unreadable.isEmpty ? "" : " (\(collected.unreadable.count) unreadable files, see \(output)/unreadable-files.csv)"))
        }
        try writeUnreadable(collected.unreadable, keys: keys)
        let studyOrder = collected.instances.map(\.studyInstanceUID)
        let studiesDoneAfter = Self.studiesCompleted(after: studyOrder)
        let studyCount = Set(studyOrder).count

        // 2. The network on every frame (decode + preprocess on all cores, a chunk ahead).
        let progress = ProgressLine("predict")
        let inferenceInputs = collected.instances.map {
            InferenceInput(path: $0.path, sopInstanceUID: $0.sopInstanceUID, studyKey: keys.studyKey($0.studyInstanceUID), patientKey: "")
        }
        let inference = try trained.predict(instances: inferenceInputs) { done, _ in
            progress.update(done: studiesDoneAfter[done], total: studyCount, elapsed: Date().timeIntervalSince(started), unit: "studies")
        }
        progress.finish()

        // 3. Reports.
        let pathToUID = Dictionary(collected.instances.map { ($0.path, $0.sopInstanceUID) }, uniquingKeysWith: { a, _ in a })
        var failures: [String: [String]] = [:]
        for f in inference.failures {
            guard let uid = pathToUID[f.path] else { continue }
            failures[uid, default: []].append(PredictionInputs.scrub(f.reason, path: f.path, key: keys.instanceKey(uid), keep: includeIdentifiers))
        }
        let frames = inference.frames.map {
            PredictedFrame(sopInstanceUID: $0.sopInstanceUID, frameIndex: $0.frameIndex, probability: $0.probability,
                           crop: $0.crop, decode: $0.decode, warnings: $0.warnings)
        }
        let card = trained.card
        let model = PredictionModel(
            modelID: card.modelID, architecture: card.architecture, weightsSHA256: card.weightsSHA256, weightsOrigin: card.weightsOrigin,
            classes: card.classes, positiveClass: card.positiveClass,
            deviceUID: PredictionModel.deviceUID(modelID: card.modelID, weightsSHA256: card.weightsSHA256),
            preprocessingHash: card.preprocessHash, softwareVersions: card.softwareVersions, createdAt: card.createdAt)
        let rule = PredictionDecisionRule(aggregation: card.aggregation, threshold: threshold,
                                          thresholdSource: Self.thresholdSource(threshold))
        let builder = PredictionReportBuilder(model: model, rule: rule, keys: keys, includeIdentifiers: includeIdentifiers)
        let instancesByStudy = Dictionary(grouping: collected.instances, by: \.studyInstanceUID)
        let (reports, failed) = try builder.build(instances: collected.instances, frames: frames, failures: failures) { studyUID in
            guard let first = instancesByStudy[studyUID]?.first, let file = try? DicomFile(path: first.path) else { return nil }
            return PredictionStudyIdentifiers(patient: file.identifiers, accessionNumber: file.metadata.accessionNumber)
        }
        for report in reports {
            try PredictionFiles.write(report.jsonData(), to: path("\(report.studyKey).json"))
        }
        try PredictionFiles.write(PredictionCSV.text(reports: reports, failed: failed), to: path("predictions.csv"))

        // 4. HTML and SR.
        let framesByInstance = Dictionary(grouping: inference.frames, by: \.sopInstanceUID)
        let studyUIDByKey = Dictionary(instancesByStudy.keys.map { (keys.studyKey($0), $0) }, uniquingKeysWith: { a, _ in a })
        if html {
            for report in reports {
                let members = instancesByStudy[studyUIDByKey[report.studyKey]!]!
                let pictures = try Self.pictures(of: members, frames: framesByInstance, run: trained, keys: keys)
                try PredictionHTML.writeStudyPage(report, pictures: pictures, outputFolder: output)
            }
            try PredictionHTML.writeIndex(reports: reports, failed: failed, outputFolder: output)
        }
        if sr {
            for report in reports {
                let members = instancesByStudy[studyUIDByKey[report.studyKey]!]!.filter { framesByInstance[$0.sopInstanceUID] != nil }
                let used = members.reduce(into: [String: [Int]]()) { $0[$1.sopInstanceUID] = framesByInstance[$1.sopInstanceUID]!.map(\.frameIndex).sorted() }
                let document = StudyReportSR.document(for: report, instances: members, framesUsed: used,
                                                      softwareVersion: SonoKit.configuration.version, includeIdentifiers: includeIdentifiers)
                try StructuredReportWriter.write(document, to: path("sr/\(report.studyKey).dcm"))
            }
        }

        let seconds = Date().timeIntervalSince(started)
        let positives = reports.filter(\.labelIsPositive).count
        print("predict: \(reports.count) studies reported (\(positives) \(card.positiveClass), \(reports.count - positives) \(model.negativeClass)), "
              + "\(failed.count) not reported, \(collected.unreadable.count) unreadable files; \(inference.frames.count) frames "
              + "in \(String(format: "%.1f", seconds)) s (\(String(format: "%.2f", Double(studyCount) / max(seconds, 1e-9))) studies/s)")
        print("model \(card.modelID), threshold \(String(format: "%.4f", threshold.value)) (\(rule.thresholdSource)), aggregation \(card.aggregation)")
        print("reports: \(output)/*.json, \(output)/predictions.csv"
              + (html ? ", \(output)/html/index.html" : "") + (sr ? ", \(output)/sr/*.dcm" : ""))
        for f in failed { warn("not reported: study \(f.studyKey): \(f.reasons.joined(separator: "; "))") }
    }

    private func path(_ name: String) -> String { (output as NSString).appendingPathComponent(name) }

    /// Refuses preprocessing options that differ from the model card's.
    private func refusePreprocessingChanges(card: ModelCard) throws {
        let c = card.preprocess
        func refuse(_ option: String, _ given: String, _ card: String) throws {
            throw ValidationError("--\(option) \(given) would change the model card's preprocessing (\(option) \(card)); "
                                  + "predict always preprocesses as the model was trained. Drop the option.")
        }
        if let frames { let p = try? FramePolicy(parsing: frames); if p != c.frames { try refuse("frames", frames, c.frames.text) } }
        if let crop, CropMode(rawValue: crop) != c.crop { try refuse("crop", crop, c.crop.rawValue) }
        if let aspect, AspectPolicy(rawValue: aspect) != c.aspect { try refuse("aspect", aspect, c.aspect.rawValue) }
        if let interpolation, Interpolation(rawValue: interpolation) != c.interpolation { try refuse("interpolation", interpolation, c.interpolation.rawValue) }
        if let normalize, Normalization(rawValue: normalize) != c.normalize { try refuse("normalize", normalize, c.normalize.rawValue) }
        if let size, size != c.size { try refuse("size", String(size), String(c.size)) }
        if let window {
            let parts = window.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            let given = parts.count == 2 ? VOIWindow(center: parts[0], width: parts[1]) : nil
            if given == nil || given != c.window { try refuse("window", window, c.window.map { "\($0.center),\($0.width)" } ?? "none (the file's own)") }
        }
    }

    private func writeUnreadable(_ unreadable: [(path: String, reason: String)], keys: PredictionKeys) throws {
        var text = "file_key,reason\n"
        for u in unreadable.sorted(by: { $0.path < $1.path }) {
            let key = includeIdentifiers ? u.path : keys.fileKey(u.path)
            text += PredictionCSV.quote(key) + "," + PredictionCSV.quote(PredictionInputs.scrub(u.reason, path: u.path, key: key, keep: includeIdentifiers)) + "\n"
        }
        try PredictionFiles.write(text, to: path("unreadable-files.csv"))
    }

    /// studiesCompleted[k] = number of studies whose instances are all among the first k
    /// (instances sorted by study).
    static func studiesCompleted(after studyOrder: [String]) -> [Int] {
        var out = [Int](repeating: 0, count: studyOrder.count + 1)
        for k in 1...max(studyOrder.count, 1) where k <= studyOrder.count {
            let finished = k == studyOrder.count || studyOrder[k] != studyOrder[k - 1]
            out[k] = out[k - 1] + (finished ? 1 : 0)
        }
        return out
    }

    static func thresholdSource(_ t: ThresholdChoice) -> String {
        guard let f = t.fittedOn else { return "model card: fixed threshold" }
        return "model card: \(t.rule) fitted on the \(f.split) split at \(f.level.rawValue) level"
            + (f.aggregation.map { " (\($0) aggregation)" } ?? "") + ", \(f.samples) samples"
    }

    /// The pictures of a study's frames: source with crop box, network input, Grad-CAM. The
    /// Grad-CAMs of a study are computed one after another before any picture is drawn: the
    /// network's OpenMP threads spin between calls, and interleaving them with PNG encoding on 2
    /// cores doubled the time of `--html`.
    static func pictures(of members: [PredictionInstance], frames: [String: [FrameResult]], run: TrainedRun,
                         keys: PredictionKeys) throws -> [PredictionFramePictures] {
        let pre = run.preprocessor
        var prepared: [(instance: PredictionInstance, source: MemoizedFrames, frame: PreprocessedFrame, probability: Double)] = []
        for instance in members {
            guard let scored = frames[instance.sopInstanceUID], let file = try? DicomFile(path: instance.path) else { continue }
            let source = MemoizedFrames(file)
            guard let processed = try? pre.process(source) else { continue }
            let probability = Dictionary(scored.map { ($0.frameIndex, $0.probability) }, uniquingKeysWith: { a, _ in a })
            for frame in processed.frames {
                if let p = probability[frame.frameIndex] { prepared.append((instance, source, frame, p)) }
            }
        }
        let heatmaps = try prepared.map { try run.gradCAM(of: $0.frame) }
        return try zip(prepared, heatmaps).map { item, heat in
            let decoded = try item.source.decodeRGB(frame: item.frame.frameIndex, window: run.card.preprocess.window)
            let boxed = PreviewPictures.drawing(item.frame.crop.box, on: decoded, colour: PreviewPictures.colour(of: item.frame.crop.source))
            return PredictionFramePictures(instanceKey: keys.instanceKey(item.instance.sopInstanceUID), frameIndex: item.frame.frameIndex,
                                           probability: item.probability, source: boxed, input: item.frame.image, heatmap: heat)
        }
    }
}

/// The instances `predict` runs on, from files, folders and catalogs.
enum PredictionInputs {
    struct Collected {
        var instances: [PredictionInstance] = []
        var unreadable: [(path: String, reason: String)] = []
        var catalogStudyKeys: [String: String] = [:]
    }

    static func isCatalog(_ path: String) -> Bool {
        guard path.hasSuffix(".sqlite") || path.hasSuffix(".db") else { return false }
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && !folder.boolValue
    }

    static func collect(_ inputs: [String], secret: Data) throws -> Collected {
        var out = Collected()
        var seen = Set<String>()
        for input in inputs {
            if isCatalog(input) {
                let catalog: Catalog
                do { catalog = try Catalog(path: input) } catch { throw CommandFailure("\(input): cannot open the catalog: \(error)") }
                for i in try catalog.allInstances() where i.isImage && !seen.contains(i.sopInstanceUID) {
                    seen.insert(i.sopInstanceUID)
                    out.catalogStudyKeys[i.studyInstanceUID] = i.studyKey
                    out.instances.append(PredictionInstance(path: i.path, sopClassUID: i.sopClassUID, sopInstanceUID: i.sopInstanceUID,
                                                            seriesInstanceUID: i.seriesInstanceUID, studyInstanceUID: i.studyInstanceUID,
                                                            modality: i.modality, manufacturer: i.manufacturer))
                }
                continue
            }
            let files: [ExportFile]
            do { files = try ExportWalker.files(under: [input]) } catch { throw CommandFailure("\(error)") }
            for f in files where DicomFile.looksLikeDICOM(path: f.path) {
                do {
                    let file = try DicomFile(path: f.path)
                    let m = file.metadata
                    guard m.isImage, !file.isDICOMDIR, !seen.contains(m.sopInstanceUID) else { continue }
                    seen.insert(m.sopInstanceUID)
                    out.instances.append(PredictionInstance(path: f.path, sopClassUID: m.sopClassUID, sopInstanceUID: m.sopInstanceUID,
                                                            seriesInstanceUID: m.seriesInstanceUID, studyInstanceUID: m.studyInstanceUID,
                                                            modality: m.modality, manufacturer: m.manufacturer))
                } catch {
                    out.unreadable.append((f.path, "\(error)"))
                }
            }
        }
        return out
    }

    /// A failure message without the file's path (paths of exports often hold patient names):
    /// the path is replaced by the key, unless identifiers were asked for.
    static func scrub(_ reason: String, path: String, key: String, keep: Bool) -> String {
        keep ? reason : reason.replacingOccurrences(of: path, with: key)
    }
}
