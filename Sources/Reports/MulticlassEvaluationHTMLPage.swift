import Evaluation
import Foundation

/// Everything the multi-class evaluation.html shows besides the evaluation itself (as
/// `EvaluationPageContent` for the binary page): run context and the thumbnails of the worst
/// confusions.
public struct MulticlassPageContent: Sendable {
    public var evaluation: MulticlassEvaluation
    public var history: TrainingHistory?
    public var historyProblem: String?
    public var modelCard: [NamedValue]
    public var preprocessing: [NamedValue]
    /// Thumbnails per worst-confusion study key, in the order to show them. `probability` of each
    /// is the frame's probability of the class the study was (wrongly) decided as.
    public var thumbnails: [String: [EvaluationThumbnail]]
    /// Frames that could not be read or preprocessed, as (pseudonymous instance key, reason).
    public var frameFailures: [NamedValue]

    public init(evaluation: MulticlassEvaluation, history: TrainingHistory? = nil, historyProblem: String? = nil, modelCard: [NamedValue] = [],
                preprocessing: [NamedValue] = [], thumbnails: [String: [EvaluationThumbnail]] = [:], frameFailures: [NamedValue] = []) {
        self.evaluation = evaluation
        self.history = history
        self.historyProblem = historyProblem
        self.modelCard = modelCard
        self.preprocessing = preprocessing
        self.thumbnails = thumbnails
        self.frameFailures = frameFailures
    }
}

/// evaluation.html of a multi-class run: warnings and disclaimer; per level (study primary, frame
/// secondary) the summary metrics with intervals, the confusion matrix as heat maps (counts and
/// row-normalised), the per-class table (AUC with DeLong CI, sensitivity, specificity, PPV with
/// Wilson CIs, F1, calibration), the one-vs-rest ROC curves and the per-class reliability
/// diagrams; the worst confusions with the frames the model saw; data counts, training curves,
/// model card, preprocessing, settings. One file, no script, no network.
public enum MulticlassEvaluationHTMLPage {
    public static func render(_ content: MulticlassPageContent) -> String {
        let r = content.evaluation.report
        var doc = HTMLDocument(title: "SonoKit evaluation: run \(r.run.runId), \(r.evaluatedSplit) split (multi-class)")
        doc.append(HTML.text("h1", "Evaluation of run \(r.run.runId) on the \(r.evaluatedSplit) split"))
        doc.append(HTML.text("p", "Task: multi-class, \(r.classes.count) \(r.ordinal ? "ordered " : "")classes (\(r.classes.joined(separator: r.ordinal ? " < " : ", "))). "
            + "Model \(r.run.modelId); study probabilities = \(aggregationText(r.settings.aggregation)); study decision: \(r.study.decision); "
            + "evaluated \(r.run.createdAt).", [("class", "note")]))
        doc.append(HTML.text("p", r.disclaimer, [("class", "disclaimer")]))
        for warning in r.warnings { doc.append(HTML.text("p", "Warning: " + warning, [("class", "warning")])) }

        doc.append(HTML.text("h2", "Study level (primary result)"))
        doc.append(levelSection(r.study, report: r, idPrefix: "study"))
        if let frame = r.frame {
            doc.append(HTML.text("h2", "Frame level (secondary result)"))
            doc.append(HTML.text("p", "Frames are not independent (many frames per study, several studies per patient): the intervals "
                + "account for patients, and the study level above is the result to quote.", [("class", "note")]))
            doc.append(levelSection(frame, report: r, idPrefix: "frame"))
        }
        doc.append(confusionSection(content))
        doc.append(EvaluationHTMLPage.dataSection(splitLevel: r.splitLevel, dataCounts: r.dataCounts, evaluatedSplit: r.evaluatedSplit))
        doc.append(trainingSection(content))
        doc.append(provenanceSection(content))
        return doc.render()
    }

