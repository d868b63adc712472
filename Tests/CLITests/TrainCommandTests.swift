import Foundation
import Manifest
import SonoKitTestSupport
import Training
import Workflows
import XCTest

/// SampleStudies ingested and split for `sonokit train` end to end (the kill-point test, KillPointTests).
enum TrainCommandFixture {
    struct Prepared {
        let work: URL
        let catalogPath: String
        let labels: String
        let splitsPath: String
    }

    /// SampleStudies ingested and split 0.6/0.2/0.2 by patient with seed 7 (the demo's split), once per test process.
    static let prepared: Result<Prepared, Error> = Result {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-train-command-\(getpid())")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let catalogPath = work.appendingPathComponent("catalog.sqlite").path
        _ = try IngestWorkflow(.init(folders: [RepositoryPaths.sampleStudies.path], catalog: catalogPath)).run()
        let labels = RepositoryPaths.sampleStudies.appendingPathComponent("labels.csv").path
        let splitsPath = work.appendingPathComponent("splits.csv").path
        let input = ManifestInput(manifest: labels, catalog: catalogPath,
                                  classes: try ClassDeclaration(classes: ["benign", "malignant"], positive: "malignant"), noPixelCheck: true)
        _ = try ManifestWorkflow.split(.init(input: input, plan: try SplitPlan.ratios([0.6, 0.2, 0.2]).validated(), planText: "ratios=0.6,0.2,0.2",
                                             seed: 7, output: splitsPath))
        return Prepared(work: work, catalogPath: catalogPath, labels: labels, splitsPath: splitsPath)
    }
}
