import CNN
import Evaluation
import Foundation
import SonoKitCore

/// What happens in a fit, in order, for callbacks (swift-models' TrainingLoop events):
/// `fitStart`, then per epoch `epochStart`, `batchEnd` after every optimiser step,
/// `validationEnd` once the epoch's validation metrics are in `progress`, `epochEnd` once the
/// epoch's counters have advanced (a checkpoint taken now resumes at the next epoch), and
/// `fitEnd` (also after a `TrainingControl.stop`).
public enum TrainingEvent: String, Sendable, CaseIterable {
    case fitStart, epochStart, batchEnd, validationEnd, epochEnd, fitEnd
}

/// Control flow by thrown values: a callback throws `.stop` to end the fit cleanly (callbacks see
/// `fitEnd`). Any other error ends the fit at once, as a crash would.
public enum TrainingControl: Error, Equatable {
    case stop(reason: String)
}

/// A callback: a value holding a name and a closure called on every event.
public struct TrainingCallback {
    public let name: String
    public let handle: (TrainingEvent, TrainingLoop) throws -> Void
    public init(_ name: String, _ handle: @escaping (TrainingEvent, TrainingLoop) throws -> Void) {
        self.name = name
        self.handle = handle
    }
}

/// One row of history.csv.
public struct HistoryRow: Codable, Sendable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var valLoss: Double
    public var valAUC: Double?
    public var learningRate: Double
    public var seconds: Double
    /// Multi-class: study-level accuracy of the argmax class on the validation split (nil for binary runs).
    public var valAccuracy: Double?
}

/// Everything about a fit's position and its callbacks' memory, as one value: it is what a
/// checkpoint saves (with weights and optimiser state) and what resuming restores. Random streams
/// need no state of their own: they are derived from the seed and these counters (`SeedStreams`).
public struct TrainingProgress: Codable, Sendable, Equatable {
    /// The epoch being run (0-based); equals `epochs` when done.
    public var epoch = 0
    /// Batches of `epoch` already applied.
    public var batchesDone = 0
    /// Optimiser steps in total.
    public var step = 0
    public var learningRate: Float
    /// Σ over the epoch's batches of (mean batch loss × batch size), and the samples counted.
    public var epochLossSum = 0.0
    public var epochSamples = 0
    public var lastBatchLoss: Float = 0
    /// Seconds spent in the current epoch before an interruption (wall time, informational).
    public var epochSeconds = 0.0
    /// Validation metrics of the epoch just finished.
    public var valLoss: Double?
    /// Binary: study-level AUC. Multi-class: study-level macro one-vs-rest AUC.
    public var valAUC: Double?
    /// Multi-class: study-level accuracy (nil for binary runs).
    public var valAccuracy: Double?
    public var history: [HistoryRow] = []
    /// Best value of the monitored metric and its epoch (checkpoint best).
    public var bestValue: Double?
    public var bestEpoch: Int?
    /// Epochs since the monitored metric last improved (early stopping and LR on plateau).
    public var epochsWithoutImprovement = 0
    public var plateauWait = 0
    /// Why the fit stopped before `epochs` (early stopping), once decided.
    public var stopReason: String?

    public init(learningRate: Float) { self.learningRate = learningRate }
}

/// One loop over epochs and batches; everything else (checkpoints, early stopping, LR on plateau,
/// CSV history, progress, NaN guard) is a callback.
///
/// Per batch: frames (or cached base features) of the batch in the epoch's permutation,
/// per-sample weights (class weight × manifest weight), logits, cross-entropy from logits
/// (binary: sigmoid, `BinaryCrossEntropy`; multi-class: softmax, `SoftmaxCrossEntropy`, both the
/// mean of the weighted per-sample losses over the batch, Keras' convention), backward, one
/// optimiser step.
public final class TrainingLoop {
    public let config: TrainingConfig
    public let model: Model
    public let optimizer: Optimizer
    public let data: TrainingData
    public let store: FrameStore
    public var progress: TrainingProgress
    public var callbacks: [TrainingCallback]
    /// Cached base features of the train and validation samples (nil: the images go through the base).
    let trainFeatures: [[Float]]?
    let validationFeatures: [[Float]]?
    /// Per-sample loss weights of the training samples.
    let sampleWeights: [Float]
    /// Seconds since this process started the current epoch.
    public private(set) var epochClock = Date()

