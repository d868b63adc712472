/// Words for an interval that SonoKit's coverage study measured to cover less than 95% on data
/// like this level's, added to the level's notes (so to the terminal summary, evaluation.json and
/// evaluation.html) with the measured coverage.
///
/// The study (`CoverageStudy` in Sources/Evaluation/Validity, run by `scripts/validity/coverage`;
/// its table is in README): binormal scores with a known population AUC, patients with 1–3
/// studies and a shared patient effect (within-patient correlation ρ), 5000 simulated evaluation
/// sets per scenario, each evaluated as `sonokit evaluate` evaluates a split, B = 2000. Three
/// findings the report cannot fix by itself, each a note when it applies:
///
/// - **Wilson with several samples per patient.** The Wilson interval treats studies (frames) as
///   independent. When some patient has several samples at this level, sensitivity and
///   specificity intervals covered 87–92% in the realistic scenarios (40–200 studies, ρ = 0.5–0.8,
///   B2–D2) and 80% under extreme clustering (S); 95–96% without clustering.
/// - **The patient bootstrap with fewer than 100 patients.** The percentile interval is too narrow
///   with few patients: 88–91% with about 20 patients (B1–B3), 92–93% with about 50 (C1–C3),
///   94–95% with 100 (D1–D3).
/// - **Few patients of a class, or a high AUC with few positive patients.** The cluster-aware
///   DeLong variance (like any sandwich variance) is too small with few clusters: with about 6
///   positive patients (B3, AUC 0.85) DeLong covered 91.9% and the bootstrap 87.6%; with
///   population AUC 0.95 and about 15 positive patients (C4) 88.6% and 83.8%. The note is given
///   when fewer than 10 patients have a positive (or a negative) sample, or when the AUC estimate
///   is at least 0.9 and fewer than 30 patients have a positive sample (D3, AUC 0.95 with about
///   100 positive patients, covered 94–95%).
public enum CoverageWarning {
    /// Fewer patients than this draws the bootstrap note.
    public static let bootstrapMinimumPatients = 100
    /// Fewer patients with a positive (or with a negative) sample than this draws the few-patients note.
    public static let minimumPatientsPerClass = 10
    /// The high-AUC note: an AUC estimate at least this ...
    public static let highAUC = 0.9
    /// ... with fewer patients with a positive sample than this.
    public static let minimumPositivePatients = 30

    /// The notes for one level's samples and AUC result (empty when none applies).
    public static func notes(_ samples: [ScoredSample], auc: AUCResult, level: EvaluationLevel) -> [String] {
        let unit = level == .study ? "studies" : "frames"
        let patients = Set(samples.map(\.group)).count
        var notes: [String] = []
        if patients < samples.count {
            notes.append("Some patients have several \(unit) here: the Wilson intervals of sensitivity and specificity treat "
                + "\(unit) as independent and are too narrow when a patient's \(unit) are alike (in SonoKit's coverage study, "
                + "1-3 studies per patient, they covered 87-92% instead of 95%). The AUC intervals account for patients.")
        }
        if auc.bootstrap != nil, patients < bootstrapMinimumPatients {
            notes.append("With \(patients) patients the patient bootstrap's percentile interval is too narrow (in SonoKit's "
                + "coverage study it covered 88-91% with about 20 patients and 92-93% with about 50, instead of 95%)"
                + (auc.delong != nil ? "; prefer the DeLong interval." : "."))
        }
        let positivePatients = Set(samples.filter(\.isPositive).map(\.group)).count
        let negativePatients = Set(samples.filter { !$0.isPositive }.map(\.group)).count
        let fewOfAClass = min(positivePatients, negativePatients) < minimumPatientsPerClass
        let highWithFewPositive = auc.estimate >= highAUC && positivePatients < minimumPositivePatients
        if fewOfAClass || highWithFewPositive, auc.delong != nil || auc.bootstrap != nil {
            notes.append("An AUC of \(fixed(auc.estimate, 3)) from \(positivePatients) patients with a positive and \(negativePatients) "
                + "with a negative sample: with few patients of a class, or a high AUC and few positive patients, both AUC "
                + "intervals are too narrow (in SonoKit's coverage study DeLong covered 92% and the bootstrap 88% with about 6 "
                + "positive patients, 89% and 84% at AUC 0.95 with about 15, instead of 95%).")
        }
        return notes
    }
}
