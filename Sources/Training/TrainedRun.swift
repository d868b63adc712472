import CNN
import DICOM
import Evaluation
import Foundation
import SonoKitCore
import Preprocess

/// A finished (or resumed) run, loaded for inference: its model card and the weights of its best
/// checkpoint, in a network rebuilt from the card.
///
/// Thread safety: `predict` and `gradCAM` may be called from any thread; the network runs one
/// call at a time (a lock), preprocessing inside `predict` runs on all cores.
public final class TrainedRun {
    public let directory: String
    /// The run's `model-card.json`: the network, its weights, preprocessing, classes, threshold.
    public let card: ModelCard
    /// The run's `config.json`: every training option, the inputs' hashes, the splits trained and
    /// validated on, and the catalog the manifest was resolved through. Nil for a run written
    /// without training (`TrainedRun.write`, e.g. a hand-set test network).
    public let config: TrainingConfig?
    let model: Model
    private let lock = NSLock()
    /// Optional on-disk cache of preprocessed 8-bit frames (see `Preprocess.FrameCache`).
    public var frameCache: FrameCache?
    /// Frames per network pass, always full (see `probabilities(of:)`): small, since the padding
    /// of a chunk's last batch is computed for nothing.
    public var batchSize = 8

    /// Reads `model-card.json` and `checkpoints/best.safetensors`; the weights must hash to the
    /// card's `weightsSHA256` (a swapped or damaged file is an error naming it).
    public init(directory: String) throws {
        self.directory = directory
        let run = RunDirectory(directory)
        card = try RunJSON.read(ModelCard.self, from: run.modelCard)
        config = FileManager.default.fileExists(atPath: run.config.path) ? try RunJSON.read(TrainingConfig.self, from: run.config) : nil
        let weightsURL = run.bestWeights
        guard FileManager.default.fileExists(atPath: weightsURL.path) else { throw TrainingError.missingFile(file: weightsURL.path) }
        let sha = try RunDirectory.sha256(file: weightsURL)
        guard sha == card.weightsSHA256 else {
            throw TrainingError.unreadable(file: weightsURL.path,
                                           reason: "its SHA-256 \(sha.prefix(12))… differs from the model card's \(card.weightsSHA256.prefix(12))…; the weights were replaced or damaged")
        }
        var rng = SplitMix64(seed: 0)
        model = try card.network.make(rng: &rng)
        try model.load(namedTensors: try SafeTensors.read(weightsURL).tensors, source: weightsURL.path)
        // Inference only: everything frozen, so the convolutional prefix runs as one oneDNN pipeline.
        try model.freeze(["base", "head"])
    }

    /// A run already in memory (tests, and the end of training).
    init(directory: String, card: ModelCard, config: TrainingConfig?, model: Model) throws {
        self.directory = directory
        self.card = card
        self.config = config
        self.model = model
        try model.freeze(["base", "head"])
    }

    /// The run's files by name.
    public var files: RunDirectory { RunDirectory(directory) }

    /// The run's `history.csv` (one row per epoch: loss, val_loss, val_auc, lr, seconds); throws
    /// when the file is missing or malformed.
    public func history() throws -> TrainingHistory {
        let file = files.history
        return try TrainingHistory(csv: try String(contentsOf: file, encoding: .utf8), file: file.path)
    }

    /// The preprocessing of this run (never another one).
    public var preprocessor: FramePreprocessor { FramePreprocessor(config: card.preprocess, cache: frameCache) }

    // MARK: Prediction

    /// Per-frame probabilities for DICOM instances, with the run's preprocessing. Instances are
    /// decoded and preprocessed on all cores, a chunk ahead of the network; one bad file is one
    /// `FrameFailure`, never a crash. `progress(done, total)` counts instances.
    public func predict(instances: [InferenceInput], progress: ((Int, Int) -> Void)?) throws -> InferenceOutput {
        let pre = preprocessor
        let chunk = max(8, ProcessInfo.processInfo.activeProcessorCount * 4)
        let chunks = stride(from: 0, to: instances.count, by: chunk).map { Array(instances[$0..<min($0 + chunk, instances.count)]) }
        var frames: [FrameResult] = []
        var failures: [FrameFailure] = []
        var done = 0

        /// The next chunk, filled by the background preparation (read after `group.wait()`).
        final class Box: @unchecked Sendable { var value: [PreparedInstance]? }
        @Sendable func prepare(_ inputs: [InferenceInput]) -> [PreparedInstance] {
            var out = [PreparedInstance?](repeating: nil, count: inputs.count)
            out.withUnsafeMutableBufferPointer { slots in
                let base = slots.baseAddress!
                DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
                    base[i] = Self.prepare(inputs[i], with: pre)
                }
            }
            return out.map { $0! }
        }

