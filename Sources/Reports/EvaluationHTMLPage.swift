import Evaluation
import Foundation

/// A picture of one frame the model saw (the preprocessed `size` x `size` network input before
/// normalisation), written as a PNG file next to the page.
public struct EvaluationThumbnail: Codable, Equatable, Sendable {
    /// Path relative to the page, e.g. "thumbnails/S-0123456789abcdef-3f1a2b-f4.png".
    public var file: String
    public var instanceKey: String
    public var frameIndex: Int
    public var probability: Double

    public init(file: String, instanceKey: String, frameIndex: Int, probability: Double) {
        self.file = file
        self.instanceKey = instanceKey
        self.frameIndex = frameIndex
        self.probability = probability
    }
}

/// Everything evaluation.html shows besides the report itself: what the command knows about the
/// run (model card, preprocessing, training history) and the thumbnails of the failure cases.
public struct EvaluationPageContent: Sendable {
    public var report: EvaluationReport
    /// history.csv of the run; nil when missing (the page says so).
    public var history: TrainingHistory?
    /// Why there are no training curves, when `history` is nil.
    public var historyProblem: String?
    /// The model card as name/value rows (architecture, weights and their origin, frozen layers, ...).
    public var modelCard: [NamedValue]
    /// The preprocessing configuration as name/value rows (frame policy, crop, aspect, normalisation, ...).
    public var preprocessing: [NamedValue]
    /// Thumbnails per failure-case study key, in the order to show them.
    public var thumbnails: [String: [EvaluationThumbnail]]
    /// Frames that could not be read or preprocessed, as (pseudonymous instance key, reason).
    public var frameFailures: [NamedValue]

    public init(report: EvaluationReport, history: TrainingHistory? = nil, historyProblem: String? = nil, modelCard: [NamedValue] = [],
                preprocessing: [NamedValue] = [], thumbnails: [String: [EvaluationThumbnail]] = [:], frameFailures: [NamedValue] = []) {
        self.report = report
        self.history = history
        self.historyProblem = historyProblem
        self.modelCard = modelCard
        self.preprocessing = preprocessing
        self.thumbnails = thumbnails
        self.frameFailures = frameFailures
    }
}

/// evaluation.html: the report a reader of a medical imaging paper expects (CLAIM items on data,
/// partitions, metrics with intervals, calibration, failure analysis), in one page that needs
/// nothing but a browser.
///
/// Order: warnings and disclaimer first; then the study-level (primary) results with their
/// plots, the threshold and its provenance; frame-level (secondary) results; subgroups; data
/// counts per split; the failure analysis with thumbnails; training curves; model card,
/// preprocessing, settings and software versions.
public enum EvaluationHTMLPage {
    public static func render(_ content: EvaluationPageContent) -> String {
        let r = content.report
        var doc = HTMLDocument(title: "SonoKit evaluation: run \(r.run.runId), \(r.evaluatedSplit) split")
        doc.append(HTML.text("h1", "Evaluation of run \(r.run.runId) on the \(r.evaluatedSplit) split"))
        doc.append(HTML.text("p", "Model \(r.run.modelId); positive class \(r.classes.positive), negative class \(r.classes.negative); "
            + "study probability = \(r.settings.aggregation) of the frame probabilities; evaluated \(r.run.createdAt).", [("class", "note")]))
        doc.append(HTML.text("p", r.disclaimer, [("class", "disclaimer")]))
        for warning in r.warnings { doc.append(HTML.text("p", "Warning: " + warning, [("class", "warning")])) }

        doc.append(HTML.text("h2", "Study level (primary result)"))
        doc.append(levelSection(r.study, classes: r.classes, settings: r.settings, idPrefix: "study"))
        if let frame = r.frame {
            doc.append(HTML.text("h2", "Frame level (secondary result)"))
            doc.append(HTML.text("p", "Frames are not independent (many frames per study, several studies per patient): the bootstrap "
                + "resamples patients, and the study level above is the result to quote.", [("class", "note")]))
            doc.append(levelSection(frame, classes: r.classes, settings: r.settings, idPrefix: "frame"))
        }
        doc.append(subgroupSection(r))
        doc.append(dataSection(r))
        doc.append(failureSection(r, thumbnails: content.thumbnails, failures: content.frameFailures))
        doc.append(trainingSection(content))
        doc.append(provenanceSection(content))
        return doc.render()
    }