    public var batchesPerEpoch: Int { (data.train.count + config.batchSize - 1) / config.batchSize }
    public var usesFeatureCache: Bool { trainFeatures != nil }

    init(config: TrainingConfig, model: Model, optimizer: Optimizer, data: TrainingData, store: FrameStore,
         progress: TrainingProgress, callbacks: [TrainingCallback], trainFeatures: [[Float]]?, validationFeatures: [[Float]]?) {
        self.config = config
        self.model = model
        self.optimizer = optimizer
        self.data = data
        self.store = store
        self.progress = progress
        self.callbacks = callbacks
        self.trainFeatures = trainFeatures
        self.validationFeatures = validationFeatures
        switch data.task {
        case .binary:
            let weights = config.classWeighting == .auto ? data.classWeights() : (positive: 1.0, negative: 1.0)
            sampleWeights = data.train.map { Float($0.weight * ($0.isPositive ? weights.positive : weights.negative)) }
        case .multiclass:
            let weights = config.classWeighting == .auto ? data.multiclassWeights() : Array(repeating: 1.0, count: data.classes.count)
            sampleWeights = data.train.map { Float($0.weight * weights[$0.classIndex]) }
        }
    }

    func fire(_ event: TrainingEvent) throws {
        for c in callbacks { try c.handle(event, self) }
    }

    /// Runs (or continues) the fit from `progress` to `config.epochs` or a stop.
    public func fit() throws {
        do {
            try fire(.fitStart)
            while progress.epoch < config.epochs, progress.stopReason == nil {
                try runEpoch()
            }
        } catch TrainingControl.stop(let reason) {
            if progress.stopReason == nil { progress.stopReason = reason }
        }
        try fire(.fitEnd)
    }

    private func runEpoch() throws {
        let epoch = progress.epoch
        epochClock = Date().addingTimeInterval(-progress.epochSeconds)
        if progress.batchesDone == 0 { try fire(.epochStart) }
        let order = SeedStreams.permutation(count: data.train.count, seed: config.seed, epoch: epoch)
        let bs = config.batchSize
        while progress.batchesDone < batchesPerEpoch {
            let b = progress.batchesDone
            let indices = Array(order[(b * bs)..<min((b + 1) * bs, order.count)])
            let loss = try trainStep(indices, epoch: epoch, batch: b)
            progress.step += 1
            progress.batchesDone += 1
            progress.lastBatchLoss = loss
            progress.epochLossSum += Double(loss) * Double(indices.count)
            progress.epochSamples += indices.count
            progress.epochSeconds = Date().timeIntervalSince(epochClock)
            try fire(.batchEnd)
        }
        let validation = try validate()
        progress.valLoss = validation.loss
        progress.valAUC = validation.studyAUC
        progress.valAccuracy = validation.studyAccuracy
        try fire(.validationEnd)
        progress.history.append(HistoryRow(epoch: epoch + 1, loss: progress.epochLossSum / Double(max(progress.epochSamples, 1)),
                                           valLoss: validation.loss, valAUC: validation.studyAUC,
                                           learningRate: Double(progress.learningRate), seconds: Date().timeIntervalSince(epochClock),
                                           valAccuracy: validation.studyAccuracy))
        progress.epoch += 1
        progress.batchesDone = 0
        progress.epochLossSum = 0
        progress.epochSamples = 0
        progress.epochSeconds = 0
        try fire(.epochEnd)
    }

