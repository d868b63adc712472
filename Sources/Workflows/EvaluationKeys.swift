import Catalog
import Evaluation
import Foundation
import Manifest
import Preprocess
import Reports
import SonoKitCore
import Training

/// The pseudonymous keys and labels of the evaluated images: study and patient keys are the
/// catalog's keyed hashes of the manifest's study and patient (the split group), instance keys
/// hashes of the SOP Instance UID; labels, sites and manufacturers come from the manifest and catalog.
public struct EvaluationKeys {
    public let pseudonymizer: Pseudonymizer
    public let imageBySOP: [String: ResolvedImage]
    public let sopByPath: [String: String]
    /// Manufacturer per study key ("mixed: A; B" when a study's instances disagree).
    public let manufacturerByStudy: [String: String]

    public init(resolved: ResolvedManifest, catalog: Catalog, splits: Set<String>) throws {
        pseudonymizer = catalog.pseudonymizer
        var images: [String: ResolvedImage] = [:], paths: [String: String] = [:]
        var manufacturers: [String: Set<String>] = [:]
        for image in resolved.images {
            images[image.instance.sopInstanceUID] = images[image.instance.sopInstanceUID] ?? image
            paths[image.instance.path] = image.instance.sopInstanceUID
            guard let split = image.split, splits.contains(split) else { continue }
            if let m = try catalog.instance(sopUID: image.instance.sopInstanceUID)?.manufacturer, !m.isEmpty {
                manufacturers[pseudonymizer.studyKey(image.studyID), default: []].insert(m)
            }
        }
        imageBySOP = images
        sopByPath = paths
        manufacturerByStudy = manufacturers.mapValues { $0.count == 1 ? $0.first! : "mixed: " + $0.sorted().joined(separator: "; ") }
    }

    public func studyKey(of image: ResolvedImage) -> String { pseudonymizer.studyKey(image.studyID) }
    public func patientKey(of image: ResolvedImage) -> String { pseudonymizer.patientKey(image.patientID) }
    public func instanceKey(sopInstanceUID: String) -> String { Pseudonym.unkeyed(sopInstanceUID) }
    public func instanceKey(path: String) -> String { sopByPath[path].map(instanceKey(sopInstanceUID:)) ?? Pseudonym.unkeyed(path) }

    public func input(for image: ResolvedImage) -> InferenceInput {
        InferenceInput(path: image.instance.path, sopInstanceUID: image.instance.sopInstanceUID, studyKey: studyKey(of: image),
                       patientKey: patientKey(of: image))
    }

    public func attributes(of image: ResolvedImage) -> [String: String] {
        var a: [String: String] = [:]
        if let site = image.site, !site.isEmpty { a["site"] = site }
        if let m = manufacturerByStudy[studyKey(of: image)] { a["manufacturer"] = m }
        return a
    }

    public struct Row {
        public var split: String?
        public var row: EvaluationFrameRow
        public var prediction: FramePrediction {
            FramePrediction(studyKey: row.studyKey, patientKey: row.patientKey, frameIndex: row.frameIndex, isPositive: row.isPositive,
                            probability: row.probability, attributes: row.attributes)
        }
    }

    public func row(for frame: FrameResult) throws -> Row {
        guard let image = imageBySOP[frame.sopInstanceUID] else {
            throw WorkflowError.failed("\(frame.path): a predicted instance that the manifest does not name (SOP Instance UID changed since ingest?)")
        }
        return Row(split: image.split, row: EvaluationFrameRow(studyKey: studyKey(of: image), patientKey: patientKey(of: image),
                                                               instanceKey: instanceKey(sopInstanceUID: frame.sopInstanceUID),
                                                               frameIndex: frame.frameIndex, isPositive: image.isPositive,
                                                               probability: frame.probability, attributes: attributes(of: image)))
    }

    /// Patients, studies and frames (as selected by the frame policy) of every split, per class.
    public func dataCounts(_ resolved: ResolvedManifest, classes: ClassNames, policy: FramePolicy) -> [SplitCounts] {
        resolved.splitNames.map { name in
            let frames = resolved.images(inSplit: name).flatMap { image in
                policy.select(frameCount: max(1, image.instance.numberOfFrames)).indices.map { index in
                    // Counting only: the probability is not used.
                    FramePrediction(studyKey: studyKey(of: image), patientKey: patientKey(of: image), frameIndex: index,
                                    isPositive: image.isPositive, probability: 0)
                }
            }
            return SplitCounts(split: name, frames: frames, classes: classes)
        }
    }
}
