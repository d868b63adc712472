import CNN
import DICOM
import Evaluation
import Foundation
import Preprocess
import SonoKitTestSupport
@testable import Training
import XCTest
import SonoKitCore

/// The inference half of the run contract: a run directory written from a network loads back
/// with the same weights, predicts every frame of real (SampleStudies) DICOM files, turns a bad
/// file into a FrameFailure, and gives a Grad-CAM map in 0...1.
final class TrainedRunTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-trainedrun-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// A narrow `small` network on 32x32 inputs (fast), with a card describing it.
    static func freshRun(at directory: String, seed: UInt64 = 1) throws -> (Model, ModelCard) {
        let spec = NetworkSpec(architecture: .small, headUnits: 8, widths: [4, 8], inputSize: 32)
        var rng = SplitMix64(seed: seed)
        let model = try spec.make(rng: &rng)
        let config = PreprocessConfig(frames: .uniform(2), normalize: .unit, size: 32)
        let card = ModelCard(modelID: "", architecture: "small", weightsSHA256: "", weightsOrigin: "trained from scratch",
                             frozenLayers: [], preprocess: config, preprocessHash: config.hash, classes: ["benign", "malignant"],
                             positiveClass: "malignant", manifestHash: "none", seed: seed, threshold: .fixed(0.5),
                             softwareVersions: SoftwareVersions.all, createdAt: "2026-01-01T00:00:00Z", network: spec)
        return (model, card)
    }

    static func sampleFiles() -> [String] {
        let root = RepositoryPaths.sampleStudies.path
        let walker = FileManager.default.enumerator(atPath: root)!
        return walker.compactMap { $0 as? String }.filter { $0.contains("/IM") || $0.contains("/IMG") }.sorted()
            .map { root + "/" + $0 }
    }

    // MARK: Write, load, predict

    func testFreshRunLoadsAndPredictsSampleStudiesFrames() throws {
        let dir = work.appendingPathComponent("run").path
        let (model, card) = try Self.freshRun(at: dir)
        let written = try TrainedRun.write(model: model, card: card, to: dir)
        let loaded = try TrainedRun(directory: dir)
        XCTAssertEqual(loaded.card, written.card)
        XCTAssertTrue(loaded.card.modelID.hasPrefix("sonokit-small-"))

        let files = Array(Self.sampleFiles().prefix(6))
        XCTAssertEqual(files.count, 6)
        var inputs = files.map { InferenceInput(path: $0, studyKey: "S\($0.hashValue & 7)", patientKey: "P") }
        inputs.append(InferenceInput(path: work.appendingPathComponent("missing.dcm").path, studyKey: "X", patientKey: "P"))
        var calls = 0
        let out = try loaded.predict(instances: inputs) { _, _ in calls += 1 }
        XCTAssertGreaterThan(calls, 0)
        XCTAssertEqual(out.failures.count, 1, "the missing file is one failure, not a crash")
        XCTAssertEqual(out.failures.first?.path, inputs.last!.path)
        XCTAssertGreaterThanOrEqual(out.frames.count, 6)
        for f in out.frames {
            XCTAssertTrue((0...1).contains(f.probability))
            XCTAssertFalse(f.studyInstanceUID.isEmpty)
        }
        // The same frames through the in-memory network give the same probabilities.
        let again = try loaded.predict(instances: inputs, progress: nil)
        XCTAssertEqual(again.frames.map(\.probability), out.frames.map(\.probability))
    }

    func testSwappedWeightsAreRefused() throws {
        let dir = work.appendingPathComponent("run").path
        let (model, card) = try Self.freshRun(at: dir)
        try TrainedRun.write(model: model, card: card, to: dir)
        var rng = SplitMix64(seed: 99)
        let other = try card.network.make(rng: &rng)
        try other.saveWeights(to: RunDirectory(dir).bestWeights)
        XCTAssertThrowsError(try TrainedRun(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("best.safetensors"), "\(error)")
        }
    }

    // MARK: Grad-CAM: α_c = mean ∂z/∂A_c, L = ReLU(Σ α_c A_c) / max

    func testGradCAMIsAMapInUnitRange() throws {
        let dir = work.appendingPathComponent("run").path
        let (model, card) = try Self.freshRun(at: dir)
        let run = try TrainedRun.write(model: model, card: card, to: dir)
        let file = try DicomFile(path: Self.sampleFiles()[0])
        let frame = try run.preprocessor.process(file).frames[0]
        let cam = try run.gradCAM(of: frame)
        XCTAssertEqual(cam.count, 32 * 32)
        XCTAssertTrue(cam.allSatisfy { (0...1).contains($0) })
    }

    func testCAMMapByHand() {
        // 2x1 map, 2 channels: A = [[1, 0], [0, 2]], gradients: channel 0 → +1 everywhere, channel 1 → -1.
        // α = [1, -1]; L = [max(0, 1), max(0, -2)] = [1, 0]; normalised [1, 0].
        let a = Tensor(shape: [1, 1, 2, 2], scalars: [1, 0, 0, 2])
        let g = Tensor(shape: [1, 1, 2, 2], scalars: [1, -1, 1, -1])
        let map = TrainedRun.camMap(activations: a, gradients: g, size: 2)
        XCTAssertEqual(map, [1, 0, 1, 0])
    }
}
