import Foundation
import SonoKitCore

/// The settings of one multi-class evaluation, recorded in the report so its numbers can be reproduced.
public struct MulticlassEvaluationSettings: Codable, Equatable, Sendable {
    public var aggregation: MulticlassAggregation
    /// Nominal coverage of every interval (0.95).
    public var confidenceLevel: Double
    public var delongScale: DeLongIntervalScale
    /// Bootstrap replicates of the macro/weighted AUC intervals (2000, as the binary path); 0 turns it off.
    public var bootstrapReplicates: Int
    public var bootstrapSeed: UInt64
    /// Equal-width reliability bins per class (see `Calibration.reliabilityBins`).
    public var calibrationBins: Int
    /// The most studies listed as worst confusions.
    public var worstConfusionLimit: Int

    public init(aggregation: MulticlassAggregation = .mean, confidenceLevel: Double = 0.95, delongScale: DeLongIntervalScale = .logit,
                bootstrapReplicates: Int = 2000, bootstrapSeed: UInt64, calibrationBins: Int = 10, worstConfusionLimit: Int = 10) {
        self.aggregation = aggregation
        self.confidenceLevel = confidenceLevel
        self.delongScale = delongScale
        self.bootstrapReplicates = bootstrapReplicates
        self.bootstrapSeed = bootstrapSeed
        self.calibrationBins = calibrationBins
        self.worstConfusionLimit = worstConfusionLimit
    }

    /// The multi-class settings of the binary `EvaluationSettings` the evaluate command builds
    /// (aggregation `vote=<t>` with t ≠ 0.5 is refused: a multi-class frame votes for its argmax).
    public init(_ binary: EvaluationSettings, worstConfusionLimit: Int = 10) throws {
        self.init(aggregation: try MulticlassAggregation(binary.aggregation), confidenceLevel: binary.confidenceLevel,
                  delongScale: binary.delongScale, bootstrapReplicates: binary.bootstrapReplicates, bootstrapSeed: binary.bootstrapSeed,
                  calibrationBins: binary.calibrationBins, worstConfusionLimit: worstConfusionLimit)
    }

    /// Throws `invalidParameter` naming the first setting outside its domain.
    public func validate() throws {
        _ = try criticalValue(confidenceLevel: confidenceLevel)
        func check(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
            if !ok { throw EvaluationError.invalidParameter(name: name, value: "\(value)", expected: expected) }
        }
        try check(bootstrapReplicates >= 0, "bootstrap replicates", bootstrapReplicates, "0 (off) or a positive integer, e.g. 2000")
        try check(calibrationBins >= 1, "calibration bin count", calibrationBins, "a positive integer, e.g. 10 or 15")
        try check(worstConfusionLimit >= 0, "worst confusion limit", worstConfusionLimit, "0 or a positive integer, e.g. 10")
    }

    var bootstrap: PatientBootstrap? {
        bootstrapReplicates > 0 ? PatientBootstrap(replicates: bootstrapReplicates, seed: bootstrapSeed, confidenceLevel: confidenceLevel) : nil
    }
}

/// What `MulticlassEvaluator.evaluate(frames:...)` returns: the report and the rows of
/// studies.csv and frames.csv.
public struct MulticlassEvaluation: Sendable {
    public var report: MulticlassEvaluationReport
    /// The aggregated studies, sorted by key.
    public var studies: [MulticlassStudy]
    /// The evaluated frames, as given.
    public var frames: [MulticlassFrame]
}

/// Computes a multi-class evaluation: the library call behind `sonokit evaluate` for a
/// multi-class run.
///
/// ```swift
/// let evaluation = try MulticlassEvaluator(settings).evaluate(frames: frames, classes: ["a", "b", "c"], ordinal: false,
///                                                             split: "test", run: run, dataCounts: counts)
/// try MulticlassEvaluationOutput.write(evaluation, thumbnails: thumbnails, pictures: pictures, to: folder)   // Reports
/// ```
public struct MulticlassEvaluator: Sendable {
    public var settings: MulticlassEvaluationSettings

    public init(_ settings: MulticlassEvaluationSettings) {
        self.settings = settings
    }

