import Catalog
import Foundation
import Training

/// `features`: the frozen-base features of the frames a `train` with the same options will use,
/// computed into its feature cache, on all frames or on a deterministic shard of them; the
/// expensive step of a frozen-base recipe split over the tasks of a Slurm array.
///
/// - Same keys as `train`: the workflow prepares exactly what `TrainWorkflow` prepares (the
///   validated manifest, the completed config, the frames selected by the frame policy, the model
///   from the seed and weights), so a `train` with the same options finds every entry.
/// - Sharding: shard I/N takes the frames of the instances whose SOP Instance UID hashes to I
///   (FNV-1a 64 mod N, as `ingest --shard`): every instance is decoded by one shard only, the N
///   shards together cover every frame once, whatever machine or order they run in.
/// - Merging: entries are whole files renamed into place (`FeatureCache`), so N shards writing to
///   one shared folder need no merge step, and a task killed and requeued recomputes only the
///   entries it had not committed. Shards that wrote separate folders (node-local disks) are
///   joined by `mergeCaches(into:from:)` (`sonokit cache merge`).
public final class FeaturesWorkflow {
    public struct Options: Sendable {
        /// The training options this cache is for (manifest, splits, fold, config, caches); the run
        /// folder of `train` is never created here.
        public var manifest: ManifestInput
        public var splits: String
        public var fold: Int?
        public var config: TrainingConfig
        /// Folder of cached base features (nil: feature-cache/ next to the catalog, as `train`).
        public var featureCache: String?
        /// Folder of cached preprocessed frames (nil: frame-cache/ next to the catalog) and its bound.
        public var frameCache: String?
        public var frameCacheLimitMiB = 2048
        public var shard: Shard = .whole

        public init(manifest: ManifestInput, splits: String, config: TrainingConfig) {
            self.manifest = manifest
            self.splits = splits
            self.config = config
        }
    }

    public struct Result: Sendable {
        /// Frames of this shard (train and validation splits).
        public var frames: Int
        /// Of them, computed now and found already cached.
        public var computed: Int
        public var cached: Int
        /// Frames of every shard (what `train` will read).
        public var allFrames: Int
        public var seconds: Double
    }

    public let options: Options
    private let training: TrainWorkflow

    /// Validates the manifest and prepares the frames, as `TrainWorkflow.init` does.
    public init(_ options: Options, events: WorkflowEvents = .silent) throws {
        self.options = options
        var train = TrainWorkflow.Options(manifest: options.manifest, splits: options.splits, config: options.config,
                                          runDirectory: "features-only (never written)")
        train.fold = options.fold
        train.featureCache = options.featureCache
        train.frameCache = options.frameCache
        train.frameCacheLimitMiB = options.frameCacheLimitMiB
        training = try TrainWorkflow(train, events: events)
    }

    /// The config as `train` completes it (the cache keys follow from it).
    public var config: TrainingConfig { training.config }

    /// Frames of every shard.
    public var allFrames: Int { training.data.train.count + training.data.validation.count }

    public func run() throws -> Result {
        let start = Date()
        let counts = try training.precomputeFeatures(shard: options.shard)
        return Result(frames: counts.frames, computed: counts.computed, cached: counts.cached, allFrames: allFrames,
                      seconds: Date().timeIntervalSince(start))
    }

    /// `sonokit cache merge DEST SRC...`: the entries of the SRC feature caches that DEST lacks,
    /// copied into it one by one (whole file, then rename); see `FeatureCache.merge(into:from:)`.
    /// Same key with different bytes, a damaged entry or a stray file: an error naming the
    /// file(s), and DEST left as it was. After a merge, the temporaries killed writers left in
    /// DEST are removed (`FeatureCache.removeStaleTemporaries`, one warning line); the sources are
    /// only read (their temporaries are skipped and counted).
    public static func mergeCaches(into destination: String, from sources: [String], events: WorkflowEvents = .silent) throws -> FeatureCache.MergeOutcome {
        guard !sources.isEmpty else { throw WorkflowError.invalidInput("cache merge needs at least one source folder after DEST") }
        do {
            let outcome = try FeatureCache.merge(into: URL(fileURLWithPath: destination), from: sources.map { URL(fileURLWithPath: $0) })
            events.removeStaleTemporaries(of: FeatureCache(directory: URL(fileURLWithPath: destination)))
            return outcome
        } catch let error as FeatureCache.MergeError {
            throw WorkflowError.failed("\(error)")
        } catch let error as TrainingError {
            throw WorkflowError.failed("\(error)")
        }
    }
}
