import Foundation
import Evaluation
import SonoKitCore

/// Deterministic synthetic predictions: 60 patients, one or two studies each, 1-5 frames per study,
/// two sites and two manufacturers; positives score higher on average. Used by the report, plot
/// and evaluator tests (EvaluationTests, ReportsTests) instead of copies.
public enum SampleData {
    public static func frames(split: String, seed: UInt64, patients: Int = 60) -> [FramePrediction] {
        var g = SplitMix64(seed: seed)
        var frames: [FramePrediction] = []
        for p in 0..<patients {
            let patient = "\(split)-P\(p)"
            let studyCount = 1 + Int(g.uniform(below: 2))
            for s in 0..<studyCount {
                let positive = g.uniform(below: 5) < 2
                let site = p % 3 == 0 ? "B" : "A"
                let manufacturer = p % 4 == 0 ? "Vendor Two" : "Vendor One"
                let centre = positive ? 0.62 : 0.35
                for f in 0..<(1 + Int(g.uniform(below: 5))) {
                    let noise = (Double(g.uniform(below: 1000)) / 1000 - 0.5) * 0.7
                    let probability = min(1, max(0, centre + noise)).roundedForSample(toPlaces: 3)
                    frames.append(FramePrediction(studyKey: "\(patient)-S\(s)", patientKey: patient, frameIndex: f, isPositive: positive,
                                                  probability: probability, attributes: ["site": site, "manufacturer": manufacturer]))
                }
            }
        }
        return frames
    }

    public static let classes = ClassNames(positive: "malignant", negative: "benign")

    public static func settings(replicates: Int = 200) -> EvaluationSettings {
        EvaluationSettings(aggregation: .mean, bootstrapReplicates: replicates, bootstrapSeed: 42, calibrationBins: 10,
                           subgroupMinimumPerClass: 10, rocBandStep: 0.1)
    }

    /// The default sample report, computed once per test process.
    public static let cached = Result { try makeReport() }

    /// A full report as the evaluate command would assemble it (fixed identity and date).
    public static func report() throws -> EvaluationReport { try cached.get() }

    public static func makeReport(replicates: Int = 200) throws -> EvaluationReport {
        let test = frames(split: "test", seed: 1), validation = frames(split: "validation", seed: 2), train = frames(split: "train", seed: 3, patients: 120)
        let settings = settings(replicates: replicates)
        let result = try Evaluator.evaluate(frames: test, split: "test", validationFrames: validation, validationSplit: "validation",
                                            rule: .youden, settings: settings)
        let run = RunIdentity(runId: "exp1", modelId: "vgg16-frozen-gap-dense256", weightsSha256: String(repeating: "ab", count: 32),
                              preprocessingHash: "sha256:" + String(repeating: "0f", count: 32), seed: 7,
                              softwareVersions: [NamedValue("sonokit", "0.1.0"), NamedValue("swift", "6.3.1"), NamedValue("dcmtk", "3.6.7")],
                              createdAt: "2026-11-25T14:00:00Z")
        return EvaluationReport(run: run, classes: classes, evaluatedSplit: "test", settings: settings, study: result.study,
                                frame: result.frame, subgroups: result.subgroups, failureAnalysis: result.failureAnalysis,
                                dataCounts: [("train", train), ("validation", validation), ("test", test)].map {
                                    SplitCounts(split: $0.0, frames: $0.1, classes: classes)
                                })
    }
}

extension Double {
    /// Rounded to `places` decimal places (the sample probabilities have three).
    fileprivate func roundedForSample(toPlaces places: Int) -> Double {
        let f = pow(10, Double(places))
        return (self * f).rounded() / f
    }
}
