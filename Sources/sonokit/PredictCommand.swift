import ArgumentParser
import SonoKitCLI
import Catalog
import Foundation
import Reports
import Training
import Workflows

/// `sonokit predict`: one report per study from a trained run.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a trained model on DICOM studies and write one report per study (JSON, CSV; HTML and DICOM SR on request).",
        discussion: """
        INPUT is DICOM files, folders of them, or a catalog (.sqlite made by `sonokit ingest`); without INPUT, the catalog the run was trained with (recorded in RUN_DIR/config.json). Instances are grouped into studies by StudyInstanceUID. Each frame is preprocessed exactly as the model card says (options that would change that are refused), scored, and the frame probabilities are aggregated by the card's rule and labelled at the card's threshold. A multi-class run's studies get every class's probability and the predicted class (argmax, or --class-thresholds), predictions.csv a probability_<class> column per class, the HTML page Grad-CAM of the predicted class, and the SR the predicted class's code (--class-codes).

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

        On a cluster: with --shard I/N only the studies whose StudyInstanceUID hashes to I (mod N) are scored, into \
        OUT_DIR/shard-I-of-N/ (keyed with OUT_DIR's one secret, so the N tasks of an array share -o OUT_DIR); then \
        `sonokit predict --merge FINAL OUT_DIR/shard-*` checks that all N shards finished, that no study is in two, and \
        assembles FINAL equal file for file to an unsharded run (predictions.csv, reports, html/, sr/). \
        A shard run again (a requeued task) keeps the studies its earlier run reported, and those it recorded \
        as failed (OUT_DIR/shard-I-of-N/failed/<study key>.json says why) unless --retry-failed is given.

        Examples:
          sonokit predict runs/exp1 new-studies/ -o reports/
          sonokit predict runs/exp1 work/catalog.sqlite -o reports/ --html --sr
          sonokit predict runs/exp1 work/catalog.sqlite -o parts/ --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
          sonokit predict --merge reports/ parts/shard-*
        """
    )

    @Argument(help: ArgumentHelp("The run folder written by `sonokit train` (with --merge: the first shard folder).", valueName: "run-dir")) var runDirectory: String
    @Argument(help: ArgumentHelp("DICOM files, folders, or a catalog (.sqlite); default: the run's catalog (with --merge: the other shard folders).", valueName: "input")) var inputs: [String] = []
    @Option(name: .shortAndLong, help: "Output folder (created).") var output: String?
    @Option(help: ArgumentHelp("Score only shard I of N (0 <= I < N) of the studies, into OUT_DIR/shard-I-of-N/.", valueName: "I/N")) var shard: String?
    @Option(help: ArgumentHelp("Assemble the shard folders given as arguments into this new folder.", valueName: "out")) var merge: String?
    @Flag(help: "With --shard: score again the studies an earlier run of this shard recorded as failed (default: kept as failed).") var retryFailed = false
    @Flag(help: "Also write HTML pages with the frames, their crops and Grad-CAM heat maps.") var html = false
    @Flag(help: "Also write a DICOM Structured Report per study.") var sr = false
    @Flag(help: "Put patient identifiers and UIDs into the outputs (default: pseudonymous keys only).") var includeIdentifiers = false
    @Option(help: ArgumentHelp("CSV of standard codes for the SR's finding: class,code_value,coding_scheme_designator,code_meaning[,coding_scheme_version] "
                               + "(e.g. malignant,86049000,SCT,Malignant neoplasm); unmapped classes use SonoKit's private scheme, with a warning.",
                               valueName: "file"))
    var classCodes: String?
    @Option(help: ArgumentHelp("Multi-class runs: decide by the per-class thresholds in this evaluation.json of the run "
                               + "(written by `sonokit evaluate RUN_DIR --threshold youden`) instead of argmax.", valueName: "evaluation.json"))
    var classThresholds: String?
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

    func validate() throws {
        if let shard, Shard(parsing: shard) == nil {
            throw ValidationError("--shard must be I/N with 0 <= I < N, e.g. 0/4; got '\(shard)'")
        }
        if retryFailed && shard == nil {
            throw ValidationError("--retry-failed applies to a rerun of a shard (--shard I/N): only a shard keeps the studies that failed before.")
        }
        if merge != nil {
            guard output == nil, shard == nil, !html, !sr, !includeIdentifiers, frameCache == nil, classCodes == nil, classThresholds == nil else {
                throw ValidationError("--merge OUT SHARD_DIR... takes only the shard folders (their --html, --sr and --include-identifiers are carried over).")
            }
        } else if output == nil {
            throw ValidationError("Missing expected argument '--output <output>' (the folder the reports go to).")
        }
    }

    func run() throws {
        if let merge {
            let folders = [runDirectory] + inputs
            let result = try workflow { try PredictionMerge.run(output: merge, shardFolders: folders) }
            print("predict --merge: \(result.shards) shards, \(result.reported) studies reported, \(result.failed) not reported, "
                  + "\(result.unreadableFiles) unreadable files; \(result.files) files copied into \(merge) and predictions.csv rebuilt")
            return
        }
        var options = PredictWorkflow.Options(runDirectory: runDirectory, inputs: inputs, output: output!)
        options.shard = shard.flatMap(Shard.init(parsing:)) ?? .whole
        options.retryFailed = retryFailed
        options.html = html
        options.sr = sr
        options.includeIdentifiers = includeIdentifiers
        options.frameCache = frameCache
        options.classCodes = classCodes
        options.classThresholds = classThresholds
        options.preprocessing = PredictWorkflow.PreprocessingRequest(frames: frames, crop: crop, window: window, aspect: aspect,
                                                                     interpolation: interpolation, normalize: normalize, size: size)
        try Self.execute(options)
    }

    /// Predicts and prints what was reported and written; studies not reported are listed on standard error.
    static func execute(_ options: PredictWorkflow.Options) throws {
        let result = try workflow { try PredictWorkflow(options, events: .terminal()).run() }
        let output = options.folder, reports = result.reports, card = result.card
        let seconds = result.seconds
        if result.resumed + result.resumedFailed > 0 {
            let keptFailed = result.resumedFailed > 0 ? ", \(result.resumedFailed) failed studies kept as failed, not scored again (--retry-failed scores them)" : ""
            print("predict: resumed: \(result.resumed) studies kept from an earlier run of this shard\(keptFailed), "
                  + "\(result.studies - result.resumed - result.resumedFailed) scored now")
        }
        // Studies per decided class: binary, positive and negative; multi-class, every class.
        let perClass: String
        if card.task == .multiclass {
            perClass = card.classes.map { name in "\(reports.filter { $0.label == name }.count) \(name)" }.joined(separator: ", ")
        } else {
            let positives = reports.filter(\.labelIsPositive).count
            perClass = "\(positives) \(card.positiveClass), \(reports.count - positives) \(result.model.negativeClass)"
        }
        print("predict: \(reports.count) studies reported (\(perClass)), "
              + "\(result.failed.count) not reported, \(result.unreadableFiles) unreadable files; \(result.frames) frames "
              + "in \(String(format: "%.1f", seconds)) s (\(String(format: "%.2f", Double(result.studies) / max(seconds, 1e-9))) studies/s)")
        if let rule = result.rule {
            print("model \(card.modelID), threshold \(String(format: "%.4f", rule.threshold.value)) (\(rule.thresholdSource)), aggregation \(card.aggregation)")
        } else if let rule = result.multiclassRule {
            print("model \(card.modelID), multi-class (\(card.classes.joined(separator: ", "))), decision: \(rule.source), aggregation \(card.aggregation)")
        }
        print("reports: \(output)/*.json, \(output)/predictions.csv"
              + (options.html ? ", \(output)/html/index.html" : "") + (options.sr ? ", \(output)/sr/*.dcm" : ""))
        for f in result.failed { warn("not reported: study \(f.studyKey): \(f.reasons.joined(separator: "; "))") }
    }
}
