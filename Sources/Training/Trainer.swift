import CNN
import Evaluation
import Foundation
import Preprocess

/// Sets up and runs a training run into a run directory: builds the network from the seed,
/// loads pretrained weights, freezes, computes (or reads) cached base features when the base is
/// frozen and nothing is augmented, runs the `TrainingLoop` with the standard callbacks, and at
/// the end fits the threshold on the validation split and writes the model card.
public final class Trainer {
    public let config: TrainingConfig
    public let data: TrainingData
    public let store: FrameStore
    public let featureCache: FeatureCache?
    public let run: RunDirectory
    /// Callbacks run after the standard ones (tests use one to interrupt a run).
    public var extraCallbacks: [TrainingCallback] = []
    /// Where progress lines go (nil: nowhere).
    public var log: ((String) -> Void)?
    public var logIsTerminal = false
    /// Use cached base features when possible (on by default; off to compare both paths).
    public var allowFeatureCache = true
    /// Files copied into RUN_DIR/inputs/ at the start of a new run.
    public var inputCopies: (manifest: Data, splits: Data)?
    /// Recorded in the model card (`ModelCard.cropWarnings`); empty leaves the field out.
    public var cropWarnings: [String] = []

    public init(config: TrainingConfig, data: TrainingData, store: FrameStore, featureCache: FeatureCache?, run: RunDirectory) {
        self.config = config
        self.data = data
        self.store = store
        self.featureCache = featureCache
        self.run = run
    }

    /// What the network was initialised from, for the model card.
    public private(set) var weightsOrigin = "trained from scratch"
    public private(set) var usedFeatureCache = false
    /// Frames whose features were computed (not read from the cache) in this process.
    public private(set) var featuresComputed = 0

    /// The network as configured: fresh weights from the seed, then `weightsFile` (or the
    /// ImageNet VGG16 base for vgg16), then the fine-tune unfreezing.
    public func makeModel() throws -> Model {
        var rng = SeedStreams.stream(config.seed, .initialisation)
        let model = try config.network.make(rng: &rng)
        if let file = config.weightsFile {
            let origin = try model.loadWeights(from: URL(fileURLWithPath: file))
            weightsOrigin = "\((file as NSString).lastPathComponent) (\(origin.naming) names, layers: \(origin.loadedLayers.count))"
        } else if config.network.architecture == .vgg16, config.network.widths == nil {
            let url = try PretrainedWeights.vgg16ImageNet()
            try model.loadWeights(from: url)
            weightsOrigin = ModelCard.vgg16ImageNetCredit + " — \(url.lastPathComponent)"
        }
        if !config.fineTune.isEmpty { try model.unfreeze(config.fineTune) }
        return model
    }

    func makeOptimizer() -> Optimizer {
        switch config.optimizer {
        case .adam: return Adam(learningRate: config.learningRate)
        case .sgd: return SGD(learningRate: config.learningRate, momentum: config.momentum)
        }
    }