    // MARK: - Sections

    static func levelSection(_ level: LevelResult, classes: ClassNames, settings: EvaluationSettings, idPrefix: String) -> String {
        var out: [String] = []
        let noun = level.level == .study ? "studies" : "frames"
        out.append(HTML.text("p", "\(level.counts.samples) \(noun) (\(level.counts.positives) \(classes.positive), "
            + "\(level.counts.negatives) \(classes.negative)) from \(level.counts.patients) patients; prevalence \(fixed(level.prevalence, 3))."))
        out.append(thresholdParagraph(level.threshold))
        out.append(metricTable(level, confidenceLevel: settings.confidenceLevel))
        for note in level.notes { out.append(HTML.text("p", "Note: " + note, [("class", "note")])) }

        var figures: [String] = []
        let rocTitle = "ROC curve (\(level.level.rawValue) level)"
        figures.append(figure(svg: ROCPlot.svg(curve: level.rocCurve, band: level.rocBand, auc: level.auc, operatingPoint: level.atThreshold,
                                               title: rocTitle),
                              id: "\(idPrefix)-roc", alternative: rocTitle,
                              caption: "ROC curve with the chance diagonal and the operating point at the threshold. "
                                + (level.rocBand == nil ? "No confidence band (bootstrap off or degenerate)."
                                                        : "Shaded: pointwise \(percent(settings.confidenceLevel)) band, bootstrap over patients.")))
        let prTitle = "Precision-recall curve (\(level.level.rawValue) level)"
        figures.append(figure(svg: PrecisionRecallPlot.svg(curve: level.precisionRecallCurve, averagePrecision: level.averagePrecision,
                                                           prevalence: level.prevalence, title: prTitle),
                              id: "\(idPrefix)-pr", alternative: prTitle,
                              caption: "Precision against recall; the dashed line is the prevalence (a random classifier)."))
        let reliabilityTitle = "Reliability diagram (\(level.level.rawValue) level)"
        figures.append(figure(svg: ReliabilityDiagram.svg(level.calibration, title: reliabilityTitle),
                              id: "\(idPrefix)-reliability", alternative: reliabilityTitle,
                              caption: "Observed frequency of the positive class per bin of predicted probability, with a Wilson interval per bin; "
                                + "samples per bin below."))
        let confusionTitle = "Confusion matrix (\(level.level.rawValue) level)"
        figures.append(figure(svg: ConfusionMatrixPlot.svg(level.atThreshold, classes: classes, title: confusionTitle),
                              id: "\(idPrefix)-confusion", alternative: confusionTitle,
                              caption: "Counts at the threshold; rows are the actual class, columns the prediction."))
        out.append(HTML.element("div", [("class", "plots")], figures.joined(separator: "\n")))
        return out.joined(separator: "\n")
    }

    static func thresholdParagraph(_ t: ThresholdReport) -> String {
        let c = t.choice
        var text = "Threshold \(fixed(c.value, 4)) (rule \(c.rule)"
        if let p = c.fittedOn {
            text += "; fitted on the \(p.split) split at \(p.level.rawValue) level"
            if let a = p.aggregation { text += " with aggregation \(a)" }
            text += ", \(p.samples) samples (\(p.positives) positive, \(p.negatives) negative), where it reached sensitivity "
                + "\(fixed(p.sensitivity, 3)) and specificity \(fixed(p.specificity, 3))"
        } else {
            text += "; given, not fitted on data"
        }
        text += "). A sample is called positive when its probability is at least the threshold."
        var html = HTML.text("p", text)
        if t.evaluatedOnFittingSplit {
            html += "\n" + HTML.text("p", "This split is the one the threshold was fitted on: sensitivity, specificity, PPV and NPV here are optimistic.",
                                     [("class", "warning")])
        }
        return html
    }