        var next: [PreparedInstance]? = chunks.first.map(prepare)
        for c in chunks.indices {
            let current = next!
            // Preprocess the next chunk while the network runs on this one.
            let group = DispatchGroup()
            let upcoming = Box()
            if c + 1 < chunks.count {
                let inputs = chunks[c + 1]
                DispatchQueue.global().async(group: group) { upcoming.value = prepare(inputs) }
            }
            var ready: [(input: InferenceInput, file: FileFacts, instance: PreprocessedInstance)] = []
            for p in current {
                switch p {
                case .failed(let f): failures.append(f)
                case .ready(let input, let file, let instance):
                    if instance.frames.isEmpty {
                        failures.append(FrameFailure(path: input.path, reason: "no frame selected by the frame policy \(card.preprocess.frames.text)"))
                    } else if let bad = instance.frames.first(where: { $0.decode == nil }) {
                        failures.append(FrameFailure(path: input.path, reason: "frame \(bad.frameIndex) has no decode record"))
                    } else {
                        ready.append((input, file, instance))
                    }
                }
            }
            let flat = ready.flatMap { r in r.instance.frames.map { (r, $0) } }
            let outputs = try outputs(of: flat.map(\.1))
            for ((r, frame), p) in zip(flat, outputs) {
                // Binary: σ of the logit. Multi-class: every class's probability, and the largest as `probability`.
                let classProbabilities = card.task == .multiclass ? p.map(Double.init) : nil
                frames.append(FrameResult(path: r.input.path, sopInstanceUID: r.file.sop, seriesInstanceUID: r.file.series,
                                          studyInstanceUID: r.file.study, studyKey: r.input.studyKey, patientKey: r.input.patientKey,
                                          frameIndex: frame.frameIndex, probability: Double(p.max()!), crop: frame.crop, decode: frame.decode!,
                                          warnings: r.instance.warnings, classProbabilities: classProbabilities))
            }
            group.wait()
            next = upcoming.value
            done += current.count
            progress?(done, instances.count)
        }
        return InferenceOutput(frames: frames, failures: failures)
    }

    /// σ(logit) of preprocessed frames (binary run), in batches of exactly `batchSize` (see
    /// `outputs(of:)`). For a multi-class run use `classProbabilities(of:)`.
    public func probabilities(of frames: [PreprocessedFrame]) throws -> [Float] {
        guard card.task == .binary else {
            throw TrainingError.invalidOption(name: "probabilities", reason: "the run is multi-class (\(card.classes.joined(separator: ","))): it gives one probability per class (classProbabilities)")
        }
        return try outputs(of: frames).map { $0[0] }
    }

    /// Multi-class: per frame, the softmax over the classes (`card.classes` order, summing to 1).
    /// Binary: per frame, [σ(logit)] (the positive class's probability only).
    public func classProbabilities(of frames: [PreprocessedFrame]) throws -> [[Float]] {
        try outputs(of: frames)
    }

    /// The network's probabilities per frame (1 value for a binary run, K for K classes), in
    /// batches of exactly `batchSize` (the last one padded
    /// with copies of its last frame, whose outputs are dropped): oneDNN may pick another kernel,
    /// with another summation order, for another batch size, so a frame's probability must not
    /// depend on how many frames it was scored with (a shard of `predict`, a smaller input).
    func outputs(of frames: [PreprocessedFrame]) throws -> [[Float]] {
        let size = card.preprocess.size
        if let bad = frames.first(where: { $0.image.width != size || $0.image.height != size }) {
            throw TrainingError.wrongFrameSize(expected: size, got: bad.image.width)
        }
        let pre = FramePreprocessor(config: card.preprocess)
        var out: [[Float]] = []
        out.reserveCapacity(frames.count)
        let k = model.outputCount
        lock.lock(); defer { lock.unlock() }
        for start in stride(from: 0, to: frames.count, by: batchSize) {
            let batch = Array(frames[start..<min(start + batchSize, frames.count)])
            let padded = batch + Array(repeating: batch[batch.count - 1], count: batchSize - batch.count)
            var x = Tensor.zeros([batchSize, size, size, 3])
            x.scalars.withUnsafeMutableBufferPointer { pre.writeBatch(padded, into: $0) }
            let p = try model.probabilities(images: x)
            for i in 0..<batch.count { out.append(Array(p[(i * k)..<((i + 1) * k)])) }
        }
        return out
    }

    struct FileFacts { let sop: String, series: String, study: String }
    enum PreparedInstance {
        case ready(InferenceInput, FileFacts, PreprocessedInstance)
        case failed(FrameFailure)
    }

    static func prepare(_ input: InferenceInput, with pre: FramePreprocessor) -> PreparedInstance {
        do {
            let file = try DicomFile(path: input.path)
            let m = file.metadata
            if let expected = input.sopInstanceUID, expected != m.sopInstanceUID {
                return .failed(FrameFailure(path: input.path, reason: "the file's SOP Instance UID differs from the catalog's (file changed since ingest?)"))
            }
            let instance = try pre.process(file)
            return .ready(input, FileFacts(sop: m.sopInstanceUID, series: m.seriesInstanceUID, study: m.studyInstanceUID), instance)
        } catch {
            return .failed(FrameFailure(path: input.path, reason: "\(error)"))
        }
    }

    // MARK: Grad-CAM

    /// Grad-CAM (Selvaraju et al. 2017) of one preprocessed frame for one class: with A
    /// the activations (h, w, C) of the last convolutional stage (VGG16: block5_conv3 after its
    /// ReLU; small: the last block's ReLU) and z the logit explained — binary: the one logit (the
    /// positive class); multi-class: z_k of class `classIndex` (before the softmax, as in the
    /// paper), by default the predicted class (argmax of the logits) —
    ///   α_c = (1 / hw) Σ_{i,j} ∂z/∂A_{ijc},   L_{ij} = max(0, Σ_c α_c A_{ijc}),
    /// then L / max(L) (all zeros when max(L) = 0), resized bilinearly (pixel centres aligned)
    /// to `size` x `size`. Row-major, `size * size` values in 0...1.
    public func gradCAM(of frame: PreprocessedFrame, classIndex: Int? = nil) throws -> [Float] {
        let size = card.preprocess.size
        let k = model.outputCount
        if let classIndex {
            guard k > 1 ? (0..<k).contains(classIndex) : classIndex == 0 else {
                throw TrainingError.invalidOption(name: "gradCAM", reason: "class index \(classIndex) is not an output of the network (\(k) output(s))")
            }
        }
        guard frame.image.width == size, frame.image.height == size else {
            throw TrainingError.wrongFrameSize(expected: size, got: frame.image.width)
        }
        lock.lock(); defer { lock.unlock() }
        let layers = model.layers
        // The last layer of the base whose output is still a feature map.
        guard let target = model.base.lastIndex(where: { $0 is Conv2D || $0 is ReLU || $0 is BatchNorm }) else {
            throw TrainingError.invalidOption(name: "gradCAM", reason: "the network has no convolutional layer")
        }
        var x = Tensor(shape: [1, size, size, 3], scalars: card.preprocess.normalize.normalize(frame.image))
        var context = ForwardContext(training: false)
        for i in 0...target { x = try layers[i].forward(x, keepForBackward: false, context: &context) }
        let activations = x
        var h = activations
        for i in (target + 1)..<layers.count { h = try layers[i].forward(h, keepForBackward: true, context: &context) }
        // Seed: ∂z/∂logits, one-hot at the class explained.
        let explained = classIndex ?? (h.scalars.indices.max { h.scalars[$0] < h.scalars[$1] } ?? 0)
        var seed = [Float](repeating: 0, count: h.count)
        seed[explained] = 1
        var g = Tensor(shape: h.shape, scalars: seed)
        for i in stride(from: layers.count - 1, to: target, by: -1) {
            g = try layers[i].backward(g, needInputGradient: true)!
        }
        for l in layers { l.releaseCache() }
        return Self.camMap(activations: activations, gradients: g, size: size)
    }

    /// The Grad-CAM map from activations and gradients (1, h, w, C), resized to size x size.
    static func camMap(activations a: Tensor, gradients g: Tensor, size: Int) -> [Float] {
        let (hh, ww, c) = (a.shape[1], a.shape[2], a.shape[3])
        var alpha = [Float](repeating: 0, count: c)
        for p in 0..<(hh * ww) { for k in 0..<c { alpha[k] += g.scalars[p * c + k] } }
        for k in 0..<c { alpha[k] /= Float(hh * ww) }
        var cam = [Float](repeating: 0, count: hh * ww)
        for p in 0..<(hh * ww) {
            var s: Float = 0
            for k in 0..<c { s += alpha[k] * a.scalars[p * c + k] }
            cam[p] = max(0, s)
        }
        let top = cam.max() ?? 0
        if top > 0 { for p in cam.indices { cam[p] /= top } }
        var out = [Float](repeating: 0, count: size * size)
        let sy = Float(hh) / Float(size), sx = Float(ww) / Float(size)
        for y in 0..<size {
            let fy = min(max((Float(y) + 0.5) * sy - 0.5, 0), Float(hh - 1))
            let y0 = Int(fy), y1 = min(y0 + 1, hh - 1), ty = fy - Float(y0)
            for xx in 0..<size {
                let fx = min(max((Float(xx) + 0.5) * sx - 0.5, 0), Float(ww - 1))
                let x0 = Int(fx), x1 = min(x0 + 1, ww - 1), tx = fx - Float(x0)
                let top = cam[y0 * ww + x0] * (1 - tx) + cam[y0 * ww + x1] * tx
                let bottom = cam[y1 * ww + x0] * (1 - tx) + cam[y1 * ww + x1] * tx
                out[y * size + xx] = top * (1 - ty) + bottom * ty
            }
        }
        return out
    }
}
