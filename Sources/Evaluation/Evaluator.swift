/// Computes every result of one level of one split: the library call behind `sonokit evaluate`.
public enum Evaluator {
    /// All metrics of `samples` (studies or frames of the evaluated split) at `threshold`.
    ///
    /// Fails (typed error) on empty input, one class only, non-probabilities; degrades with a note
    /// where an interval cannot be had (DeLong with < 2 per class, a degenerate bootstrap).
    public static func evaluate(_ samples: [ScoredSample], level: EvaluationLevel, split: String,
                                threshold: ThresholdChoice, settings: EvaluationSettings) throws -> LevelResult {
        try settings.validate()
        let what = "\(split) split (\(level.rawValue) level)"
        guard !samples.isEmpty else { throw EvaluationError.empty(what: what) }
        let outcomes = try BinaryOutcomes(samples, what: what)
        try outcomes.requireProbabilities()
        var notes: [String] = []

        var auc = AUCResult(estimate: ROC.auc(outcomes), delong: nil, bootstrap: nil)
        do {
            let d = try DeLong.patientAwareInterval(outcomes, patients: samples.map(\.group), confidenceLevel: settings.confidenceLevel,
                                                    scale: settings.delongScale)
            auc.delong = .init(variance: d.variance, interval: d.interval)
            if d.variance == 0 {
                notes.append("The classes are perfectly separated: the AUC intervals are the single point \(auc.estimate); "
                    + "this reflects a small sample, not certainty.")
            }
        } catch let error as EvaluationError {
            notes.append("No DeLong interval: \(error)")
        }
        var band: [ROCBandPoint]?
        if let bootstrap = settings.bootstrap {
            do {
                let (interval, summary) = try bootstrap.aucInterval(samples)
                auc.bootstrap = .init(interval: interval, replicates: summary.replicates, used: summary.used, skipped: summary.skipped,
                                      seed: summary.seed, resamplingUnit: summary.resamplingUnit)
                let grid = stride(from: 0.0, through: 1.0 + 1e-9, by: settings.rocBandStep).map { min($0, 1) }
                band = try bootstrap.rocBand(samples, grid: grid).band
                if summary.skipped > 0 {
                    notes.append("\(summary.skipped) of \(summary.replicates) bootstrap replicates drew one class only and were skipped.")
                }
            } catch let error as EvaluationError {
                notes.append("No bootstrap interval: \(error)")
            }
        } else {
            notes.append("Bootstrap turned off (0 replicates).")
        }
        notes += SampleSizeWarning.notes(positives: outcomes.positives, negatives: outcomes.negatives, auc: auc, level: level)
        notes += CoverageWarning.notes(samples, auc: auc, level: level)

        let report = ThresholdReport(threshold, evaluatedSplit: split)
        if report.evaluatedOnFittingSplit {
            notes.append("The threshold was fitted on this split (\(split)): sensitivity and specificity at it are optimistic.")
        }
        let atThreshold = try ThresholdMetrics(outcomes, threshold: threshold.value, confidenceLevel: settings.confidenceLevel)
        if atThreshold.positivePredictiveValue == nil { notes.append("PPV undefined: no sample was called positive at the threshold.") }
        if atThreshold.negativePredictiveValue == nil { notes.append("NPV undefined: no sample was called negative at the threshold.") }
        if atThreshold.matthewsCorrelation == nil { notes.append("MCC undefined: every sample got the same decision.") }

        let bins = try Calibration.reliabilityBins(outcomes, binCount: settings.calibrationBins)
        let calibration = CalibrationResult(brierScore: try Calibration.brierScore(outcomes), logLoss: try Calibration.logLoss(outcomes),
                                            expectedCalibrationError: Calibration.expectedCalibrationError(bins: bins),
                                            binCount: settings.calibrationBins, bins: bins)
        return LevelResult(level: level, split: split, counts: SampleCounts(samples),
                           prevalence: Double(outcomes.positives) / Double(outcomes.count), auc: auc,
                           averagePrecision: PrecisionRecall.averagePrecision(outcomes), threshold: report,
                           atThreshold: atThreshold, calibration: calibration, rocCurve: ROC.curve(outcomes), rocBand: band,
                           precisionRecallCurve: PrecisionRecall.curve(outcomes), notes: notes)
    }

    /// Study level (primary), frame level (secondary) and study-level subgroups of one split, with
    /// thresholds fitted on the validation split's studies and frames respectively.
    ///
    /// The validation frames are aggregated with the same rule as the evaluated frames, so the
    /// study threshold is fitted on the same kind of score it is applied to.
    public static func evaluate(frames: [FramePrediction], split: String, validationFrames: [FramePrediction],
                                validationSplit: String, rule: ThresholdRule, settings: EvaluationSettings) throws -> SplitEvaluation {
        let studies = try settings.aggregation.aggregate(frames)
        let validationStudies = try settings.aggregation.aggregate(validationFrames)
        let studyThreshold = try ThresholdChoice.fit(rule, on: BinaryOutcomes(validationStudies.map(\.sample),
                                                                            what: "\(validationSplit) split (study level)"),
                                                     split: validationSplit, level: .study, aggregation: settings.aggregation)
        let frameThreshold = try ThresholdChoice.fit(rule, on: BinaryOutcomes(validationFrames.map(\.sample),
                                                                            what: "\(validationSplit) split (frame level)"),
                                                     split: validationSplit, level: .frame)
        let studySamples = studies.map(\.sample)
        let study = try evaluate(studySamples, level: .study, split: split, threshold: studyThreshold, settings: settings)
        let frame = try evaluate(frames.map(\.sample), level: .frame, split: split, threshold: frameThreshold, settings: settings)
        let subgroups = try Subgroups.evaluate(studySamples, attributes: settings.subgroupAttributes, threshold: studyThreshold.value,
                                               minimumPerClass: settings.subgroupMinimumPerClass,
                                               confidenceLevel: settings.confidenceLevel, delongScale: settings.delongScale)
        return SplitEvaluation(studies: studies, study: study, frame: frame, subgroups: subgroups,
                               failureAnalysis: FailureAnalysis(studies, threshold: studyThreshold.value))
    }
}

/// What `Evaluator.evaluate(frames:...)` returns: the aggregated studies (for studies.csv and the
/// failure analysis) and the results.
public struct SplitEvaluation: Sendable {
    public var studies: [AggregatedStudy]
    public var study: LevelResult
    public var frame: LevelResult
    public var subgroups: [SubgroupResult]
    /// The ten worst false positives and false negatives at the study threshold.
    public var failureAnalysis: FailureAnalysis
}