    /// Study level (primary: frames aggregated by `settings.aggregation`) and frame level
    /// (secondary) of one split, and the worst confusions at study level.
    ///
    /// - Parameters:
    ///   - classes: the declared class names, in the order of the probability vectors.
    ///   - ordinal: the classes are ordered (kappa quadratic-weighted).
    ///   - dataCounts: counts per split for the report (`SplitCounts(split:multiclassFrames:classes:)`);
    ///     empty: the evaluated split's own counts.
    ///   - thresholds: nil decides by argmax; otherwise per-class thresholds (`PerClassThresholds`)
    ///     fitted by `rule` on the validation split's studies (aggregated by the same rule) for the
    ///     study level and on its frames for the frame level.
    public func evaluate(frames: [MulticlassFrame], classes: [String], ordinal: Bool, split: String, run: RunIdentity,
                         dataCounts: [SplitCounts] = [],
                         thresholds: (rule: ThresholdRule, validationFrames: [MulticlassFrame], validationSplit: String)? = nil) throws
        -> MulticlassEvaluation {
        try settings.validate()
        guard classes.count >= 2 else { throw MulticlassEvaluationError.tooFewClasses(count: classes.count) }
        if let f = frames.first, f.probabilities.count != classes.count {
            throw MulticlassEvaluationError.classNamesMismatch(names: classes, classCount: f.probabilities.count)
        }
        let studies = try settings.aggregation.aggregate(frames, classCount: classes.count)
        var studyDecision = MulticlassDecisionRule.argmax, frameDecision = MulticlassDecisionRule.argmax
        if let t = thresholds {
            let validationStudies = try settings.aggregation.aggregate(t.validationFrames, classCount: classes.count)
            studyDecision = .perClassThresholds(try PerClassThresholds.fit(t.rule, on: validationStudies.map(\.sample), classCount: classes.count,
                                                                          split: t.validationSplit, level: .study))
            frameDecision = .perClassThresholds(try PerClassThresholds.fit(t.rule, on: t.validationFrames.map(\.sample), classCount: classes.count,
                                                                          split: t.validationSplit, level: .frame))
        }
        let study = try evaluate(studies.map(\.sample), classes: classes, ordinal: ordinal, level: .study, split: split, decision: studyDecision)
        let frame = try evaluate(frames.map(\.sample), classes: classes, ordinal: ordinal, level: .frame, split: split, decision: frameDecision)
        let counts = dataCounts.isEmpty ? [SplitCounts(split: split, multiclassFrames: frames, classes: classes)] : dataCounts
        var warnings: [String] = []
        if case .perClassThresholds(let t) = studyDecision, t.isFitted(on: split) {
            warnings.append("The per-class thresholds were fitted on the evaluated split '\(split)': the decision-dependent metrics "
                + "(confusion matrix, accuracy, sensitivity, specificity, PPV, F1, kappa) are optimistic. Evaluate on a split they were not fitted on.")
        }
        let report = MulticlassEvaluationReport(run: run, classes: classes, ordinal: ordinal, evaluatedSplit: split, settings: settings,
                                                study: study, frame: frame,
                                                worstConfusions: WorstConfusion.list(studies, classes: classes, limit: settings.worstConfusionLimit,
                                                                                     decision: studyDecision),
                                                dataCounts: counts, warnings: warnings)
        return MulticlassEvaluation(report: report, studies: studies, frames: frames)
    }

