import ArgumentParser
import SonoKitCLI
import Evaluation
import Foundation
import SonoKitCore
import Workflows

/// `sonokit demo`: the user's path on a synthetic cohort it generates (or on an export with
/// labels.csv, `--samples`), run through the very workflows the commands run (each step is
/// printed as the command line a user would type, then run and reported as that command reports
/// it): generate the cohort (`sonokit synth`; kept when an earlier demo made it with the same
/// parameters), ingest, validate the manifest, split by patient, train (vgg16 on the installed
/// ImageNet base, else small), evaluate the test split at the study level, predict every study
/// of the test split with HTML pages and DICOM SRs.
struct Demo: ParsableCommand {

    static let configuration = CommandConfiguration(
        abstract: "Run SonoKit's path on a synthetic cohort it generates (or on an export with labels.csv).",
        discussion: """
        Every step is printed as the command you would type, so the demo doubles as a tutorial.

        Example:
          sonokit demo                 # a 200-patient cohort in ./demo-output/cohort, outputs under ./demo-output
          sonokit demo --cohort 300 --seed 2 -o /tmp/demo
          sonokit demo -o /tmp/demo --samples SampleStudies
          sonokit demo --model small   # the from-scratch recipe even with the ImageNet weights installed
          sonokit demo --task multiclass                               # four classes: normal, echogenic mass, complex cyst, shadowing mass
          sonokit demo --task multiclass --samples SampleStudies -o /tmp/demo-mc   # SampleStudies/labels-multiclass.csv (3 ordered classes)

        It ends with a table: the time of each step and the study-level test result.
        """
    )

    @Option(name: .shortAndLong, help: "Folder for the outputs (the generated cohort goes to <output>/cohort).") var output: String = "demo-output"
    @Option(help: "Patients of the generated cohort (each with one to three studies).") var cohort: Int = 200
    @Option(help: "Seed of the generated cohort.") var seed: UInt64 = 1
    @Option(help: "Run on this export (with labels.csv inside, e.g. SampleStudies) instead of generating a cohort.") var samples: String?
    @Option(help: "The network: auto (vgg16 when the ImageNet weights are installed, else small), vgg16 or small.")
    var model: String = "auto"
    @Option(help: ArgumentHelp("binary (benign / malignant) or multiclass (a four-class cohort; with --samples, its labels-multiclass.csv).",
                               valueName: "task"))
    var task: ClassificationTask = .binary

    func validate() throws {
        if cohort < 1 { throw ValidationError("--cohort must be at least 1 patient") }
        if DemoWorkflow.DemoModel(rawValue: model) == nil { throw ValidationError("--model must be auto, vgg16 or small, not '\(model)'") }
    }

    func run() throws {
        var times: [(step: String, seconds: Double)] = []   // for the closing table
        var options = DemoWorkflow.Options()
        options.output = output
        options.samples = samples
        options.cohortPatients = cohort
        options.cohortSeed = seed
        options.model = DemoWorkflow.DemoModel(rawValue: model) ?? .auto
        options.task = task
        let demo = try workflow { try DemoWorkflow(options) }

        if let generate = demo.generate {
            var reused = false
            try step(generate, &times) { reused = try Synth.execute($0, reuse: true) }
            // A new cohort replaces files the catalog indexed: index it afresh.
            if !reused { try? FileManager.default.removeItem(atPath: demo.catalog) }
        }
        try step(demo.ingest, &times) { try Ingest.execute($0) }
        try step(demo.validate, &times) { try ManifestCommand.Validate.execute($0) }
        try step(demo.split, &times) { try ManifestCommand.Split.execute($0) }
        try demo.removePreviousRun()
        try step(demo.train, &times) { try TrainCommand.execute($0) }
        var report: EvaluateWorkflow.Result.Evaluated?
        try step(demo.evaluate, &times) { report = try Evaluate.execute($0) }
        try step(try workflow { try demo.predictStep() }, &times) { try Predict.execute($0) }

        let run = demo.run, reports = demo.reports
        if let report { print("\n" + Self.summary(times: times, report: report), terminator: "") }
        print("\nDone. Outputs in \(output)/: the run in \(run)/ (model-card.json, history.csv), its evaluation in \(run)/eval-test/"
              + " (evaluation.html, evaluation.json, studies.csv), the reports in \(reports)/"
              + " (predictions.csv, one JSON per study, html/index.html, sr/*.dcm).")
        print("Try: sonokit inspect FILE, sonokit catalog summary --catalog \(demo.catalog), dsrdump \(reports)/sr/<study>.dcm")
    }