    static func metricTable(_ level: LevelResult, confidenceLevel: Double) -> String {
        let ci = "\(percent(confidenceLevel)) CI"
        var rows: [[HTML.Cell]] = []
        func add(_ name: String, _ value: String, _ interval: String, _ detail: String) {
            rows.append([.text(name), .number(value), .text(interval), .text(detail)])
        }
        let auc = level.auc
        add("AUC (DeLong)", fixed(auc.estimate, 3), auc.delong.map { range($0.interval) } ?? "not available",
            auc.delong.map { "\($0.interval.method), variance \(String(format: "%.3g", $0.variance))" } ?? "")
        if let b = auc.bootstrap {
            add("AUC (bootstrap)", fixed(auc.estimate, 3), range(b.interval),
                "\(b.used) of \(b.replicates) resamples of \(b.resamplingUnit) used, seed \(b.seed)")
        } else {
            add("AUC (bootstrap)", fixed(auc.estimate, 3), "not available", "bootstrap off or degenerate")
        }
        add("Average precision", fixed(level.averagePrecision, 3), "", "chance level = prevalence \(fixed(level.prevalence, 3))")
        let m = level.atThreshold
        let proportions: [(String, Proportion?)] = [("Sensitivity", m.sensitivity), ("Specificity", m.specificity),
                                                   ("PPV", m.positivePredictiveValue), ("NPV", m.negativePredictiveValue),
                                                   ("Accuracy", m.accuracy)]
        for (name, p) in proportions {
            if let p {
                add(name, fixed(p.value, 3), range(p.interval), "\(p.numerator)/\(p.denominator), \(p.interval.method)")
            } else {
                add(name, "undefined", "", "zero denominator at this threshold")
            }
        }
        add("Balanced accuracy", fixed(m.balancedAccuracy, 3), "", "(sensitivity + specificity) / 2")
        add("F1", fixed(m.f1, 3), "", "harmonic mean of PPV and sensitivity")
        add("MCC", m.matthewsCorrelation.map { fixed($0, 3) } ?? "undefined", "", m.matthewsCorrelation == nil ? "every sample got the same decision" : "")
        let c = m.confusion
        add("Confusion", "TP \(c.truePositives), FP \(c.falsePositives), TN \(c.trueNegatives), FN \(c.falseNegatives)", "", "")
        let cal = level.calibration
        add("Brier score", fixed(cal.brierScore, 4), "", "mean squared error of the probabilities")
        add("ECE", fixed(cal.expectedCalibrationError, 4), "", "\(cal.binCount) equal-width bins")
        add("Log loss", fixed(cal.logLoss, 4), "", "")
        return HTML.table(header: ["Metric", "Value", ci, "Detail"], rows: rows, cssClass: "metrics")
    }

    static func subgroupSection(_ r: EvaluationReport) -> String {
        var out = [HTML.text("h2", "Subgroups (study level)")]
        guard !r.subgroups.isEmpty else {
            out.append(HTML.text("p", "No subgroup attribute (\(r.settings.subgroupAttributes.joined(separator: ", "))) is present in the data."))
            return out.joined(separator: "\n")
        }
        out.append(HTML.text("p", "At the overall study threshold (never re-fitted per subgroup). A subgroup gets metrics only with at least "
            + "\(r.settings.subgroupMinimumPerClass) studies of each class.", [("class", "note")]))
        let rows: [[HTML.Cell]] = r.subgroups.map { g in
            let counts: [HTML.Cell] = [.text(g.attribute), .text(g.value), .number(String(g.counts.samples)), .number(String(g.counts.positives)),
                                       .number(String(g.counts.negatives)), .number(String(g.counts.patients))]
            if let m = g.metrics {
                return counts + [.text("\(fixed(m.auc, 3)) \(range(m.aucInterval))"), .text("\(fixed(m.sensitivity.value, 3)) \(range(m.sensitivity.interval))"),
                                 .text("\(fixed(m.specificity.value, 3)) \(range(m.specificity.interval))")]
            }
            return counts + [.text(g.omittedBecause ?? "too small for metrics"), .text(""), .text("")]
        }
        out.append(HTML.table(header: ["Attribute", "Value", "Studies", "Positive", "Negative", "Patients", "AUC (DeLong CI)", "Sensitivity", "Specificity"],
                              rows: rows, cssClass: "subgroups"))
        return out.joined(separator: "\n")
    }