    /// Trains (or, with `resume`, continues the run in `run`) and returns the finished run.
    @discardableResult
    public func fit(resume: Bool) throws -> TrainedRun {
        try config.validate()
        let model = try makeModel()
        let optimizer = makeOptimizer()
        var progress = TrainingProgress(learningRate: config.learningRate)
        if resume {
            let previous = try RunJSON.read(TrainingConfig.self, from: run.config)
            // A run written before the catalog was recorded in config.json is continued as it was
            // written: its config (and the checkpoint's hash of it) has no catalog.
            var current = config
            if previous.catalog == nil { current.catalog = nil }
            let differences = current.differences(from: previous)
            guard differences.isEmpty else { throw TrainingError.resumeMismatch(run: run.path, differences: differences) }
            if FileManager.default.fileExists(atPath: run.lastOptimizer.path) {
                let last = try Checkpoint.readLast(run: run)
                guard last.state.configSHA256 == (try Checkpoint.configSHA256(current)) else {
                    throw TrainingError.resumeMismatch(run: run.path, differences: ["the checkpoint was written with another configuration than config.json"])
                }
                try model.load(namedTensors: last.model, source: run.lastOptimizer.path)
                if !last.optimizer.isEmpty { try optimizer.load(state: last.optimizer, parameters: model.trainableParameters) }
                progress = last.state.progress
            }
        } else {
            if FileManager.default.fileExists(atPath: run.config.path) {
                throw TrainingError.invalidOption(name: "-o \(run.path)", reason: "already holds a run (config.json); continue it with --resume \(run.path), or choose a new folder")
            }
            try FileManager.default.createDirectory(at: run.checkpoints, withIntermediateDirectories: true)
            if let inputs = inputCopies {
                try writeAtomically(inputs.manifest, to: run.manifestCopy)
                try writeAtomically(inputs.splits, to: run.splitsCopy)
            }
            try RunJSON.write(config, to: run.config)
        }

        // Frozen base and no augmentation: the base runs once per frame (cached).
        var trainFeatures: [[Float]]?, validationFeatures: [[Float]]?
        if usesFeatureCache(model) {
            usedFeatureCache = true
            // Only frames without cached features are ever read: after `sonokit features` has
            // filled the cache, training decodes nothing.
            try store.prefetch(try uncachedFeatures(of: data.train + data.validation, model: model))
            trainFeatures = try features(of: data.train, model: model)
            validationFeatures = try features(of: data.validation, model: model)
        } else {
            // Every instance decoded once up front (on all cores) into the frame cache.
            try store.prefetch(data.train + data.validation)
        }

        var callbacks: [TrainingCallback] = [Callbacks.terminateOnNaN(), Callbacks.checkpointBest(run: run)]
        if let p = config.plateauPatience { callbacks.append(Callbacks.reduceLearningRateOnPlateau(patience: p, factor: config.plateauFactor)) }
        callbacks.append(Callbacks.csvHistory(run: run))
        callbacks.append(Callbacks.checkpointLast(run: run, everyBatches: config.checkpointEveryBatches))
        if let log { callbacks.append(Callbacks.progress(write: log, isTerminal: logIsTerminal)) }
        if let p = config.earlyStoppingPatience { callbacks.append(Callbacks.earlyStopping(patience: p)) }
        callbacks += extraCallbacks

        let loop = TrainingLoop(config: config, model: model, optimizer: optimizer, data: data, store: store, progress: progress,
                                callbacks: callbacks, trainFeatures: trainFeatures, validationFeatures: validationFeatures)
        try loop.fit()
        return try finish(loop, validationFeatures: validationFeatures)
    }

    /// Whether this run's configuration trains on cached base features (frozen base, no
    /// augmentation, cache allowed), as `fit` decides it.
    public func usesFeatureCache(_ model: Model) -> Bool {
        allowFeatureCache && config.augmentation.isEmpty && model.base.allSatisfy(\.isFrozen)
    }

    /// Fills the feature cache for `samples` exactly as `fit` would (same model from the same
    /// config, same keys), without training: what `sonokit features` runs, on all samples or on a
    /// shard of them. The frames of instances with missing features are decoded once up front.
    /// Returns how many features were computed (the rest were already cached).
    public func precomputeFeatures(of samples: [TrainingSample]) throws -> (computed: Int, cached: Int) {
        try config.validate()
        guard featureCache != nil else {
            throw TrainingError.invalidOption(name: "--no-feature-cache", reason: "features are computed into the feature cache; without one there is nothing to fill")
        }
        let model = try makeModel()
        guard usesFeatureCache(model) else {
            throw TrainingError.invalidOption(name: "--model \(config.network.architecture.rawValue)",
                                              reason: "a run with augmentation or a trainable base layer (--fine-tune, or the small network) never reads cached base features, so there is nothing to precompute")
        }
        try store.prefetch(try uncachedFeatures(of: samples, model: model))
        let before = featuresComputed
        _ = try features(of: samples, model: model)
        let computed = featuresComputed - before
        return (computed, samples.count - computed)
    }

    /// The feature-cache key of `sample` for `model`'s base under this run's preprocessing.
    func featureKey(_ s: TrainingSample, preprocessHash: String, weightsHash: String) -> String {
        FeatureCache.key(sopInstanceUID: s.sopInstanceUID, frame: s.frameIndex, preprocessHash: preprocessHash, weightsHash: weightsHash)
    }