    /// Prints `$ sonokit <command line>`, runs the step as its command would, and prints that the
    /// step ended and how long it took (every line reaches a log file as it is written: stdout is
    /// line-buffered).
    private func step<Options>(_ step: DemoWorkflow.Step<Options>, _ times: inout [(step: String, seconds: Double)], _ execute: (Options) throws -> Void) throws {
        print("\n== \(step.number). \(step.title)\n$ sonokit \(step.commandLine)")
        let start = Date()
        try execute(step.options)
        let seconds = Date().timeIntervalSince(start)
        times.append((step.title.split(separator: "(").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? step.title, seconds))
        print(String(format: "== %d. done in %.1f s", step.number, seconds))
    }

    /// The demo's closing table: each step's time, the total, and the study-level test result
    /// (AUC with its DeLong and patient-bootstrap intervals, sensitivity and specificity at the
    /// threshold fitted on validation, with Wilson intervals).
    static func summary(times: [(step: String, seconds: Double)], report evaluated: EvaluateWorkflow.Result.Evaluated) -> String {
        var lines = ["Demo summary"]
        let width = max(28, (times.map(\.step.count).max() ?? 0) + 2)
        func row(_ name: String, _ value: String) { lines.append(name.padding(toLength: width, withPad: " ", startingAt: 0) + value) }
        for (name, seconds) in times { row("  " + name, String(format: "%7.1f s", seconds)) }
        row("  total", String(format: "%7.1f s", times.map(\.seconds).reduce(0, +)))
        func interval(_ i: ConfidenceInterval?) -> String { i.map { "[\(fixed($0.lower, 3)), \(fixed($0.upper, 3))]" } ?? "(no interval)" }
        let report: EvaluationReport
        switch evaluated {
        case .binary(let binary): report = binary
        case .multiclass(let multi):
            let study = multi.study
            row("  test studies", "\(study.counts.samples) (" + zip(multi.classes, study.counts.perClass).map { "\($1) \($0)" }.joined(separator: ", ")
                + ") from \(study.counts.patients) patients")
            row("  macro AUC (one-vs-rest)", "\(fixed(study.macroAUC.estimate, 3))  bootstrap \(interval(study.macroAUC.bootstrap?.interval))")
            row("  accuracy", "\(fixed(study.accuracy.value, 3))  \(interval(study.accuracy.interval))")
            row("  balanced accuracy", fixed(study.balancedAccuracy, 3))
            row(multi.ordinal ? "  kappa (quadratic)" : "  Cohen's kappa", study.kappa.value.map { fixed($0, 3) } ?? "undefined")
            return lines.joined(separator: "\n") + "\n"
        }
        let study = report.study, c = study.counts
        row("  test studies", "\(c.samples) (\(c.positives) \(report.classes.positive), \(c.negatives) other) from \(c.patients) patients")
        row("  study-level AUC", "\(fixed(study.auc.estimate, 3))  DeLong \(interval(study.auc.delong?.interval))  bootstrap \(interval(study.auc.bootstrap?.interval))")
        let at = study.atThreshold
        row("  sensitivity", "\(fixed(at.sensitivity.value, 3))  \(interval(at.sensitivity.interval))  at threshold \(fixed(at.threshold, 4))")
        row("  specificity", "\(fixed(at.specificity.value, 3))  \(interval(at.specificity.interval))")
        return lines.joined(separator: "\n") + "\n"
    }
}