    static func dataSection(_ r: EvaluationReport) -> String {
        dataSection(splitLevel: r.splitLevel, dataCounts: r.dataCounts, evaluatedSplit: r.evaluatedSplit)
    }

    /// The data counts table of either task (binary and multi-class reports share `SplitCounts`).
    static func dataSection(splitLevel: String, dataCounts: [SplitCounts], evaluatedSplit: String) -> String {
        var out = [HTML.text("h2", "Data")]
        out.append(HTML.text("p", "Split level: \(splitLevel) (no \(splitLevel) is in two splits). Counts per split, overall and per class "
            + "(a patient with studies of both classes counts in both classes)."))
        var rows: [[HTML.Cell]] = []
        for s in dataCounts {
            let mark = s.split == evaluatedSplit ? " (evaluated)" : ""
            rows.append([.text(s.split + mark), .text("all"), .number(String(s.patients)), .number(String(s.studies)), .number(String(s.frames))])
            for c in s.perClass {
                rows.append([.text(""), .text(c.className), .number(String(c.patients)), .number(String(c.studies)), .number(String(c.frames))])
            }
        }
        out.append(HTML.table(header: ["Split", "Class", "Patients", "Studies", "Frames"], rows: rows, cssClass: "data-counts"))
        return out.joined(separator: "\n")
    }

    static func failureSection(_ r: EvaluationReport, thumbnails: [String: [EvaluationThumbnail]], failures: [NamedValue]) -> String {
        var out = [HTML.text("h2", "Failure analysis")]
        guard let f = r.failureAnalysis else {
            out.append(HTML.text("p", "No failure analysis in this report."))
            return out.joined(separator: "\n")
        }
        out.append(HTML.text("p", "The studies the model got most wrong at the study threshold \(fixed(f.threshold, 4)) (at most \(f.limit) per kind), "
            + "with the frames the network saw (the preprocessed network input, before normalisation)."))
        for (title, cases, explanation) in [("False positives", f.falsePositives, "actual \(r.classes.negative), called \(r.classes.positive); highest probability first"),
                                            ("False negatives", f.falseNegatives, "actual \(r.classes.positive), called \(r.classes.negative); lowest probability first")] {
            out.append(HTML.text("h3", "\(title) (\(cases.count)): \(explanation)"))
            if cases.isEmpty { out.append(HTML.text("p", "None.")); continue }
            let rows: [[HTML.Cell]] = cases.map { c in
                let attributes = c.attributes.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
                let pictures = (thumbnails[c.studyKey] ?? []).map { t in
                    HTML.element("figure", [], HTML.image(source: t.file, alternative: "Frame \(t.frameIndex) of instance \(t.instanceKey)", width: 160, height: 160)
                        + HTML.text("figcaption", "frame \(t.frameIndex), p = \(fixed(t.probability, 4))"))
                }
                let cell = pictures.isEmpty ? HTML.escape("no thumbnail") : HTML.element("div", [("class", "thumbs")], pictures.joined())
                return [.text(c.studyKey), .number(fixed(c.probability, 4)), .number(String(c.framesUsed)), .text(attributes), .html(cell)]
            }
            out.append(HTML.table(header: ["Study", "Probability", "Frames", "Attributes", "Frames the model saw"], rows: rows,
                                  cssClass: title == "False positives" ? "false-positives" : "false-negatives"))
        }
        if !failures.isEmpty {
            out.append(HTML.text("h3", "Frames that could not be evaluated (\(failures.count))"))
            out.append(HTML.table(header: ["Instance", "Reason"], rows: failures.map { [.text($0.name), .text($0.value)] }))
        }
        return out.joined(separator: "\n")
    }

