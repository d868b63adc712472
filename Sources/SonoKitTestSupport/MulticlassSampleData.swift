import Evaluation
import Foundation
import SonoKitCore

/// Deterministic synthetic multi-class predictions (4 ordered classes): 60 patients, one or two
/// studies each, 1-4 frames per study from one or two instances, two sites; the true class gets a
/// higher logit, and the neighbouring classes a little of it (as for ordered categories). The frame
/// paths contain a patient name on purpose: outputs must never show them. Used by the multi-class
/// evaluation and report tests instead of copies.
public enum MulticlassSampleData {
    public static let classes = ["normal", "benign", "suspicious", "malignant"]

    /// The patient name the synthetic file paths carry (never to appear in an output).
    public static let nameInPaths = "DOE^JANE"

    public static func frames(split: String, seed: UInt64, patients: Int = 60) -> [MulticlassFrame] {
        var g = SplitMix64(seed: seed)
        func uniform() -> Double { Double(g.uniform(below: 1_000_000)) / 1_000_000 }
        var frames: [MulticlassFrame] = []
        for p in 0..<patients {
            let patient = "\(split)-P\(p)"
            for s in 0..<(1 + Int(g.uniform(below: 2))) {
                // Prevalences about 0.4, 0.3, 0.2, 0.1; every class present in 60 patients.
                let u = uniform()
                let truth = p < classes.count ? p : (u < 0.4 ? 0 : u < 0.7 ? 1 : u < 0.9 ? 2 : 3)
                let study = "\(patient)-S\(s)"
                let frameCount = 1 + Int(g.uniform(below: 4))
                for f in 0..<frameCount {
                    var logits = (0..<classes.count).map { k in
                        -0.5 * Double((k - truth) * (k - truth)) + 2.4 * (uniform() - 0.5) * 2
                    }
                    logits[truth] += 0.3
                    let top = logits.max()!
                    let e = logits.map { exp($0 - top) }
                    let total = e.reduce(0, +)
                    let instance = f < 2 ? 0 : 1
                    frames.append(MulticlassFrame(
                        studyKey: study, patientKey: patient,
                        frame: FrameReference(path: "/export/\(nameInPaths)/\(study)/IM\(instance)", instanceKey: "\(study)-I\(instance)",
                                              frameIndex: f % 2),
                        trueClass: truth, probabilities: e.map { $0 / total },
                        attributes: ["site": p % 3 == 0 ? "B" : "A", "manufacturer": "Vendor One"]))
                }
            }
        }
        return frames
    }

    public static let run = RunIdentity(runId: "exp-mc", modelId: "vgg16-frozen-gap-dense256-softmax4", weightsSha256: String(repeating: "cd", count: 32),
                                        preprocessingHash: "sha256:" + String(repeating: "0f", count: 32), seed: 7,
                                        softwareVersions: [NamedValue("sonokit", "0.1.0"), NamedValue("swift", "6.3.1")],
                                        createdAt: "2026-12-07T06:00:00Z")

    public static func settings(replicates: Int = 200) -> MulticlassEvaluationSettings {
        MulticlassEvaluationSettings(aggregation: .mean, bootstrapReplicates: replicates, bootstrapSeed: 42, calibrationBins: 10)
    }

    /// The evaluation of the sample test split, computed once per test process.
    public static let cached = Result { try makeEvaluation() }

    public static func evaluation() throws -> MulticlassEvaluation { try cached.get() }

    public static func makeEvaluation(replicates: Int = 200, ordinal: Bool = true, patients: Int = 60) throws -> MulticlassEvaluation {
        let test = frames(split: "test", seed: 11, patients: patients), train = frames(split: "train", seed: 12, patients: 2 * patients)
        return try MulticlassEvaluator(settings(replicates: replicates))
            .evaluate(frames: test, classes: classes, ordinal: ordinal, split: "test", run: run,
                      dataCounts: [SplitCounts(split: "train", multiclassFrames: train, classes: classes),
                                   SplitCounts(split: "test", multiclassFrames: test, classes: classes)])
    }
}
