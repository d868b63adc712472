import DICOM
import Evaluation
import Foundation
import Imaging
import Preprocess
@testable import Reports

/// Synthetic prediction inputs: two studies (one with two instances, one cine), and a third
/// study whose only instance failed.
enum PredictionTestData {
    static let secret = Data(repeating: 7, count: 32)

    static let model = PredictionModel(
        modelID: "sonokit-small-0123abcd", architecture: "small", weightsSHA256: String(repeating: "ab", count: 32),
        weightsOrigin: "trained from scratch", classes: ["benign", "malignant"], positiveClass: "malignant",
        deviceUID: PredictionModel.deviceUID(modelID: "sonokit-small-0123abcd", weightsSHA256: String(repeating: "ab", count: 32)),
        preprocessingHash: String(repeating: "cd", count: 32), softwareVersions: ["sonokit": "0.1.0", "dcmtk": "3.6.7"],
        createdAt: "2026-11-25T12:00:00Z")

    static func rule(_ aggregation: StudyAggregation = .mean, threshold: Double = 0.4) -> PredictionDecisionRule {
        // Provenance has no public initialiser (only `fit` makes one): decode the record as a model card holds it.
        let aggregationJSON = String(decoding: try! JSONEncoder().encode(aggregation), as: UTF8.self)
        let provenance = try! JSONDecoder().decode(ThresholdChoice.Provenance.self, from: Data("""
            {"split": "validation", "level": "study", "aggregation": \(aggregationJSON), "samples": 8,
             "positives": 4, "negatives": 4, "sensitivity": 0.75, "specificity": 1}
            """.utf8))
        return PredictionDecisionRule(aggregation: aggregation,
                                      threshold: ThresholdChoice(rule: .youden, value: threshold, fittedOn: provenance),
                                      thresholdSource: "model card: youden on the validation split, study level")
    }

    static let usImage = "1.2.840.10008.5.1.4.1.1.6.1"
    static let usMultiframe = "1.2.840.10008.5.1.4.1.1.3.1"

    static let instances = [
        PredictionInstance(path: "/x/a1.dcm", sopClassUID: usImage, sopInstanceUID: "1.2.3.1.1", seriesInstanceUID: "1.2.3.1",
                           studyInstanceUID: "1.2.3", modality: "US", manufacturer: "Acme", numberOfFrames: 1),
        PredictionInstance(path: "/x/a2.dcm", sopClassUID: usImage, sopInstanceUID: "1.2.3.1.2", seriesInstanceUID: "1.2.3.1",
                           studyInstanceUID: "1.2.3", modality: "US", manufacturer: "Acme", numberOfFrames: 1),
        PredictionInstance(path: "/x/b1.dcm", sopClassUID: usMultiframe, sopInstanceUID: "1.2.4.1.1", seriesInstanceUID: "1.2.4.1",
                           studyInstanceUID: "1.2.4", modality: "US", manufacturer: "Acme", numberOfFrames: 12),
        PredictionInstance(path: "/x/c1.dcm", sopClassUID: usImage, sopInstanceUID: "1.2.5.1.1", seriesInstanceUID: "1.2.5.1",
                           studyInstanceUID: "1.2.5", modality: "US", numberOfFrames: 1),
    ]

    static let regionsCrop = CropDecision(box: PixelRect(x: 10, y: 20, width: 300, height: 200), source: .regions)
    static let autoCrop = CropDecision(box: PixelRect(x: 0, y: 0, width: 64, height: 48), source: .auto,
                                       warnings: ["no ultrasound regions: automatic crop"])
    static let rgb = DecodeRecord(photometricBefore: "YBR_FULL_422", photometricAfter: "RGB", colorConversion: .codec,
                                  voi: VOIDecision(source: .notApplicable, center: nil, width: nil))
    static let gray = DecodeRecord(photometricBefore: "MONOCHROME1", photometricAfter: "MONOCHROME2", colorConversion: .none,
                                   voi: VOIDecision(source: .fileWindow, center: 40, width: 400))

    /// Study 1.2.3: frames 0.2 and 0.6 (mean 0.4); study 1.2.4: cine frames 0.1, 0.3, 0.2.
    static let frames = [
        PredictedFrame(sopInstanceUID: "1.2.3.1.2", frameIndex: 0, probability: 0.6, crop: regionsCrop, decode: rgb, warnings: []),
        PredictedFrame(sopInstanceUID: "1.2.4.1.1", frameIndex: 4, probability: 0.3, crop: autoCrop, decode: gray, warnings: []),
        PredictedFrame(sopInstanceUID: "1.2.3.1.1", frameIndex: 0, probability: 0.2, crop: regionsCrop, decode: rgb, warnings: []),
        PredictedFrame(sopInstanceUID: "1.2.4.1.1", frameIndex: 0, probability: 0.1, crop: autoCrop, decode: gray, warnings: []),
        PredictedFrame(sopInstanceUID: "1.2.4.1.1", frameIndex: 9, probability: 0.2, crop: autoCrop, decode: gray,
                       warnings: ["frame policy uniform:8 asked for more frames than the loop has"]),
    ]

    static let failures = ["1.2.5.1.1": ["unsupported transfer syntax JPEG 2000 (1.2.840.10008.1.2.4.90)"]]
}
