import ArgumentParser
import Dispatch
import Evaluation
import Foundation
import SonoKitCore

/// `sonokit-bench coverage`: the coverage study of SonoKit's 95% intervals (Evaluation's
/// `CoverageStudy` over `BinormalScenario.standardStudy`), a table per scenario printed as each
/// finishes, and a CSV.
struct BenchCoverage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "Simulate evaluation sets with known population values and measure how often each 95% interval covers them.",
        discussion: """
        For each scenario (binormal scores, patients with 1-3 studies and a shared patient effect,
        see BinormalScenario in Sources/Evaluation/Validity), draws --replicates validation and test
        sets, fits the Youden threshold on validation and evaluates the test set with Evaluator,
        exactly as `sonokit evaluate` does at study level. Prints per interval the coverage with
        its Monte Carlo standard error, the mean width and how often no interval was computed.
        Deterministic from --seed, whatever --threads.

        Example:
          sonokit-bench coverage --replicates 5000 --csv coverage.csv
        """
    )

    @Option(help: "Replicates (simulated evaluation sets) per scenario.") var replicates: Int = 5000
    @Option(help: "Bootstrap replicates per evaluation (as sonokit evaluate).") var bootstrap: Int = 2000
    @Option(help: "Seed of the study.") var seed: UInt64 = 20_261_207
    @Option(help: "Threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Scenario names to run, comma-separated (default: all).") var scenarios: String?
    @Option(help: "Write the results to this CSV file.") var csv: String?

    func validate() throws {
        guard replicates >= 1 else { throw ValidationError("--replicates must be a positive integer, e.g. 2000") }
        guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be a positive integer, e.g. 1000") }
        guard threads >= 1 else { throw ValidationError("--threads must be a positive integer") }
    }

    func run() throws {
        var selected = BinormalScenario.standardStudy
        if let scenarios {
            let names = scenarios.split(separator: ",").map(String.init)
            let known = Set(selected.map(\.name))
            if let unknown = names.first(where: { !known.contains($0) }) {
                throw ValidationError("unknown scenario '\(unknown)'; known: \(selected.map(\.name).joined(separator: ", "))")
            }
            selected = selected.filter { names.contains($0.name) }
        }
        print("Coverage of SonoKit's 95% intervals: \(replicates) replicates per scenario, bootstrap B = \(bootstrap), "
            + "seed \(seed), \(threads) thread(s). Coverage ± Monte Carlo SE (mean width; unavailable).")
        var rows = [Self.csvHeader]
        let start = DispatchTime.now()
        for scenario in selected {
            let began = DispatchTime.now()
            let study = CoverageStudy(scenario: scenario, bootstrapReplicates: bootstrap, seed: seed)
            let summary = try study.run(replicates: replicates, threads: threads)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds) / 1e9
            let s = scenario
            print("\(s.name): \(s.studies) studies, \(Self.format(summary.meanPatients, 1)) patients on average "
                + "(\(s.minimumStudiesPerPatient)-\(s.maximumStudiesPerPatient) studies each), prevalence \(s.prevalence), "
                + "rho \(s.correlation), labels \(s.labels.rawValue), AUC \(s.auc), sigma \(s.positiveStandardDeviation); "
                + "\(summary.testSetsWithOneClass) test and \(summary.validationSetsWithOneClass) validation sets with one class; "
                + "\(Self.format(seconds, 1)) s")
            for kind in StudiedInterval.allCases {
                let t = summary.tallies[kind]!
                let coverage = t.coverage.map { "\(Self.format(100 * $0, 1))% ± \(Self.format(100 * t.monteCarloStandardError!, 1))" } ?? "n/a"
                let flag = t.coverage.map { $0 < 0.93 || $0 > 0.97 ? "  outside 93-97%" : "" } ?? ""
                print("  \(kind.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)) \(coverage.padding(toLength: 16, withPad: " ", startingAt: 0)) "
                    + "(width \(t.meanWidth.map { Self.format($0, 3) } ?? "n/a"); unavailable \(t.unavailable) of \(t.replicates))\(flag)")
                rows.append(Self.csvRow(summary, kind, t, seed: seed))
            }
        }
        let total = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        print("Total: \(Self.format(total, 1)) s")
        if let csv {
            try AtomicFile.write(Data(rows.joined(separator: "\n").appending("\n").utf8), to: csv)
            print("Wrote \(csv)")
        }
    }

    static let csvHeader = "scenario,studies,mean_patients,min_studies_per_patient,max_studies_per_patient,prevalence,rho,labels,auc,sigma,"
        + "interval,replicates,computed,covered,coverage,mc_se,mean_width,unavailable,test_sets_one_class,validation_sets_one_class,bootstrap_b,seed"

    static func csvRow(_ summary: CoverageSummary, _ kind: StudiedInterval, _ t: CoverageTally, seed: UInt64) -> String {
        let s = summary.scenario
        let fields: [String] = [
            s.name, "\(s.studies)", format(summary.meanPatients, 2), "\(s.minimumStudiesPerPatient)", "\(s.maximumStudiesPerPatient)",
            "\(s.prevalence)", "\(s.correlation)", s.labels.rawValue, "\(s.auc)", "\(s.positiveStandardDeviation)", kind.rawValue,
            "\(t.replicates)", "\(t.computed)", "\(t.covered)", t.coverage.map { format($0, 4) } ?? "",
            t.monteCarloStandardError.map { format($0, 4) } ?? "", t.meanWidth.map { format($0, 4) } ?? "", "\(t.unavailable)",
            "\(summary.testSetsWithOneClass)", "\(summary.validationSetsWithOneClass)", "\(summary.bootstrapReplicates)", "\(seed)",
        ]
        return fields.joined(separator: ",")
    }

    static func format(_ x: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", x) }
}