    /// All metrics of one level's samples (studies or frames).
    ///
    /// Fails (typed error) on empty input, a missing class, a vector that is not a probability
    /// vector; degrades with a note where an interval cannot be had (DeLong with < 2 patients of a
    /// side, a degenerate bootstrap).
    public func evaluate(_ samples: [MulticlassSample], classes: [String], ordinal: Bool, level: EvaluationLevel,
                         split: String, decision: MulticlassDecisionRule = .argmax) throws -> MulticlassLevelResult {
        try settings.validate()
        let what = "\(split) split (\(level.rawValue) level)"
        guard !samples.isEmpty else { throw EvaluationError.empty(what: what) }
        if samples[0].probabilities.count != classes.count {
            throw MulticlassEvaluationError.classNamesMismatch(names: classes, classCount: samples[0].probabilities.count)
        }
        let outcomes = try MulticlassOutcomes(samples, classCount: classes.count, what: what)
        if case .perClassThresholds(let t) = decision, t.thresholds.count != classes.count {
            throw EvaluationError.invalidParameter(name: "per-class thresholds", value: "\(t.thresholds.count) thresholds",
                                                   expected: "one threshold per class (\(classes.count))")
        }
        let matrix = MulticlassConfusionMatrix(outcomes, decision: decision)
        let patients = samples.map(\.group)
        let n = outcomes.count

        var notes: [String] = []
        if case .perClassThresholds(let t) = decision, t.isFitted(on: split) {
            notes.append("The per-class thresholds were fitted on this split (\(split)): the decision-dependent metrics here are optimistic.")
        }
        var macroBootstrap: AUCResult.BootstrapResult?, weightedBootstrap: AUCResult.BootstrapResult?
        if let bootstrap = settings.bootstrap {
            do {
                let (macro, weighted, s) = try bootstrap.multiclassAUCIntervals(samples, classCount: classes.count)
                macroBootstrap = .init(interval: macro, replicates: s.replicates, used: s.used, skipped: s.skipped, seed: s.seed,
                                       resamplingUnit: s.resamplingUnit)
                weightedBootstrap = .init(interval: weighted, replicates: s.replicates, used: s.used, skipped: s.skipped, seed: s.seed,
                                          resamplingUnit: s.resamplingUnit)
                if s.skipped > 0 {
                    notes.append("\(s.skipped) of \(s.replicates) bootstrap replicates lacked a class and were skipped.")
                }
            } catch let error as EvaluationError {
                notes.append("No bootstrap interval for the macro and weighted AUC: \(error)")
            }
        } else {
            notes.append("Bootstrap turned off (0 replicates).")
        }

        var perClass: [MulticlassClassResult] = []
        var coverageNotes: [[String]] = [], ownNotes: [[String]] = []
        let decided = matrix.predicted
        for k in 0..<classes.count {
            let binary = try outcomes.oneVsRest(k)
            var auc = AUCResult(estimate: ROC.auc(binary), delong: nil, bootstrap: nil)
            var own: [String] = []
            do {
                let d = try DeLong.patientAwareInterval(binary, patients: patients, confidenceLevel: settings.confidenceLevel,
                                                        scale: settings.delongScale)
                auc.delong = .init(variance: d.variance, interval: d.interval)
            } catch let error as EvaluationError {
                own.append("No DeLong interval: \(error)")
            }
            // The bootstrap interval of the macro AUC stands in for the class's own in the
            // coverage notes: they are about how many patients the intervals rest on.
            let forNotes = AUCResult(estimate: auc.estimate, delong: auc.delong, bootstrap: macroBootstrap)
            let kSamples = samples.map { ScoredSample(key: $0.key, group: $0.group, isPositive: $0.trueClass == k, score: $0.probabilities[k]) }
            own += SampleSizeWarning.notes(positives: binary.positives, negatives: binary.negatives, auc: auc, level: level)
            if decided[k] == 0 { own.append("No \(level == .study ? "study" : "frame") was decided as this class: its PPV is undefined.") }
            ownNotes.append(own)
            coverageNotes.append(CoverageWarning.notes(kSamples, auc: forNotes, level: level))

            let tp = matrix.counts[k][k]
            let trueNegatives = n - outcomes.support[k] - decided[k] + tp
            let bins = try Calibration.reliabilityBins(binary, binCount: settings.calibrationBins)
            perClass.append(MulticlassClassResult(
                index: k, name: classes[k], support: outcomes.support[k], prevalence: Double(outcomes.support[k]) / Double(n), auc: auc,
                sensitivity: try Proportion(tp, of: outcomes.support[k], confidenceLevel: settings.confidenceLevel)!,
                specificity: try Proportion(trueNegatives, of: n - outcomes.support[k], confidenceLevel: settings.confidenceLevel)!,
                positivePredictiveValue: try Proportion(tp, of: decided[k], confidenceLevel: settings.confidenceLevel),
                f1: MulticlassMetrics.f1(matrix, classIndex: k),
                calibration: CalibrationResult(brierScore: try Calibration.brierScore(binary), logLoss: try Calibration.logLoss(binary),
                                               expectedCalibrationError: Calibration.expectedCalibrationError(bins: bins),
                                               binCount: settings.calibrationBins, bins: bins),
                rocCurve: ROC.curve(binary)))
        }
        notes += Self.mergeClassNotes(coverageNotes, own: ownNotes, classes: classes)

        let macro = perClass.reduce(0.0) { $0 + $1.auc.estimate } / Double(classes.count)
        let weighted = perClass.reduce(0.0) { $0 + $1.prevalence * $1.auc.estimate }
        return MulticlassLevelResult(
            level: level, split: split,
            counts: MulticlassCounts(samples: n, patients: Set(patients).count, perClass: outcomes.support),
            perClass: perClass,
            decision: decision,
            macroAUC: AveragedAUC(estimate: macro, bootstrap: macroBootstrap),
            weightedAUC: AveragedAUC(estimate: weighted, bootstrap: weightedBootstrap),
            confusionMatrix: matrix,
            accuracy: try MulticlassMetrics.accuracy(matrix, confidenceLevel: settings.confidenceLevel),
            balancedAccuracy: MulticlassMetrics.balancedAccuracy(matrix),
            macroF1: MulticlassMetrics.macroF1(matrix),
            kappa: MulticlassMetrics.cohenKappa(matrix, weighting: ordinal ? .quadratic : .none),
            topTwoAccuracy: classes.count > 2 ? try MulticlassMetrics.topKAccuracy(outcomes, k: 2, confidenceLevel: settings.confidenceLevel) : nil,
            brierScore: MulticlassMetrics.brierScore(outcomes),
            logLoss: MulticlassMetrics.logLoss(outcomes),
            notes: notes)
    }