    static func aggregationText(_ a: MulticlassAggregation) -> String {
        switch a {
        case .mean: return "mean of the frame probabilities"
        case .max: return "per-class maximum over the frames, renormalised to sum to 1"
        case .vote: return "share of frames whose most probable class is each class (vote)"
        }
    }

    // MARK: - Sections

    static func levelSection(_ level: MulticlassLevelResult, report r: MulticlassEvaluationReport, idPrefix: String) -> String {
        var out: [String] = []
        let noun = level.level == .study ? "studies" : "frames"
        let perClass = zip(r.classes, level.counts.perClass).map { "\($1) \($0)" }.joined(separator: ", ")
        out.append(HTML.text("p", "\(level.counts.samples) \(noun) (\(perClass)) from \(level.counts.patients) patients."))
        out.append(decisionParagraph(level, classes: r.classes))
        out.append(summaryTable(level, confidenceLevel: r.settings.confidenceLevel))
        for note in level.notes { out.append(HTML.text("p", "Note: " + note, [("class", "note")])) }
        out.append(HTML.text("h3", "Confusion matrix (\(level.level.rawValue) level): rows actual, columns predicted"))
        out.append(HTML.element("div", [("class", "plots"), ("id", "\(idPrefix)-confusion")],
                                HTML.element("figure", [], ConfusionHeatmap.html(level.confusionMatrix, classes: r.classes, content: .counts)
                                             + HTML.text("figcaption", "Counts; shading = share of the actual class."))
                                + HTML.element("figure", [], ConfusionHeatmap.html(level.confusionMatrix, classes: r.classes, content: .rowNormalized)
                                               + HTML.text("figcaption", "Row-normalised: the diagonal is each class's sensitivity."))))
        out.append(HTML.text("h3", "Per class, one against the rest (\(level.level.rawValue) level)"))
        out.append(classTable(level, confidenceLevel: r.settings.confidenceLevel))

        var figures: [String] = []
        let rocTitle = "One-vs-rest ROC curves (\(level.level.rawValue) level)"
        figures.append(EvaluationHTMLPage.figure(svg: MulticlassROCPlot.svg(level.perClass, title: rocTitle), id: "\(idPrefix)-roc",
                                                 alternative: rocTitle,
                                                 caption: "Each class against all others, with its AUC and DeLong interval; dashed grey: chance."))
        for c in level.perClass {
            let title = "Reliability of p(\(c.name)) (\(level.level.rawValue) level)"
            figures.append(EvaluationHTMLPage.figure(svg: ReliabilityDiagram.svg(c.calibration, title: title), id: "\(idPrefix)-reliability-\(c.index)",
                                                     alternative: title,
                                                     caption: "Observed frequency of \(c.name) per bin of its predicted probability (one against the rest)."))
        }
        out.append(HTML.element("div", [("class", "plots")], figures.joined(separator: "\n")))
        return out.joined(separator: "\n")
    }

    static func decisionParagraph(_ level: MulticlassLevelResult, classes: [String]) -> String {
        guard case .perClassThresholds(let t) = level.decision else {
            return HTML.text("p", "Decision: the most probable class (ties to the first class in the declared order).")
        }
        var out = [HTML.text("p", "Decision: per-class thresholds (threshold moving): the class whose probability exceeds its own threshold "
            + "by the largest factor, argmax of p_k / t_k.")]
        let rows: [[HTML.Cell]] = zip(classes, t.thresholds).map { name, c in
            let place = c.fittedOn.map { "\($0.split) split, \($0.level.rawValue) level, \($0.samples) samples; there sensitivity "
                + "\(fixed($0.sensitivity, 3)), specificity \(fixed($0.specificity, 3))" } ?? "given, not fitted"
            return [.text(name), .number(fixed(c.value, 4)), .text("\(c.rule)"), .text(place)]
        }
        out.append(HTML.table(header: ["Class", "Threshold", "Rule (one against the rest)", "Fitted on"], rows: rows, cssClass: "class-thresholds"))
        return out.joined(separator: "\n")
    }

