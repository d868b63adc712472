import ArgumentParser
import SonoKitCLI
import Foundation
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
        """
    )

    @Option(name: .shortAndLong, help: "Folder for the outputs (the generated cohort goes to <output>/cohort).") var output: String = "demo-output"
    @Option(help: "Patients of the generated cohort (each with one to three studies).") var cohort: Int = 200
    @Option(help: "Seed of the generated cohort.") var seed: UInt64 = 1
    @Option(help: "Run on this export (with labels.csv inside, e.g. SampleStudies) instead of generating a cohort.") var samples: String?

    func validate() throws {
        if cohort < 1 { throw ValidationError("--cohort must be at least 1 patient") }
    }

    func run() throws {
        var options = DemoWorkflow.Options()
        options.output = output
        options.samples = samples
        options.cohortPatients = cohort
        options.cohortSeed = seed
        let demo = try workflow { try DemoWorkflow(options) }

        if let generate = demo.generate {
            var reused = false
            try step(generate) { reused = try Synth.execute($0, reuse: true) }
            // A new cohort replaces files the catalog indexed: index it afresh.
            if !reused { try? FileManager.default.removeItem(atPath: demo.catalog) }
        }
        try step(demo.ingest) { try Ingest.execute($0) }
        try step(demo.validate) { try ManifestCommand.Validate.execute($0) }
        try step(demo.split) { try ManifestCommand.Split.execute($0) }
        try demo.removePreviousRun()
        try step(demo.train) { try TrainCommand.execute($0) }
        try step(demo.evaluate) { try Evaluate.execute($0) }
        try step(try workflow { try demo.predictStep() }) { try Predict.execute($0) }

        let run = demo.run, reports = demo.reports
        print("\nDone. Outputs in \(output)/: the run in \(run)/ (model-card.json, history.csv), its evaluation in \(run)/eval-test/"
              + " (evaluation.html, evaluation.json, studies.csv), the reports in \(reports)/"
              + " (predictions.csv, one JSON per study, html/index.html, sr/*.dcm).")
        print("Try: sonokit inspect FILE, sonokit catalog summary --catalog \(demo.catalog), dsrdump \(reports)/sr/<study>.dcm")
    }

    /// Prints `$ sonokit <command line>`, runs the step as its command would, and prints that the
    /// step ended and how long it took (every line reaches a log file as it is written: stdout is
    /// line-buffered).
    private func step<Options>(_ step: DemoWorkflow.Step<Options>, _ execute: (Options) throws -> Void) throws {
        print("\n== \(step.number). \(step.title)\n$ sonokit \(step.commandLine)")
        let start = Date()
        try execute(step.options)
        print(String(format: "== %d. done in %.1f s", step.number, Date().timeIntervalSince(start)))
    }
}
