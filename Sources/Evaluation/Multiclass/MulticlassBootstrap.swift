import Foundation

extension PatientBootstrap {
    /// Percentile intervals of the macro and the prevalence-weighted one-vs-rest AUC, from one
    /// stream of replicates drawn exactly as for the binary AUC (`PatientBootstrap`: patients sorted
    /// by code points, one SplitMix64 stream from `seed`, G draws `uniform(below: G)` per replicate;
    /// a patient drawn k times contributes all its samples k times).
    ///
    /// Per replicate: AUC_k of class k against the rest on the replicate (Mann-Whitney, ties one
    /// half), macro = (1/N) Σ_k AUC_k, weighted = Σ_k (n*_k / n*) AUC_k with n*_k the replicate's
    /// samples of class k. A replicate in which some class is absent (or is every sample) has no
    /// AUC for that class and is **skipped** (counted, not redrawn); more than
    /// `maximumSkippedFraction` skipped refuses the interval (`bootstrapDegenerate`). A
    /// reference script replays it draw for draw with scikit-learn's
    /// `roc_auc_score(multi_class="ovr", average="macro" | "weighted")`.
    public func multiclassAUCIntervals(_ samples: [MulticlassSample], classCount: Int) throws
        -> (macro: ConfidenceInterval, weighted: ConfidenceInterval, summary: Summary) {
        guard replicates >= 1 else {
            throw EvaluationError.invalidParameter(name: "bootstrap replicates", value: "\(replicates)", expected: "a positive integer, e.g. 2000")
        }
        _ = try MulticlassOutcomes(samples, classCount: classCount, what: "the bootstrap input")
        let rankings = try (0..<classCount).map { k in
            try WeightedRanking(samples.map { ScoredSample(key: $0.key, group: $0.group, isPositive: $0.trueClass == k, score: $0.probabilities[k]) },
                                bootstrap: self)
        }
        // Samples of each class per patient, patients indexed as WeightedRanking indexes them.
        let patients = Set(samples.map(\.group)).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        let index = Dictionary(uniqueKeysWithValues: patients.enumerated().map { ($0.element, $0.offset) })
        var perPatient = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: patients.count)
        for s in samples { perPatient[index[s.group]!][s.trueClass] += 1 }

        var macro: [Double] = [], weighted: [Double] = []
        macro.reserveCapacity(replicates); weighted.reserveCapacity(replicates)
        let summary = try drawReplicates(patientCount: patients.count) { multiplicity in
            var aucs: [Double] = []
            for ranking in rankings {
                guard let auc = ranking.auc(multiplicity) else { return false }
                aucs.append(auc)
            }
            var support = [Int](repeating: 0, count: classCount)
            for (p, counts) in perPatient.enumerated() where multiplicity[p] > 0 {
                for k in 0..<classCount { support[k] += multiplicity[p] * counts[k] }
            }
            let total = Double(support.reduce(0, +))
            macro.append(aucs.reduce(0, +) / Double(classCount))
            weighted.append(zip(aucs, support).reduce(0.0) { $0 + $1.0 * Double($1.1) / total })
            return true
        }
        return (percentileInterval(macro), percentileInterval(weighted), summary)
    }
}