    /// The samples whose base features are not in the cache (all of them without a cache).
    func uncachedFeatures(of samples: [TrainingSample], model: Model) throws -> [TrainingSample] {
        guard let cache = featureCache else { return samples }
        let f = model.featureCount, preprocessHash = config.preprocessHash, weightsHash = FeatureCache.weightsHash(of: model)
        return samples.filter { cache.load(key: featureKey($0, preprocessHash: preprocessHash, weightsHash: weightsHash), count: f) == nil }
    }

    /// Base features of `samples`: read from the feature cache, the missing ones computed in
    /// batches and stored.
    func features(of samples: [TrainingSample], model: Model) throws -> [[Float]] {
        let f = model.featureCount
        let preprocessHash = config.preprocessHash
        let weightsHash = FeatureCache.weightsHash(of: model)
        func key(_ s: TrainingSample) -> String { featureKey(s, preprocessHash: preprocessHash, weightsHash: weightsHash) }
        var out = samples.map { s in featureCache?.load(key: key(s), count: f) }
        let missing = out.indices.filter { out[$0] == nil }
        let total = missing.count
        let start = Date()
        let size = FeatureCache.batchFrames
        for chunkStart in stride(from: 0, to: missing.count, by: size) {
            let chunk = Array(missing[chunkStart..<min(chunkStart + size, missing.count)])
            // Always a full batch (the last padded with its last frame): same kernel, same bits.
            let padded = chunk + Array(repeating: chunk[chunk.count - 1], count: size - chunk.count)
            let batch = try model.features(try store.batch(padded.map { samples[$0] }))
            for (row, i) in chunk.enumerated() {
                let values = Array(batch.scalars[(row * f)..<((row + 1) * f)])
                out[i] = values
                try featureCache?.store(values[...], key: key(samples[i]))
            }
            featuresComputed += chunk.count
            if logIsTerminal, let log {
                let done = chunkStart + chunk.count
                let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
                log("\r\u{1B}[K" + "base features \(done)/\(total)  \(String(format: "%.1f", rate)) images/s")
            } else if let log, (chunkStart / size) % 10 == 9 || chunkStart + chunk.count == total {
                // A pipe (a Slurm log): one line per ten batches and at the end.
                let done = chunkStart + chunk.count
                let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
                log("base features \(done)/\(total)  \(String(format: "%.1f", rate)) images/s\n")
            }
        }
        if logIsTerminal, total > 0 { log?("\n") }
        return out.map { $0! }
    }

    /// The end of a run: the best weights (or the last, if no epoch improved), the Youden threshold
    /// on the validation studies (mean aggregation; binary runs only), and the model card.
    func finish(_ loop: TrainingLoop, validationFeatures: [[Float]]?) throws -> TrainedRun {
        let model = loop.model
        if FileManager.default.fileExists(atPath: run.bestWeights.path) {
            try model.load(namedTensors: try SafeTensors.read(run.bestWeights).tensors, source: run.bestWeights.path)
        }
        var threshold: ThresholdChoice?
        // Multi-class runs decide by argmax: no threshold.
        if data.task == .binary {
            let validation = try TrainingLoop.evaluate(model: model, samples: data.validation, features: validationFeatures, store: store,
                                                       batchSize: config.batchSize)
            if validation.studies.contains(where: \.isPositive), validation.studies.contains(where: { !$0.isPositive }) {
                threshold = try ThresholdChoice.fit(.youden, on: try BinaryOutcomes(validation.studies.map(\.sample), what: "the validation studies"),
                                                    split: config.validationSplit, level: .study, aggregation: .mean)
            }
        }
        let formatter = ISO8601DateFormatter()
        let card = ModelCard(modelID: "", architecture: config.network.architecture.rawValue, weightsSHA256: "",
                             weightsOrigin: weightsOrigin, frozenLayers: model.layers.filter(\.isFrozen).map(\.name),
                             preprocess: config.preprocess, preprocessHash: config.preprocessHash, classes: config.classes,
                             positiveClass: config.positiveClass, manifestHash: config.manifestHash, seed: config.seed,
                             threshold: threshold, aggregation: .mean, softwareVersions: SoftwareVersions.all,
                             createdAt: formatter.string(from: Date()), network: config.network,
                             cropWarnings: cropWarnings.isEmpty ? nil : cropWarnings,
                             task: config.classificationTask, ordinal: config.ordinal)
        return try TrainedRun.write(model: model, card: card, to: run.path)
    }
}
