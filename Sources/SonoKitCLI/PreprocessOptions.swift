import ArgumentParser
import Foundation
import DICOM
import Preprocess

extension CropMode: ExpressibleByArgument {}
extension AspectPolicy: ExpressibleByArgument {}
extension Interpolation: ExpressibleByArgument {}
extension Normalization: ExpressibleByArgument {}

/// The preprocessing options shared by every command that makes tensors (train, evaluate,
/// predict, preview, bench preprocess), so that preprocessing cannot drift between them. Pull in
/// with `@OptionGroup var preprocess: PreprocessOptions` and call `config()`.
public struct PreprocessOptions: ParsableArguments {
    public init() {}

    @Option(help: ArgumentHelp("Frames per instance: all, first, middle, uniform:N or stride:K.", valueName: "policy"))
    public var frames: String = "uniform:8"

    @Option(help: "Crop: regions (tissue regions of (0018,6011), falling back to auto), auto (moving / non-background pixels) or none.")
    public var crop: CropMode = .regions

    @Option(help: ArgumentHelp("Grayscale VOI window override as CENTER,WIDTH (never applied to colour).", valueName: "C,W"))
    public var window: String?

    @Option(help: "Aspect: pad (keep geometry, centre on black), stretch (as Keras target_size) or crop (centre square).")
    public var aspect: AspectPolicy = .pad

    @Option(help: "Interpolation: area (antialiased when shrinking, bilinear when enlarging: Pillow BILINEAR), bilinear (no antialiasing) or nearest.")
    public var interpolation: Interpolation = .area

    @Option(help: "Normalisation for the weights: caffe (VGG16 Keras ImageNet: BGR minus means), imagenet (torchvision mean/std) or unit (/255).")
    public var normalize: Normalization = .caffe

    @Option(help: "Side of the square network input in pixels.")
    public var size: Int = 224

    @Option(help: ArgumentHelp("Folder of the on-disk cache of preprocessed 8-bit frames (safe to delete); none when not given.",
                               valueName: "dir"))
    public var frameCache: String?

    @Option(help: "Size bound of the frame cache in MiB (least recently used frames are evicted).")
    public var frameCacheLimitMb: Int = 2048

    public func validate() throws {
        _ = try config()
        guard frameCacheLimitMb >= 1 else { throw ValidationError("--frame-cache-limit-mb must be at least 1") }
    }

    /// The pipeline for these options, with the frame cache when `--frame-cache` is given.
    public func preprocessor() throws -> FramePreprocessor {
        let cache = frameCache.map {
            FrameCache(directory: URL(fileURLWithPath: $0, isDirectory: true), maxBytes: Int64(frameCacheLimitMb) << 20)
        }
        return FramePreprocessor(config: try config(), cache: cache)
    }

    /// The configuration these options describe; a `ValidationError` names the bad option.
    public func config() throws -> PreprocessConfig {
        let policy: FramePolicy
        do { policy = try FramePolicy(parsing: frames) } catch { throw ValidationError("--frames \(error)") }
        var voi: VOIWindow? = nil
        if let window {
            let parts = window.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let c = parts[0], let w = parts[1] else {
                throw ValidationError("--window '\(window)': expected CENTER,WIDTH, e.g. --window 40,400")
            }
            voi = VOIWindow(center: c, width: w)
        }
        let config = PreprocessConfig(frames: policy, crop: crop, window: voi, aspect: aspect,
                                      interpolation: interpolation, normalize: normalize, size: size)
        do { try config.validate() } catch { throw ValidationError("\(error)") }
        return config
    }
}