    /// A coverage note every class produced word for word (the Wilson note on several samples per
    /// patient, the bootstrap note on few patients) is about the level and is said once; the other
    /// coverage notes and every note of `own` (sample size, DeLong, PPV) are about their class and
    /// are prefixed with it ("Class benign against the rest: ...", where "positive" means that class).
    static func mergeClassNotes(_ coverage: [[String]], own: [[String]], classes: [String]) -> [String] {
        var shared: [String] = []
        for note in coverage.first ?? [] where coverage.allSatisfy({ $0.contains(note) }) && !shared.contains(note) { shared.append(note) }
        var out = shared
        for k in classes.indices {
            for note in own[k] + coverage[k] where !shared.contains(note) { out.append("Class \(classes[k]) against the rest: \(note)") }
        }
        return out
    }
}

extension SplitCounts {
    /// Counts a split of a multi-class task from its frames, per declared class.
    public init(split: String, multiclassFrames frames: [MulticlassFrame], classes: [String]) {
        self.init(split: split, frames: [], classes: ClassNames(positive: "", negative: ""))
        patients = Set(frames.map(\.patientKey)).count
        studies = Set(frames.map(\.studyKey)).count
        self.frames = frames.count
        perClass = classes.enumerated().map { k, name in
            let members = frames.filter { $0.trueClass == k }
            return ClassCount(className: name, patients: Set(members.map(\.patientKey)).count,
                              studies: Set(members.map(\.studyKey)).count, frames: members.count)
        }
    }
}

/// A study the model confused: decided as a wrong class, listed by how sure the model was of a
/// wrong class.
public struct WorstConfusion: Codable, Equatable, Sendable {
    public var studyKey: String
    public var trueClass: String
    /// The decided class (≠ the true class): the argmax, or the per-class threshold decision.
    public var predictedClass: String
    /// The probability of the decided (wrong) class: with argmax decisions, the highest
    /// probability on any wrong class.
    public var wrongProbability: Double
    /// The probability of the true class.
    public var trueProbability: Double
    /// The study vector, in class order.
    public var probabilities: [Double]
    public var framesUsed: Int
    /// Study attributes ("site", "manufacturer") sorted by name.
    public var attributes: [NamedValue]

    /// The misclassified studies (decided class ≠ true class) with the highest probability of the
    /// decided class first (ties by study key), at most `limit`.
    public static func list(_ studies: [MulticlassStudy], classes: [String], limit: Int,
                            decision: MulticlassDecisionRule = .argmax) -> [WorstConfusion] {
        studies.filter { decision.decide($0.probabilities) != $0.trueClass }
            .map { s -> WorstConfusion in
                let predicted = decision.decide(s.probabilities)
                return WorstConfusion(studyKey: s.studyKey, trueClass: classes[s.trueClass], predictedClass: classes[predicted],
                                      wrongProbability: s.probabilities[predicted], trueProbability: s.probabilities[s.trueClass],
                                      probabilities: s.probabilities, framesUsed: s.framesUsed,
                                      attributes: s.attributes.sorted { $0.key < $1.key }.map { NamedValue($0.key, $0.value) })
            }
            .sorted { ($0.wrongProbability, $1.studyKey) > ($1.wrongProbability, $0.studyKey) }
            .prefix(max(0, limit)).map { $0 }
    }
}
