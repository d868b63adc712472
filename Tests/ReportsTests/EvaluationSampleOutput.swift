import Evaluation
import Foundation
import Imaging
@testable import Reports
import SonoKitCore

/// Synthetic evaluation outputs for the report tests: deterministic frame predictions of 60
/// patients (pseudonymous keys, two sites, two manufacturers; positives score higher on
/// average), a training history, and 224x224 thumbnails with a visible pattern.
enum EvaluationSampleOutput {
    static let classes = ClassNames(positive: "malignant", negative: "benign")

    /// Frame rows of one split; `instanceKey` is one instance per study.
    static func frames(split: String, seed: UInt64, patients: Int = 60) -> [EvaluationFrameRow] {
        var g = SplitMix64(seed: seed)
        var rows: [EvaluationFrameRow] = []
        for p in 0..<patients {
            let patient = String(format: "P-%016llx", g.next())
            for _ in 0..<(1 + Int(g.uniform(below: 2))) {
                let study = String(format: "S-%016llx", g.next())
                let positive = g.uniform(below: 5) < 2
                let attributes = ["site": p % 3 == 0 ? "B" : "A", "manufacturer": p % 4 == 0 ? "Vendor Two" : "Vendor One"]
                let instance = String(format: "%012llx", g.next() >> 16)
                for f in 0..<(1 + Int(g.uniform(below: 5))) {
                    let noise = (Double(g.uniform(below: 1000)) / 1000 - 0.5) * 0.7
                    let probability = (min(1, max(0, (positive ? 0.62 : 0.35) + noise)) * 1000).rounded() / 1000
                    rows.append(EvaluationFrameRow(studyKey: study, patientKey: patient, instanceKey: instance, frameIndex: f,
                                                   isPositive: positive, probability: probability, attributes: attributes))
                }
            }
        }
        return rows
    }

    static func predictions(_ rows: [EvaluationFrameRow]) -> [FramePrediction] {
        rows.map { FramePrediction(studyKey: $0.studyKey, patientKey: $0.patientKey, frameIndex: $0.frameIndex, isPositive: $0.isPositive,
                                   probability: $0.probability, attributes: $0.attributes) }
    }

    static let history = """
    epoch,loss,val_loss,val_auc,lr,seconds
    1,0.69,0.66,0.61,0.001,3.2
    2,0.61,0.60,0.70,0.001,3.1
    3,0.55,0.58,0.74,0.0005,3.0
    """

    /// A 224x224 picture: a diagonal gradient with a bright disc whose place depends on `seed`.
    static func picture(seed: Int) -> RGBImage {
        var image = RGBImage(width: 224, height: 224)
        let cx = 40 + (seed * 37) % 140, cy = 40 + (seed * 53) % 140
        for y in 0..<224 {
            for x in 0..<224 {
                let base = UInt8((x + y) / 4)
                let inDisc = (x - cx) * (x - cx) + (y - cy) * (y - cy) < 400
                let i = (y * 224 + x) * 3
                image.pixels[i] = inDisc ? 230 : base
                image.pixels[i + 1] = inDisc ? 230 : base
                image.pixels[i + 2] = inDisc ? 230 : base / 2
            }
        }
        return image
    }

    /// A complete output folder as `sonokit evaluate` writes it, from synthetic predictions.
    static func output(directory: URL, replicates: Int = 200, splitLabel: String = "test") throws -> EvaluationOutput {
        let test = frames(split: "test", seed: 11), validation = frames(split: "validation", seed: 12), train = frames(split: "train", seed: 13, patients: 120)
        let settings = EvaluationSettings(aggregation: .mean, bootstrapReplicates: replicates, bootstrapSeed: 42, rocBandStep: 0.05)
        let result = try Evaluator.evaluate(frames: predictions(test), split: splitLabel, validationFrames: predictions(validation),
                                            validationSplit: "validation", rule: .youden, settings: settings)
        let run = RunIdentity(runId: "exp1", modelId: "sonokit-small-0123abcd", weightsSha256: String(repeating: "ab", count: 32),
                              preprocessingHash: "sha256:" + String(repeating: "0f", count: 32), seed: 7,
                              softwareVersions: [NamedValue("sonokit", "0.1.0"), NamedValue("swift", "6.3")], createdAt: "2026-11-25T15:00:00Z")
        let report = EvaluationReport(run: run, classes: classes, evaluatedSplit: splitLabel, settings: settings, study: result.study, frame: result.frame,
                                      subgroups: result.subgroups, failureAnalysis: result.failureAnalysis,
                                      dataCounts: [("train", train), ("validation", validation), (splitLabel, test)].map {
                                          SplitCounts(split: $0.0, frames: predictions($0.1), classes: classes)
                                      })
        var thumbnails: [String: [EvaluationThumbnail]] = [:]
        var pictures: [String: RGBImage] = [:]
        let failures = (result.failureAnalysis.falsePositives + result.failureAnalysis.falseNegatives).prefix(6)
        for (n, failure) in failures.enumerated() {
            let studyFrames = test.filter { $0.studyKey == failure.studyKey }.prefix(2)
            thumbnails[failure.studyKey] = studyFrames.map { f in
                let file = EvaluationOutput.thumbnailFile(studyKey: f.studyKey, instanceKey: f.instanceKey, frameIndex: f.frameIndex)
                pictures[file] = picture(seed: n * 7 + f.frameIndex)
                return EvaluationThumbnail(file: file, instanceKey: f.instanceKey, frameIndex: f.frameIndex, probability: f.probability)
            }
        }
        let page = EvaluationPageContent(report: report, history: try TrainingHistory(csv: history),
                                         modelCard: [NamedValue("Architecture", "small"), NamedValue("Weights origin", "trained from scratch")],
                                         preprocessing: [NamedValue("Frames", "uniform:8"), NamedValue("Crop", "regions")],
                                         thumbnails: thumbnails)
        return EvaluationOutput(directory: directory, report: report, studies: result.studies, frames: test, page: page, pictures: pictures)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-reports-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
