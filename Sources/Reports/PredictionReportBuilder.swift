import DICOM
import Evaluation
import Foundation
import Preprocess

/// A study that produced no report, and why.
public struct PredictionStudyFailure: Codable, Hashable, Sendable {
    public var studyKey: String
    public var reasons: [String]

    public init(studyKey: String, reasons: [String]) {
        self.studyKey = studyKey
        self.reasons = reasons
    }
}

/// Raw identifiers of a study, used only with `--include-identifiers`.
public struct PredictionStudyIdentifiers: Hashable, Sendable {
    public var patient: PatientIdentifiers
    public var accessionNumber: String?

    public init(patient: PatientIdentifiers, accessionNumber: String?) {
        self.patient = patient
        self.accessionNumber = accessionNumber
    }
}

/// How a study's label is decided: the binary threshold rule or the multi-class rule.
public enum PredictionDecision: Sendable {
    case binary(PredictionDecisionRule)
    case multiclass(MulticlassPredictionRule)
}

/// Turns the frames the network scored into one report per study.
///
/// Frames are grouped by the StudyInstanceUID of their instance; within a study, series and
/// instances are sorted by key and frames by (instance, frame index) so that a report does not
/// depend on the order the frames were computed in. Binary: the study probability is the model
/// card's aggregation of the frame probabilities; the label is the positive class iff
/// probability >= threshold (the convention of `ThresholdChoice`). Multi-class: the study's class
/// probabilities and predicted class follow `MulticlassPredictionRule`; every frame must carry one
/// probability per class of the model.
public struct PredictionReportBuilder: Sendable {
    public var model: PredictionModel
    public var decision: PredictionDecision
    public var keys: PredictionKeys
    public var includeIdentifiers: Bool
    public var createdAt: String

    public init(model: PredictionModel, rule: PredictionDecisionRule, keys: PredictionKeys, includeIdentifiers: Bool,
                createdAt: String = ISO8601DateFormatter().string(from: Date())) {
        self.model = model
        self.decision = .binary(rule)
        self.keys = keys
        self.includeIdentifiers = includeIdentifiers
        self.createdAt = createdAt
    }

    /// A builder for a multi-class model (`model.classes` in the order of its outputs).
    public init(model: PredictionModel, multiclass rule: MulticlassPredictionRule, keys: PredictionKeys, includeIdentifiers: Bool,
                createdAt: String = ISO8601DateFormatter().string(from: Date())) {
        self.model = model
        self.decision = .multiclass(rule)
        self.keys = keys
        self.includeIdentifiers = includeIdentifiers
        self.createdAt = createdAt
    }

    /// Reports for every study with at least one scored frame, and the studies without one.
    /// `failures` maps SOP Instance UIDs to why that instance (or a frame of it) failed.
    public func build(instances: [PredictionInstance], frames: [PredictedFrame], failures: [String: [String]],
                      identifiers: (String) -> PredictionStudyIdentifiers? = { _ in nil })
        throws -> (reports: [PredictionReport], failed: [PredictionStudyFailure]) {
        let byUID = Dictionary(instances.map { ($0.sopInstanceUID, $0) }, uniquingKeysWith: { a, _ in a })
        var framesByStudy: [String: [PredictedFrame]] = [:]
        if case .multiclass(let rule) = decision {
            if let t = rule.thresholds, t.count != model.classes.count {
                throw PredictionError.classCount(what: "the decision rule has \(t.count) thresholds", classes: model.classes)
            }
            for frame in frames where frame.classProbabilities?.count != model.classes.count {
                throw PredictionError.classCount(what: "a frame has \(frame.classProbabilities?.count ?? 0) class probabilities", classes: model.classes)
            }
        }
        for frame in frames {
            guard let instance = byUID[frame.sopInstanceUID] else { throw PredictionError.unknownInstance(sopInstanceUID: frame.sopInstanceUID) }
            framesByStudy[instance.studyInstanceUID, default: []].append(frame)
        }
        let studyUIDs = Set(instances.map(\.studyInstanceUID))
        var reports: [PredictionReport] = [], failed: [PredictionStudyFailure] = []
        for studyUID in studyUIDs.sorted(by: { keys.studyKey($0) < keys.studyKey($1) }) {
            let members = instances.filter { $0.studyInstanceUID == studyUID }
            let studyFailures = members.flatMap { instance in
                (failures[instance.sopInstanceUID] ?? []).map { PredictionFailure(item: keys.instanceKey(instance.sopInstanceUID), reason: $0) }
            }
            guard let studyFrames = framesByStudy[studyUID], !studyFrames.isEmpty else {
                failed.append(PredictionStudyFailure(studyKey: keys.studyKey(studyUID),
                                                     reasons: studyFailures.isEmpty ? ["no image frames"] : studyFailures.map { "\($0.item): \($0.reason)" }))
                continue
            }
            reports.append(report(studyUID: studyUID, instances: members, frames: studyFrames, failures: studyFailures,
                                  identifiers: includeIdentifiers ? identifiers(studyUID) : nil))
        }
        return (reports, failed)
    }

