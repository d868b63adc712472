import ArgumentParser
import SonoKitCLI
import Evaluation
import Foundation
import Reports
import Workflows

/// `sonokit evaluate RUN_DIR --split test`: study-level results with confidence intervals, a
/// threshold fitted on the validation split, calibration, subgroups and a report with pictures.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a trained run on a split: study-level metrics with confidence intervals, plots, an HTML report.",
        discussion: """
        The run's copy of its manifest (RUN_DIR/inputs) is validated against the catalog exactly as `sonokit manifest validate` does, with the run's classes and splits; nothing is evaluated on an invalid manifest. Every frame of the evaluated split and of the validation split goes through the run's own preprocessing and network. Frame probabilities become study probabilities by --aggregate; the decision threshold is fitted on the validation split only (at study level for the study results, at frame level for the frame results) and its provenance is written next to it. Evaluating the validation split itself is allowed and flagged: its sensitivity and specificity are then optimistic.

        A multi-class run (its model card says task multiclass) is evaluated the multi-class way: study class probabilities by --aggregate (mean, max renormalised, or vote), per-class one-vs-rest AUC with DeLong CIs, macro and prevalence-weighted AUC with patient-bootstrap CIs, the confusion matrix, per-class sensitivity, specificity and PPV with Wilson CIs, accuracy, balanced accuracy, macro F1, Cohen's kappa (quadratic-weighted for ordinal classes), top-2 accuracy, Brier score, log loss and per-class calibration; the decision is argmax, or with --threshold one threshold per class fitted on the validation split.

        Writes RUN_DIR/eval-SPLIT/ (or --output): evaluation.json (Schemas/evaluation-report.schema.json), studies.csv, frames.csv, evaluation.html with thumbnails/ beside it. Files hold pseudonymous keys only, no patient name or ID.

        Examples:
          sonokit evaluate runs/exp1 --split test --catalog work/catalog.sqlite
          sonokit evaluate runs/exp1 --catalog work/catalog.sqlite --aggregate max --threshold sensitivity=0.9 --bootstrap 2000
          sonokit evaluate runs/exp1 --catalog work/catalog.sqlite --split validation -o runs/exp1/eval-validation
        """
    )

    @Argument(help: ArgumentHelp("The run directory written by `sonokit train -o RUN_DIR`.", valueName: "RUN_DIR")) var runDirectory: String
    @Option(help: "The split to evaluate (a name of the run's splits file, e.g. test).") var split: String = "test"
    @Option(help: "The split the threshold is fitted on (default: the run's validation split, else validation).") var validationSplit: String?
    @Option(help: "Study aggregation of frame probabilities: mean, max, vote or vote=<frame threshold> (default: the run's).")
    var aggregate: String?
    @Option(help: "Bootstrap replicates for the AUC interval and the ROC band, resampling patients (0 turns it off).")
    var bootstrap: Int = 2000
    @Option(help: ArgumentHelp("Threshold rule, fitted on the validation split: youden (default for a binary run), sensitivity=0.9, specificity=0.9 or fixed=0.5. "
                               + "A multi-class run decides by argmax unless a rule is given: then one threshold per class, fitted one-vs-rest.", valueName: "rule"))
    var threshold: String?
    @Option(help: "The catalog made by `sonokit ingest` that the run was trained with (needed unless the run's config.json records it).")
    var catalog: String?
    @Option(name: .shortAndLong, help: "Output folder (default: RUN_DIR/eval-SPLIT).") var output: String?
    @Option(help: "Frames shown per failure case in the report.") var thumbnailsPerCase: Int = 4
    @Flag(help: "Skip the duplicate-pixel checks of the manifest validation.") var noPixelCheck = false

    func validate() throws {
        if let threshold { do { _ = try ThresholdRule(parsing: threshold) } catch { throw ValidationError("--threshold: \(error)") } }
        if let aggregate { do { _ = try StudyAggregation(parsing: aggregate) } catch { throw ValidationError("--aggregate: \(error)") } }
        guard bootstrap >= 0 else { throw ValidationError("--bootstrap takes 0 (off) or a number of replicates, e.g. 2000") }
        guard thumbnailsPerCase >= 0 else { throw ValidationError("--thumbnails-per-case must be 0 or more") }
        guard !split.isEmpty, validationSplit?.isEmpty != true else { throw ValidationError("--split and --validation-split need a name") }
    }

    func run() throws {
        var options = EvaluateWorkflow.Options(runDirectory: runDirectory)
        options.split = split
        options.validationSplit = validationSplit
        options.aggregation = try aggregate.map(StudyAggregation.init(parsing:))
        options.bootstrap = bootstrap
        options.threshold = try threshold.map(ThresholdRule.init(parsing:))
        options.catalog = catalog
        options.output = output
        options.thumbnailsPerCase = thumbnailsPerCase
        options.noPixelCheck = noPixelCheck
        try Self.execute(options)
    }

    /// Evaluates and prints the summary (of the run's task) and what was written; returns the report.
    @discardableResult
    static func execute(_ options: EvaluateWorkflow.Options) throws -> EvaluateWorkflow.Result.Evaluated {
        let result = try workflow { try EvaluateWorkflow(options, events: .terminal()).run() }
        switch result.evaluated {
        case .binary(let report): print(EvaluationSummary.text(report), terminator: "")
        case .multiclass(let report): print(MulticlassEvaluationSummary.text(report), terminator: "")
        }
        print("Wrote \(result.folder.path)/: evaluation.json, studies.csv, frames.csv, evaluation.html (+\(result.thumbnailCount) thumbnails)")
        return result.evaluated
    }
}