    static func trainingSection(_ content: EvaluationPageContent) -> String {
        trainingSection(history: content.history, historyProblem: content.historyProblem, validationMetric: "validation AUC")
    }

    /// The training curves of the run (history.csv), or why there are none. Shared by the binary
    /// and the multi-class page; `validationMetric` names the curve of the validation metric.
    static func trainingSection(history: TrainingHistory?, historyProblem: String?, validationMetric: String) -> String {
        var out = [HTML.text("h2", "Training")]
        if let history, !history.rows.isEmpty {
            out.append(figure(svg: TrainingCurvesPlot.svg(history), id: "training-curves", alternative: "Training curves",
                              caption: "Per-epoch history of the run (history.csv): losses, \(validationMetric) and learning rate."))
        } else {
            out.append(HTML.text("p", "No training curves: \(historyProblem ?? "the run has no history.csv").", [("class", "warning")]))
        }
        return out.joined(separator: "\n")
    }

    static func provenanceSection(_ content: EvaluationPageContent) -> String {
        let r = content.report, s = r.settings
        return provenanceSection(run: r.run, modelCard: content.modelCard, preprocessing: content.preprocessing, settings: [
            ("Study aggregation", "\(s.aggregation)"), ("Confidence level", percent(s.confidenceLevel)), ("DeLong interval scale", "\(s.delongScale)"),
            ("Bootstrap replicates (patients resampled)", String(s.bootstrapReplicates)), ("Bootstrap seed", String(s.bootstrapSeed)),
            ("Reliability bins", String(s.calibrationBins)), ("Subgroup attributes", s.subgroupAttributes.joined(separator: ", ")),
            ("Subgroup minimum per class", String(s.subgroupMinimumPerClass)), ("Split level", r.splitLevel),
            ("Report schema version", r.schemaVersion),
        ])
    }

    /// Model card (run identity, then `modelCard`), preprocessing, the evaluation `settings` rows
    /// and software versions. Shared by the binary and the multi-class page.
    static func provenanceSection(run: RunIdentity, modelCard: [NamedValue], preprocessing: [NamedValue], settings: [(String, String)]) -> String {
        var out = [HTML.text("h2", "Model card")]
        let identity: [(String, String)] = [("Run", run.runId), ("Model id", run.modelId), ("Weights SHA-256", run.weightsSha256 ?? "unknown"),
                                            ("Preprocessing hash", run.preprocessingHash), ("Seed", String(run.seed))]
        out.append(HTML.definitionTable(identity + modelCard.map { ($0.name, $0.value) }))
        out.append(HTML.text("h2", "Preprocessing"))
        if preprocessing.isEmpty {
            out.append(HTML.text("p", "Preprocessing hash \(run.preprocessingHash) (configuration not given)."))
        } else {
            out.append(HTML.definitionTable(preprocessing.map { ($0.name, $0.value) }))
        }
        out.append(HTML.text("h2", "Evaluation settings"))
        out.append(HTML.definitionTable(settings))
        out.append(HTML.text("h2", "Software versions"))
        out.append(HTML.definitionTable(run.softwareVersions.map { ($0.name, $0.value) }))
        return out.joined(separator: "\n")
    }

    // MARK: - Pieces

    /// A plot as an `<img>` with an SVG data URI, inside a `<figure>` with its caption.
    static func figure(svg: String, id: String, alternative: String, caption: String) -> String {
        HTML.element("figure", [("id", id)], HTML.image(source: HTML.svgDataURI(svg), alternative: alternative, cssClass: "plot")
            + HTML.text("figcaption", caption))
    }

    static func range(_ ci: ConfidenceInterval) -> String { "[\(fixed(ci.lower, 3)), \(fixed(ci.upper, 3))]" }
    static func percent(_ level: Double) -> String {
        let p = level * 100
        return p == p.rounded() ? "\(Int(p))%" : String(format: "%.1f%%", p)
    }
}