    private func report(studyUID: String, instances: [PredictionInstance], frames: [PredictedFrame],
                        failures: [PredictionFailure], identifiers: PredictionStudyIdentifiers?) -> PredictionReport {
        let instanceByUID = Dictionary(instances.map { ($0.sopInstanceUID, $0) }, uniquingKeysWith: { a, _ in a })
        let sortedFrames = frames.sorted {
            let a = keys.instanceKey($0.sopInstanceUID), b = keys.instanceKey($1.sopInstanceUID)
            return a != b ? a < b : $0.frameIndex < $1.frameIndex
        }
        let framesByInstance = Dictionary(grouping: sortedFrames, by: \.sopInstanceUID)
        var series: [String: PredictionReport.Series] = [:]
        for (uid, instanceFrames) in framesByInstance {
            let instance = instanceByUID[uid]!
            let seriesKey = keys.seriesKey(instance.seriesInstanceUID)
            var entry = series[seriesKey] ?? PredictionReport.Series(
                seriesKey: seriesKey, seriesInstanceUID: includeIdentifiers ? instance.seriesInstanceUID : nil,
                modality: instance.modality, manufacturer: instance.manufacturer, instances: [])
            entry.instances.append(PredictionReport.Instance(
                instanceKey: keys.instanceKey(uid), sopInstanceUID: includeIdentifiers ? uid : nil,
                sopClassUID: instance.sopClassUID, framesUsed: instanceFrames.map(\.frameIndex),
                crop: instanceFrames[0].crop, decode: instanceFrames[0].decode))
            series[seriesKey] = entry
        }
        let seriesList = series.values.sorted { $0.seriesKey < $1.seriesKey }.map { s -> PredictionReport.Series in
            var s = s
            s.instances.sort { $0.instanceKey < $1.instanceKey }
            return s
        }
        var warnings: [String] = []
        for w in sortedFrames.flatMap({ $0.warnings + $0.crop.warnings }) where !warnings.contains(w) { warnings.append(w) }
        if !failures.isEmpty {
            warnings.append("\(failures.count) instance(s) or frame(s) of this study could not be used (see failures)")
        }
        var report = PredictionReport(
            studyKey: keys.studyKey(studyUID),
            studyKeySource: keys.studyKeySource(studyInstanceUID: studyUID),
            identifiers: identifiers.map {
                PredictionReport.Identifiers(studyInstanceUID: studyUID, patientID: $0.patient.patientID,
                                             patientName: $0.patient.patientName, accessionNumber: $0.accessionNumber)
            },
            createdAt: createdAt,
            model: model,
            series: seriesList,
            frames: sortedFrames.map {
                PredictionReport.Frame(instanceKey: keys.instanceKey($0.sopInstanceUID), frameIndex: $0.frameIndex,
                                       probability: $0.probability, decode: $0.decode)
            },
            aggregation: PredictionReport.Aggregation(rule: "", frameThreshold: nil, framesUsed: sortedFrames.count),
            probability: 0, threshold: nil, label: "", labelIsPositive: false,
            warnings: warnings,
            failures: failures)
        switch decision {
        case .binary(let rule):
            let probability = rule.aggregation.aggregate(sortedFrames.map(\.probability))
            let positive = probability >= rule.threshold.value
            report.aggregation = PredictionReport.Aggregation(rule.aggregation, framesUsed: sortedFrames.count)
            report.probability = probability
            report.threshold = PredictionReport.Threshold(rule.threshold, source: rule.thresholdSource)
            report.label = positive ? (model.positiveClass ?? "") : model.negativeClass
            report.labelIsPositive = positive
        case .multiclass(let rule):
            let vectors = sortedFrames.map { $0.classProbabilities! }
            let q = rule.aggregation.aggregate(vectors)
            let (k, reached) = rule.decide(q)
            report.schemaVersion = PredictionReport.multiclassSchemaVersion
            report.task = .multiclass
            report.aggregation = PredictionReport.Aggregation(rule: rule.aggregation.rawValue, frameThreshold: nil, framesUsed: sortedFrames.count)
            report.probability = q[k]
            report.label = model.classes[k]
            report.classProbabilities = zip(model.classes, q).map { PredictionReport.ClassProbability(name: $0, probability: $1) }
            report.decision = PredictionReport.Decision(
                rule: rule.thresholds == nil ? "argmax" : "per_class_thresholds",
                thresholds: rule.thresholds.map { t in zip(model.classes, t).map { PredictionReport.ClassThreshold(name: $0, value: $1) } },
                reachedThreshold: reached, source: rule.source)
            for i in report.frames.indices {
                report.frames[i].probability = vectors[i][k]
                report.frames[i].classProbabilities = vectors[i]
            }
            if reached == false {
                report.warnings.append("no class reached its threshold; the class closest to its own (largest probability / threshold: \(model.classes[k])) is reported")
            }
        }
        return report
    }
}