    static func summaryTable(_ level: MulticlassLevelResult, confidenceLevel: Double) -> String {
        let ci = "\(EvaluationHTMLPage.percent(confidenceLevel)) CI"
        var rows: [[HTML.Cell]] = []
        func add(_ name: String, _ value: String, _ interval: String, _ detail: String) {
            rows.append([.text(name), .number(value), .text(interval), .text(detail)])
        }
        for (name, auc, detail) in [("Macro AUC", level.macroAUC, "mean of the one-vs-rest AUCs"),
                                    ("Weighted AUC", level.weightedAUC, "one-vs-rest AUCs weighted by class prevalence")] {
            if let b = auc.bootstrap {
                add(name, fixed(auc.estimate, 3), EvaluationHTMLPage.range(b.interval),
                    "\(detail); \(b.used) of \(b.replicates) resamples of \(b.resamplingUnit)s, seed \(b.seed)")
            } else {
                add(name, fixed(auc.estimate, 3), "not available", detail + "; bootstrap off or degenerate")
            }
        }
        let a = level.accuracy
        add("Accuracy", fixed(a.value, 3), EvaluationHTMLPage.range(a.interval), "\(a.numerator)/\(a.denominator), \(a.interval.method)")
        add("Balanced accuracy", fixed(level.balancedAccuracy, 3), "", "mean per-class sensitivity")
        add("Macro F1", fixed(level.macroF1, 3), "", "mean per-class F1")
        add(level.kappa.weighting == .quadratic ? "Cohen's kappa (quadratic weights)" : "Cohen's kappa",
            level.kappa.value.map { fixed($0, 3) } ?? "undefined", "",
            level.kappa.weighting == .quadratic ? "ordered classes: a disagreement costs (i - j)^2" : "every disagreement counts the same")
        if let t = level.topTwoAccuracy {
            add("Top-2 accuracy", fixed(t.value, 3), EvaluationHTMLPage.range(t.interval), "true class among the two most probable")
        }
        add("Brier score", fixed(level.brierScore, 4), "", "mean over samples of the sum over classes of (p_k - y_k)^2, range [0, 2]")
        add("Log loss", fixed(level.logLoss, 4), "", "mean of -ln p(true class), p clipped to [2^-52, 1 - 2^-52]")
        return HTML.table(header: ["Metric", "Value", ci, "Detail"], rows: rows, cssClass: "metrics")
    }

    static func classTable(_ level: MulticlassLevelResult, confidenceLevel: Double) -> String {
        func p(_ x: Proportion?) -> HTML.Cell {
            guard let x else { return .text("undefined (never decided)") }
            return .text("\(fixed(x.value, 3)) \(EvaluationHTMLPage.range(x.interval)) (\(x.numerator)/\(x.denominator))")
        }
        let rows: [[HTML.Cell]] = level.perClass.map { c in
            let auc = c.auc.delong.map { "\(fixed(c.auc.estimate, 3)) \(EvaluationHTMLPage.range($0.interval))" } ?? "\(fixed(c.auc.estimate, 3)) (no interval)"
            return [.text(c.name), .number(String(c.support)), .number(fixed(c.prevalence, 3)), .text(auc), p(c.sensitivity), p(c.specificity),
                    p(c.positivePredictiveValue), .number(fixed(c.f1, 3)), .number(fixed(c.calibration.expectedCalibrationError, 4)),
                    .number(fixed(c.calibration.brierScore, 4))]
        }
        let ci = EvaluationHTMLPage.percent(confidenceLevel)
        return HTML.table(header: ["Class", "Samples", "Prevalence", "AUC (DeLong \(ci) CI)", "Sensitivity (Wilson)", "Specificity (Wilson)",
                                   "PPV (Wilson)", "F1", "ECE", "Brier (one vs rest)"],
                          rows: rows, cssClass: "per-class")
    }

