/// A two-sided confidence interval for a point estimate, with the method that produced it.
public struct ConfidenceInterval: Codable, Equatable, Sendable {
    public var lower: Double
    public var upper: Double
    /// Nominal coverage, e.g. 0.95.
    public var level: Double
    /// How it was computed: "wilson", "delong-logit", "delong-wald", "delong-clustered-logit",
    /// "delong-clustered-wald" (Obuchowski's cluster-aware variance over patients), "bootstrap-percentile".
    public var method: String

    public init(lower: Double, upper: Double, level: Double, method: String) {
        self.lower = lower
        self.upper = upper
        self.level = level
        self.method = method
    }

    /// Whether `value` lies in [lower, upper].
    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }
}

/// A proportion k/n with its Wilson score interval (sensitivity, specificity, PPV, NPV, accuracy).
public struct Proportion: Codable, Equatable, Sendable {
    public var numerator: Int
    public var denominator: Int
    /// k / n.
    public var value: Double
    public var interval: ConfidenceInterval

    /// `nil` when n = 0 (for example PPV when no sample was called positive): the proportion is
    /// undefined and no convention (0? 1?) is substituted for it.
    public init?(_ numerator: Int, of denominator: Int, confidenceLevel: Double = 0.95) throws {
        guard denominator > 0 else { return nil }
        self.numerator = numerator
        self.denominator = denominator
        self.value = Double(numerator) / Double(denominator)
        self.interval = try Wilson.interval(successes: numerator, trials: denominator, confidenceLevel: confidenceLevel)
    }
}

/// The Wilson score interval for a binomial proportion (Wilson 1927).
public enum Wilson {
    /// The interval {p : |p̂ - p| <= z sqrt(p(1 - p)/n)}, inverted in closed form:
    ///
    ///     centre = (p̂ + z²/(2n)) / (1 + z²/n)
    ///     half   = z / (1 + z²/n) · sqrt(p̂(1 - p̂)/n + z²/(4n²))
    ///
    /// with p̂ = k/n and z = Φ⁻¹(1 - α/2).
    ///
    /// Why Wilson and not the Wald interval p̂ ± z sqrt(p̂(1 - p̂)/n): Wald collapses to a point at
    /// p̂ = 0 or 1 and undercovers badly for small n (Brown, Cai & DasGupta 2001), which is exactly
    /// the regime of sensitivity on a few dozen positive studies. Properties: always inside [0, 1];
    /// always contains p̂; non-degenerate at k = 0 and k = n; matches statsmodels'
    /// `proportion_confint(method="wilson")`.
    public static func interval(successes k: Int, trials n: Int, confidenceLevel: Double = 0.95) throws -> ConfidenceInterval {
        guard n > 0, k >= 0, k <= n else {
            throw EvaluationError.invalidParameter(name: "proportion", value: "\(k)/\(n)", expected: "0 <= k <= n and n > 0")
        }
        let z = try criticalValue(confidenceLevel: confidenceLevel)
        let nn = Double(n), p = Double(k) / nn, z2 = z * z
        let denominator = 1 + z2 / nn
        let centre = (p + z2 / (2 * nn)) / denominator
        let half = z / denominator * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot()
        // Clamp rounding only (the exact interval is inside [0, 1] and contains p̂).
        return ConfidenceInterval(lower: max(0, min(p, centre - half)), upper: min(1, max(p, centre + half)),
                                  level: confidenceLevel, method: "wilson")
    }
}
