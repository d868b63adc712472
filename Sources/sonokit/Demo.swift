import ArgumentParser
import SonoKitCLI
import Foundation
import Workflows

/// `sonokit demo`: the user's path on SampleStudies/, run through the very workflows the commands
/// run (each step is printed as the command line a user would type, then run and reported as
/// that command reports it): ingest, validate the manifest, split by patient, train (vgg16 on the
/// installed ImageNet base, else small), evaluate the test split at the study level, predict
/// every study of the test split with HTML pages and DICOM SRs.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run SonoKit's path on the bundled SampleStudies/ (synthetic ultrasound studies).",
        discussion: """
        Every step is printed as the command you would type, so the demo doubles as a tutorial.

        Example:
          sonokit demo                 # outputs under ./demo-output
          sonokit demo -o /tmp/demo --samples SampleStudies
        """
    )

    @Option(name: .shortAndLong, help: "Folder for the outputs.") var output: String = "demo-output"
    @Option(help: "The sample export (with labels.csv inside).") var samples: String = "SampleStudies"

    func run() throws {
        var options = DemoWorkflow.Options()
        options.output = output
        options.samples = samples
        let demo = try workflow { try DemoWorkflow(options) }

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
