import Catalog
import CNN
import Foundation
import Manifest
import Preprocess
import SonoKitTestSupport
@testable import Training

/// SampleStudies/ ingested once per test process, its labels validated and split 0.6/0.2/0.2 by
/// patient with seed 7 (the demo's split), for the training tests.
enum SampleStudiesFixture {
    struct Prepared {
        let work: URL
        let catalogPath: String
        let resolved: ResolvedManifest
        let labels: String
        let splitsPath: String
    }

    static let prepared: Result<Prepared, Error> = Result {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-training-fixture-\(getpid())")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let catalogPath = work.appendingPathComponent("catalog.sqlite").path
        let catalog = try Catalog(path: catalogPath)
        _ = try Ingestor(jobs: 2).run(folders: [RepositoryPaths.sampleStudies.path], into: catalog)
        let labels = RepositoryPaths.sampleStudies.appendingPathComponent("labels.csv").path
        let manifest = try Manifest.load(path: labels, classes: try ClassDeclaration(classes: ["benign", "malignant"], positive: "malignant"))
        let first = ManifestValidator.validate(manifest, resolver: CatalogImageResolver(catalog: catalog), pixelHasher: nil,
                                               options: ValidationOptions(ignoreSplitColumn: true))
        let assignment = try ManifestSplitter.split(first.resolved, plan: .ratios([0.6, 0.2, 0.2]), seed: 7)
        let splitsPath = work.appendingPathComponent("splits.csv").path
        try SplitsFile.write(assignment, comments: ["test"], to: splitsPath)
        let result = ManifestValidator.validate(manifest, resolver: CatalogImageResolver(catalog: catalog), pixelHasher: nil, splits: assignment)
        guard result.report.isValid else { throw TrainingError.invalidManifest(file: labels, errors: result.report.errors.count) }
        return Prepared(work: work, catalogPath: catalogPath, resolved: result.resolved, labels: labels, splitsPath: splitsPath)
    }

    /// A tiny configuration: narrow network, small frames, few frames per instance — seconds per run.
    static func tinyConfig(architecture: Architecture = .small, seed: UInt64 = 1, epochs: Int = 2, size: Int = 32,
                           frames: FramePolicy = .uniform(2)) -> TrainingConfig {
        let widths = architecture == .small ? [4, 8] : [4, 4, 8, 8, 8]
        var c = TrainingConfig(network: NetworkSpec(architecture: architecture, headUnits: 8, headDropout: 0.25, widths: widths, inputSize: size),
                               preprocess: PreprocessConfig(frames: frames, normalize: .unit, size: size))
        c.seed = seed
        c.epochs = epochs
        c.batchSize = 8
        c.classes = ["benign", "malignant"]
        c.positiveClass = "malignant"
        c.manifestHash = "test-manifest"
        c.splitsHash = "test-splits"
        return c
    }

    /// A trainer writing to `directory`, with frame and feature caches in the fixture's folder.
    static func trainer(_ config: TrainingConfig, directory: URL, featureCache: Bool = true) throws -> Trainer {
        let p = try prepared.get()
        let data = try TrainingData.make(p.resolved, trainSplits: config.trainSplits, validationSplit: config.validationSplit,
                                         frames: config.preprocess.frames)
        let frames = FrameCache(directory: p.work.appendingPathComponent("frame-cache"))
        let store = FrameStore(preprocessor: FramePreprocessor(config: config.preprocess, cache: frames))
        let features = featureCache ? FeatureCache(directory: p.work.appendingPathComponent("feature-cache")) : nil
        return Trainer(config: config, data: data, store: store, featureCache: features, run: RunDirectory(directory.path))
    }
}

/// Thrown by a test callback to simulate `kill -9`: the fit ends at once, nothing else is written.
struct SimulatedKill: Error {}
