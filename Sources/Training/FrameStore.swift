import CNN
import DICOM
import Foundation
import SonoKitCore
import Imaging
import Preprocess

/// The preprocessed 8-bit frames of a run's samples. Frames come from the on-disk frame cache
/// (`Preprocess.FrameCache`) when present, else the instance is decoded and preprocessed once and
/// every selected frame of it is stored in the cache: from the second epoch on, nothing is
/// decoded. Batches are assembled on all cores, each slot from its own sample, so the result does
/// not depend on scheduling.
public final class FrameStore: @unchecked Sendable {
    public let preprocessor: FramePreprocessor
    private let pixelHash: String
    private let lock = NSLock()
    /// Instances decoded by this store (for tests and progress: a second epoch adds none).
    public private(set) var decodedInstances = 0

    public init(preprocessor: FramePreprocessor) {
        self.preprocessor = preprocessor
        pixelHash = preprocessor.config.pixelHash
    }

    public var size: Int { preprocessor.config.size }

    /// The preprocessed frame of `sample`.
    public func frame(_ sample: TrainingSample) throws -> RGBImage {
        if let cache = preprocessor.cache,
           let hit = cache.load(key: FrameCache.key(sopInstanceUID: sample.sopInstanceUID, frame: sample.frameIndex, pixelHash: pixelHash)),
           hit.image.width == size, hit.image.height == size {
            return hit.image
        }
        let file: DicomFile
        do { file = try DicomFile(path: sample.path) } catch {
            throw TrainingError.unreadable(file: sample.path, reason: "\(error)")
        }
        let instance = try preprocessor.process(file)
        lock.lock(); decodedInstances += 1; lock.unlock()
        if let f = instance.frames.first(where: { $0.frameIndex == sample.frameIndex }) { return f.image }
        // The frame policy selected other frames: preprocess this one with the instance's crop.
        let crop = instance.crop ?? CropDecision(box: PixelRect(x: 0, y: 0, width: file.frameWidth, height: file.frameHeight), source: .none)
        return preprocessor.render(try file.decodeRGB(frame: sample.frameIndex, window: preprocessor.config.window), crop: crop)
    }

    /// Preprocesses every instance of `samples` once, on all cores, filling the frame cache
    /// (instances whose frames are all cached are not decoded): the first epoch then never
    /// decodes one instance twice for two of its frames. Returns the instances decoded.
    @discardableResult
    public func prefetch(_ samples: [TrainingSample]) throws -> Int {
        guard preprocessor.cache != nil else { return 0 }
        var seen = Set<String>()
        let instances = samples.filter { seen.insert($0.sopInstanceUID).inserted }
        var failure: Error?
        let failureLock = NSLock()
        var decoded = 0
        DispatchQueue.concurrentPerform(iterations: instances.count) { i in
            do {
                let file = try DicomFile(path: instances[i].path)
                let result = try preprocessor.process(file)
                if result.frames.contains(where: { !$0.fromCache }) {
                    failureLock.lock(); decoded += 1; failureLock.unlock()
                }
            } catch {
                failureLock.lock(); if failure == nil { failure = TrainingError.unreadable(file: instances[i].path, reason: "\(error)") }; failureLock.unlock()
            }
        }
        if let failure { throw failure }
        lock.lock(); decodedInstances += decoded; lock.unlock()
        return decoded
    }

    /// The normalised NHWC batch of `samples`; `augment(i)` gives the augmentation and stream of
    /// slot i (nil: none).
    public func batch(_ samples: [TrainingSample], augment: ((Int) -> (AugmentationSet, SplitMix64)?)? = nil) throws -> Tensor {
        let per = size * size * 3
        var x = Tensor.zeros([samples.count, size, size, 3])
        var failure: Error?
        let failureLock = NSLock()
        let normalization = preprocessor.config.normalize
        x.scalars.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            DispatchQueue.concurrentPerform(iterations: samples.count) { i in
                do {
                    var image = try frame(samples[i])
                    if let (set, stream) = augment?(i) {
                        var rng = stream
                        image = set.apply(to: image, rng: &rng)
                    }
                    normalization.normalize(image, into: UnsafeMutableBufferPointer(start: base + i * per, count: per))
                } catch {
                    failureLock.lock(); if failure == nil { failure = error }; failureLock.unlock()
                }
            }
        }
        if let failure { throw failure }
        return x
    }
}
