import Foundation
import SonoKitCore

/// A population of evaluation sets with KNOWN population values, for checking that SonoKit's 95%
/// intervals cover the truth 95% of the time (the coverage study, `CoverageStudy`).
///
/// ## The binormal model
/// A study's latent score is X₀ ~ N(0, 1) for a negative study and X₁ ~ N(μ, σ²) for a positive
/// one. The population AUC is the probability that a positive outscores an independent negative:
///
///     AUC = P(X₁ > X₀) = P(X₁ − X₀ > 0),  X₁ − X₀ ~ N(μ, 1 + σ²)
///         = Φ(μ / √(1 + σ²)),
///
/// so a scenario is given by its AUC and σ, and μ = Φ⁻¹(AUC) · √(1 + σ²). The model's probability
/// is the logistic p = 1 / (1 + e^(−X)); the AUC is invariant under this strictly increasing map.
///
/// ## Patients, clustering and labels
/// Patients have `minimumStudiesPerPatient`...`maximumStudiesPerPatient` studies, uniformly (the
/// last patient is cut short so the set has exactly `studies` studies). Each patient has a random
/// effect U ~ N(0, 1) and each study its own E ~ N(0, 1); with Z = √ρ · U + √(1 − ρ) · E (so
/// Z ~ N(0, 1) and two studies of one patient have corr(Z, Z') = ρ), a negative study scores Z and
/// a positive one μ + σZ. The marginal distributions are exactly the binormal ones above, so the
/// population AUC stays Φ(μ/√(1 + σ²)) whatever ρ.
///
/// Labels, two choices (`LabelModel`):
/// - `perStudy`: each study is positive with probability `prevalence`, independently — a
///   patient's studies may differ in label, as in SonoKit's cohorts (a follow-up after a finding
///   resolved); labels do not cluster.
/// - `perPatient`: the patient is positive with probability `prevalence` and so are all of its
///   studies: labels cluster as well as scores (the hardest case for intervals that treat studies
///   as independent, because the within-class correlation is then ρ for every pair of studies of a
///   patient).
///
/// The estimand: the empirical AUC also compares a positive with a negative study of the SAME
/// patient (only under `perStudy`); such pairs are correlated and their concordance differs from
/// the population AUC when σ ≠ 1 or ρ > 0. They are about 1.3/n of all pairs with 1–3 studies per
/// patient (n studies), a bias of the order 0.001 at n = 40, negligible next to the intervals.
///
/// ## Sensitivity and specificity
/// SonoKit reports them at a threshold fitted beforehand on the validation split (`sonokit
/// evaluate --threshold youden` by default, fitted on the validation studies). The study draws a
/// validation set of the same design, fits the same rule with `ThresholdChoice.fit`, and the
/// population values at the fitted probability threshold t, with x = logit(t), are
///
///     sensitivity(t) = P(X₁ ≥ x) = Φ((μ − x) / σ),   specificity(t) = P(X₀ < x) = Φ(x).
///
/// The interval is judged against these values at the threshold the user actually got.
public struct BinormalScenario: Codable, Equatable, Sendable {
    /// How labels are assigned (see the type's documentation).
    public enum LabelModel: String, Codable, Sendable {
        case perStudy = "per-study"
        case perPatient = "per-patient"
    }

    public var name: String
    /// Studies in each evaluation set (the test split and, separately, the validation split).
    public var studies: Int
    /// The probability that a study (`perStudy`) or a patient (`perPatient`) is positive.
    public var prevalence: Double
    /// Within-patient correlation ρ of the latent scores, in [0, 1).
    public var correlation: Double
    /// The population AUC, in (0.5, 1).
    public var auc: Double
    /// The standard deviation σ of the positives' latent scores (negatives have 1).
    public var positiveStandardDeviation: Double
    public var minimumStudiesPerPatient: Int
    public var maximumStudiesPerPatient: Int
    public var labels: LabelModel

    public init(name: String, studies: Int, prevalence: Double, correlation: Double, auc: Double = 0.85,
                positiveStandardDeviation: Double = 1, studiesPerPatient: ClosedRange<Int> = 1...3, labels: LabelModel = .perStudy) {
        self.name = name
        self.studies = studies
        self.prevalence = prevalence
        self.correlation = correlation
        self.auc = auc
        self.positiveStandardDeviation = positiveStandardDeviation
        self.minimumStudiesPerPatient = studiesPerPatient.lowerBound
        self.maximumStudiesPerPatient = studiesPerPatient.upperBound
        self.labels = labels
    }