    /// One optimiser step on the training samples `indices`; returns the batch's mean loss.
    func trainStep(_ indices: [Int], epoch: Int, batch: Int) throws -> Float {
        let weights = indices.map { sampleWeights[$0] }
        var context = ForwardContext(training: true, rng: SeedStreams.stream(config.seed, .dropout, UInt64(progress.step)))
        let logits: Tensor
        if let features = trainFeatures {
            let f = Tensor(shape: [indices.count, model.featureCount], scalars: indices.flatMap { features[$0] })
            logits = try model.logits(features: f, context: &context)
        } else {
            let augmentation = config.augmentation
            let first = batch * config.batchSize
            let x = try store.batch(indices.map { data.train[$0] }, augment: augmentation.isEmpty ? nil : { slot in
                (augmentation, SeedStreams.stream(self.config.seed, .augmentation, UInt64(epoch), UInt64(first + slot)))
            })
            logits = try model.logits(images: x, context: &context)
        }
        let (loss, gradient): (Float, Tensor)
        switch data.task {
        case .binary:
            let labels = indices.map { data.train[$0].isPositive ? Float(1) : 0 }
            (loss, gradient) = BinaryCrossEntropy.lossAndGradient(logits: logits, labels: labels, weights: weights)
        case .multiclass:
            (loss, gradient) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: indices.map { data.train[$0].classIndex },
                                                                    sampleWeights: weights, normalization: .batchSize)
        }
        guard loss.isFinite else {
            try model.backward(gradient)   // drop what the forward kept
            return loss
        }
        try model.backward(gradient)
        optimizer.learningRate = progress.learningRate
        optimizer.step(model.trainableParameters)
        return loss
    }

    /// Frame probabilities of the validation samples, the frame-level mean cross-entropy
    /// (unweighted) and the study-level AUC (mean of each study's frame probabilities); multi-class:
    /// the macro one-vs-rest AUC and the accuracy of the studies' argmax class.
    public func validate() throws -> ValidationResult {
        try Self.evaluate(model: model, samples: data.validation, features: validationFeatures, store: store, batchSize: config.batchSize,
                          task: data.task)
    }

    public struct ValidationResult: Sendable {
        /// Binary: σ(z) per frame. Multi-class: the probability of each frame's own class.
        public var probabilities: [Double]
        public var loss: Double
        /// Binary: study-level AUC. Multi-class: study-level macro one-vs-rest AUC
        /// (`macroOneVsRestAUC`).
        public var studyAUC: Double?
        /// Binary: the studies (mean aggregation). Empty for a multi-class run.
        public var studies: [AggregatedStudy]
        /// Multi-class: per frame, the softmax over the classes (nil for binary).
        public var classProbabilities: [[Double]]?
        /// Multi-class: the fraction of studies whose argmax class (of the mean frame
        /// probabilities) is their label (nil for binary).
        public var studyAccuracy: Double?
    }

    static func evaluate(model: Model, samples: [TrainingSample], features: [[Float]]?, store: FrameStore, batchSize: Int,
                         task: ClassificationTask = .binary) throws -> ValidationResult {
        var logits: [Float] = []
        for start in stride(from: 0, to: samples.count, by: batchSize) {
            let range = start..<min(start + batchSize, samples.count)
            var context = ForwardContext(training: false)
            if let features {
                let f = Tensor(shape: [range.count, model.featureCount], scalars: range.flatMap { features[$0] })
                logits += try model.logits(features: f, context: &context).scalars
            } else {
                logits += try model.logits(images: try store.batch(Array(samples[range])), context: &context).scalars
            }
        }
        if task == .multiclass { return try evaluateMulticlass(logits: logits, classCount: model.outputCount, samples: samples) }
        let labels = samples.map { $0.isPositive ? Float(1) : 0 }
        let loss = samples.isEmpty ? 0 : Double(BinaryCrossEntropy.loss(logits: Tensor(shape: [logits.count], scalars: logits), labels: labels))
        let probabilities = logits.map { Double(BinaryCrossEntropy.sigmoid($0)) }
        let frames = zip(samples, probabilities).map {
            FramePrediction(studyKey: $0.studyID, patientKey: $0.patientID, frameIndex: $0.frameIndex, isPositive: $0.isPositive, probability: $1)
        }
        let studies = frames.isEmpty ? [] : try StudyAggregation.mean.aggregate(frames)
        var auc: Double?
        if studies.contains(where: \.isPositive), studies.contains(where: { !$0.isPositive }) {
            auc = ROC.auc(try BinaryOutcomes(studies.map(\.sample), what: "the validation studies"))
        }
        return ValidationResult(probabilities: probabilities, loss: loss, studyAUC: auc, studies: studies)
    }

    /// Multi-class validation from the frames' logits (row-major, `classCount` per frame): the mean
    /// unweighted softmax cross-entropy over frames, each study's class probabilities as the mean
    /// of its frames' (the "mean" aggregation of the binary path), the macro one-vs-rest AUC and
    /// the argmax accuracy over studies.
    static func evaluateMulticlass(logits: [Float], classCount k: Int, samples: [TrainingSample]) throws -> ValidationResult {
        guard !samples.isEmpty else { return ValidationResult(probabilities: [], loss: 0, studyAUC: nil, studies: [], classProbabilities: [], studyAccuracy: nil) }
        let z = Tensor(shape: [samples.count, k], scalars: logits)
        let labels = samples.map(\.classIndex)
        let loss = Double(SoftmaxCrossEntropy.loss(logits: z, labels: labels))
        let p = SoftmaxCrossEntropy.probabilities(logits: z).scalars
        let perFrame = (0..<samples.count).map { i in (0..<k).map { Double(p[i * k + $0]) } }
        var order: [String] = []
        var sums: [String: [Double]] = [:], counts: [String: Int] = [:], label: [String: Int] = [:]
        for (sample, probabilities) in zip(samples, perFrame) {
            let key = sample.studyID
            if let known = label[key] {
                guard known == sample.classIndex else {
                    throw TrainingError.invalidOption(name: "validation split", reason: "study \(Pseudonym.unkeyed(key)) has frames of two classes; a study has one label")
                }
            } else {
                order.append(key)
                label[key] = sample.classIndex
                sums[key] = Array(repeating: 0, count: k)
            }
            for c in 0..<k { sums[key]![c] += probabilities[c] }
            counts[key, default: 0] += 1
        }
        let studyLabels = order.map { label[$0]! }
        let studyProbabilities = order.map { key in sums[key]!.map { $0 / Double(counts[key]!) } }
        let correct = zip(studyLabels, studyProbabilities).filter { y, q in q.indices.max { q[$0] < q[$1] } == y }.count
        return ValidationResult(probabilities: zip(labels, perFrame).map { $1[$0] }, loss: loss,
                                studyAUC: try macroOneVsRestAUC(labels: studyLabels, probabilities: studyProbabilities, classCount: k),
                                studies: [], classProbabilities: perFrame, studyAccuracy: Double(correct) / Double(order.count))
    }

    /// Macro one-vs-rest AUC: the mean over classes k of the AUC of p_k for "class k" against
    /// "any other class" (`ROC.auc`, ties counting one half) — scikit-learn's
    /// `roc_auc_score(y, P, multi_class="ovr", average="macro")`. Classes with no sample, or with
    /// every sample, in the set are left out of the mean (their AUC is undefined; scikit-learn
    /// refuses such a set); nil when fewer than two classes are present.
    public static func macroOneVsRestAUC(labels: [Int], probabilities: [[Double]], classCount k: Int) throws -> Double? {
        var aucs: [Double] = []
        for c in 0..<k {
            let positive = labels.map { $0 == c }
            guard positive.contains(true), positive.contains(false) else { continue }
            aucs.append(ROC.auc(try BinaryOutcomes(labels: positive, scores: probabilities.map { $0[c] }, what: "the validation studies")))
        }
        return aucs.count >= 2 ? aucs.reduce(0, +) / Double(aucs.count) : nil
    }
}