    static func confusionSection(_ content: MulticlassPageContent) -> String {
        let r = content.evaluation.report
        var out = [HTML.text("h2", "Worst confusions (study level)")]
        out.append(HTML.text("p", "Studies decided as a wrong class, the highest probability on a wrong class first (at most "
            + "\(r.settings.worstConfusionLimit)), with the frames the network saw (the preprocessed network input, before normalisation) "
            + "that pointed most to the wrong class."))
        if r.worstConfusions.isEmpty {
            out.append(HTML.text("p", "None: every study was decided as its true class."))
        } else {
            let frameVectors = Dictionary(content.evaluation.frames.map { ("\($0.frame.instanceKey)#\($0.frame.frameIndex)", $0.probabilities) },
                                          uniquingKeysWith: { a, _ in a })
            let trueIndex = Dictionary(r.classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let rows: [[HTML.Cell]] = r.worstConfusions.map { c in
                let attributes = c.attributes.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
                let vector = zip(r.classes, c.probabilities).map { "\($0) \(fixed($1, 3))" }.joined(separator: ", ")
                let pictures = (content.thumbnails[c.studyKey] ?? []).map { t -> String in
                    var caption = "frame \(t.frameIndex): p(\(c.predictedClass)) = \(fixed(t.probability, 3))"
                    if let v = frameVectors["\(t.instanceKey)#\(t.frameIndex)"], let k = trueIndex[c.trueClass] {
                        caption += ", p(\(c.trueClass)) = \(fixed(v[k], 3))"
                    }
                    return HTML.element("figure", [], HTML.image(source: t.file, alternative: "Frame \(t.frameIndex) of instance \(t.instanceKey)",
                                                                 width: 160, height: 160)
                        + HTML.text("figcaption", caption))
                }
                let cell = pictures.isEmpty ? HTML.escape("no thumbnail") : HTML.element("div", [("class", "thumbs")], pictures.joined())
                return [.text(c.studyKey), .text(c.trueClass), .text(c.predictedClass), .number(fixed(c.wrongProbability, 4)),
                        .number(fixed(c.trueProbability, 4)), .text(vector), .number(String(c.framesUsed)), .text(attributes), .html(cell)]
            }
            out.append(HTML.table(header: ["Study", "Actual", "Predicted", "p(predicted)", "p(actual)", "All probabilities", "Frames",
                                           "Attributes", "Frames the model saw"], rows: rows, cssClass: "worst-confusions"))
        }
        if !content.frameFailures.isEmpty {
            out.append(HTML.text("h3", "Frames that could not be evaluated (\(content.frameFailures.count))"))
            out.append(HTML.table(header: ["Instance", "Reason"], rows: content.frameFailures.map { [.text($0.name), .text($0.value)] }))
        }
        return out.joined(separator: "\n")
    }

    static func trainingSection(_ content: MulticlassPageContent) -> String {
        EvaluationHTMLPage.trainingSection(history: content.history, historyProblem: content.historyProblem, validationMetric: "validation macro AUC")
    }

    static func provenanceSection(_ content: MulticlassPageContent) -> String {
        let r = content.evaluation.report, s = r.settings
        return EvaluationHTMLPage.provenanceSection(run: r.run, modelCard: content.modelCard, preprocessing: content.preprocessing, settings: [
            ("Task", r.task.rawValue), ("Classes", r.classes.joined(separator: ", ")), ("Ordinal", r.ordinal ? "yes" : "no"),
            ("Study aggregation", "\(s.aggregation)"), ("Confidence level", EvaluationHTMLPage.percent(s.confidenceLevel)),
            ("DeLong interval scale", "\(s.delongScale)"), ("Bootstrap replicates (patients resampled)", String(s.bootstrapReplicates)),
            ("Bootstrap seed", String(s.bootstrapSeed)), ("Reliability bins", String(s.calibrationBins)),
            ("Worst confusions listed", String(s.worstConfusionLimit)), ("Split level", r.splitLevel), ("Report schema version", r.schemaVersion),
        ])
    }
}