    /// Throws `invalidParameter` naming the first field outside its domain.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ value: Any, _ expected: String) throws {
            if !ok { throw EvaluationError.invalidParameter(name: "scenario \(name): \(field)", value: "\(value)", expected: expected) }
        }
        try check(studies >= 2, "studies", studies, "at least 2")
        try check(prevalence > 0 && prevalence < 1, "prevalence", prevalence, "a probability in (0, 1)")
        try check(correlation >= 0 && correlation < 1, "correlation", correlation, "a number in [0, 1)")
        try check(auc > 0.5 && auc < 1, "AUC", auc, "a number in (0.5, 1)")
        try check(positiveStandardDeviation > 0 && positiveStandardDeviation.isFinite, "positive standard deviation",
                  positiveStandardDeviation, "a positive number")
        try check(minimumStudiesPerPatient >= 1 && maximumStudiesPerPatient >= minimumStudiesPerPatient, "studies per patient",
                  "\(minimumStudiesPerPatient)...\(maximumStudiesPerPatient)", "a range of positive integers")
    }

    /// μ = Φ⁻¹(AUC) · √(1 + σ²), the positives' mean latent score.
    public var positiveMean: Double {
        normalQuantile(auc) * (1 + positiveStandardDeviation * positiveStandardDeviation).squareRoot()
    }

    /// Population sensitivity Φ((μ − x)/σ) at probability threshold t (called positive iff p ≥ t).
    public func sensitivity(atThreshold t: Double) -> Double {
        standardNormalCDF((positiveMean - latentScore(t)) / positiveStandardDeviation)
    }

    /// Population specificity Φ(x) at probability threshold t.
    public func specificity(atThreshold t: Double) -> Double { standardNormalCDF(latentScore(t)) }

    /// x = logit(t); −∞ for t ≤ 0; for t ≥ 1 the smallest x whose logistic rounds to 1 in Double
    /// (about 36.7: such scores are all called positive at t = 1).
    private func latentScore(_ t: Double) -> Double {
        t <= 0 ? -.infinity : t >= 1 ? log(0x1p53) : log(t) - log1p(-t)
    }

    /// One evaluation set: studies keyed "s<i>", patients "p<j>", probabilities logistic of the
    /// latent scores. Draw order (fixed, so a seed gives the same set everywhere): per patient its
    /// study count, its effect U, its label (`perPatient`), then per study its label (`perStudy`)
    /// and its own E.
    public func draw(_ generator: inout SplitMix64) -> [ScoredSample] {
        let mu = positiveMean, sigma = positiveStandardDeviation
        let shared = correlation.squareRoot(), own = (1 - correlation).squareRoot()
        let span = UInt64(maximumStudiesPerPatient - minimumStudiesPerPatient + 1)
        var samples: [ScoredSample] = []
        samples.reserveCapacity(studies)
        var patient = 0
        while samples.count < studies {
            let count = min(minimumStudiesPerPatient + Int(generator.uniform(below: span)), studies - samples.count)
            let effect = generator.standardNormal()
            let patientPositive = labels == .perPatient ? generator.unitDouble() < prevalence : false
            for _ in 0..<count {
                let positive = labels == .perPatient ? patientPositive : generator.unitDouble() < prevalence
                let z = shared * effect + own * generator.standardNormal()
                let x = positive ? mu + sigma * z : z
                samples.append(ScoredSample(key: "s\(samples.count)", group: "p\(patient)", isPositive: positive,
                                            score: 1 / (1 + exp(-x))))
            }
            patient += 1
        }
        return samples
    }
}

/// Φ(x) = erfc(−x/√2) / 2, accurate in both tails (erfc, not 1 − erf).
public func standardNormalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

extension SplitMix64 {
    /// A uniform double in [0, 1): the top 53 bits, (next() >> 11) · 2⁻⁵³ (every value exact).
    public mutating func unitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal deviate by the Box–Muller transform, √(−2 ln u₁) · cos(2π u₂) with
    /// u₁ = 1 − unitDouble() ∈ (0, 1] (finite logarithm) and u₂ = unitDouble(); the sine half is
    /// discarded so that a stream's position depends only on how many normals were drawn (the same
    /// method as Synthesis' `SyntheticDraws.normal()`).
    public mutating func standardNormal() -> Double {
        let u1 = 1 - unitDouble(), u2 = unitDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension BinormalScenario {
    /// The scenarios of `scripts/validity/coverage` (population AUC 0.85 and σ = 1 unless stated;
    /// 1–3 studies per patient unless stated). "Realistic" ones, the ones the 93–97% criterion is
    /// applied to, have at least 40 studies, prevalence 0.2–0.5 and within-patient correlation:
    /// B2–D2. A1/A2 show small sets, the ρ = 0 ones the unclustered baseline, S an extreme of
    /// clustering (every patient 3 studies sharing one label, ρ = 0.9).
    public static let standardStudy: [BinormalScenario] = [
        .init(name: "A1", studies: 10, prevalence: 0.5, correlation: 0),
        .init(name: "A2", studies: 20, prevalence: 0.3, correlation: 0.5),
        .init(name: "B1", studies: 40, prevalence: 0.3, correlation: 0),
        .init(name: "B2", studies: 40, prevalence: 0.3, correlation: 0.5),
        .init(name: "B3", studies: 40, prevalence: 0.3, correlation: 0.5, labels: .perPatient),
        .init(name: "C1", studies: 100, prevalence: 0.2, correlation: 0),
        .init(name: "C2", studies: 100, prevalence: 0.2, correlation: 0.5),
        .init(name: "C3", studies: 100, prevalence: 0.5, correlation: 0.5, labels: .perPatient),
        .init(name: "C4", studies: 100, prevalence: 0.3, correlation: 0.5, auc: 0.95, positiveStandardDeviation: 1.5, labels: .perPatient),
        .init(name: "D1", studies: 200, prevalence: 0.3, correlation: 0.5),
        .init(name: "D2", studies: 200, prevalence: 0.3, correlation: 0.8, labels: .perPatient),
        .init(name: "D3", studies: 200, prevalence: 0.5, correlation: 0, auc: 0.95),
        .init(name: "S", studies: 90, prevalence: 0.5, correlation: 0.9, studiesPerPatient: 3...3, labels: .perPatient),
    ]
}
