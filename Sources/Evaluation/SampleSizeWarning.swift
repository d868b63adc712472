/// Words for a test split too small for its question, added to a level's notes (and so to the
/// terminal summary, evaluation.json and evaluation.html).
///
/// Two conditions, each checked on its own:
/// - **Chance not excluded.** The AUC's interval (DeLong when available, else the patient
///   bootstrap) reaches down to 0.5 or below: the data are compatible with a model no better than
///   chance, whatever the point estimate says. "The AUC interval is [a, b]; this test set cannot
///   tell this model from chance."
/// - **Few samples of a class.** Fewer than `minimumPerClass` positives or negatives at this level:
///   with n₁ positives and n₀ negatives the AUC's standard error is about
///   sqrt(A(1−A)(1 + (n₁−1)Q + (n₀−1)Q)/(n₁n₀)) (Hanley & McNeil 1982), so below ten of a class
///   a 95% interval is typically wider than ±0.15 even for a good model, and sensitivity or
///   specificity rest on a handful of samples.
public enum SampleSizeWarning {
    /// Fewer positives or negatives than this draws the "few samples" warning.
    public static let minimumPerClass = 10

    /// The warnings for one level's outcome counts and AUC (empty when neither applies).
    public static func notes(positives: Int, negatives: Int, auc: AUCResult, level: EvaluationLevel) -> [String] {
        var notes: [String] = []
        let unit = level == .study ? "studies" : "frames"
        if let interval = auc.delong?.interval ?? auc.bootstrap?.interval, interval.lower <= 0.5 {
            notes.append("The AUC interval is [\(fixed(interval.lower, 3)), \(fixed(interval.upper, 3))] (\(interval.method)); "
                + "this test set cannot tell this model from chance.")
        }
        if min(positives, negatives) < minimumPerClass {
            notes.append("Only \(positives) positive and \(negatives) negative \(unit): fewer than \(minimumPerClass) of a class "
                + "make every interval here wide; evaluate on more \(unit) before drawing conclusions.")
        }
        return notes
    }
}
