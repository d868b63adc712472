@testable import Evaluation
import XCTest

/// The report says in words where the coverage study measured an interval covering less than 95%.
final class CoverageWarningTests: XCTestCase {
    /// `patients` patients of `perPatient` samples each; the first `positivePatients` patients positive.
    private func samples(patients: Int, perPatient: Int, positivePatients: Int) -> [ScoredSample] {
        (0..<patients).flatMap { p in
            (0..<perPatient).map { s in
                ScoredSample(key: "p\(p)s\(s)", group: "p\(p)", isPositive: p < positivePatients, score: Double(p % 7) / 7)
            }
        }
    }

    private func auc(_ estimate: Double, bootstrap: Bool = true, delong: Bool = true) -> AUCResult {
        let ci = ConfidenceInterval(lower: estimate - 0.05, upper: min(1, estimate + 0.05), level: 0.95, method: "x")
        return AUCResult(estimate: estimate, delong: delong ? .init(variance: 0.001, interval: ci) : nil,
                         bootstrap: bootstrap ? .init(interval: ci, replicates: 10, used: 10, skipped: 0, seed: 1, resamplingUnit: "patient") : nil)
    }

    func testIndependentStudiesOfManyPatientsGetNoNote() {
        XCTAssertEqual(CoverageWarning.notes(samples(patients: 150, perPatient: 1, positivePatients: 50), auc: auc(0.95), level: .study), [])
    }

    func testSeveralStudiesPerPatientFlagTheWilsonIntervals() {
        let notes = CoverageWarning.notes(samples(patients: 120, perPatient: 2, positivePatients: 40), auc: auc(0.8), level: .study)
        XCTAssertEqual(notes.count, 1, "\(notes)")
        XCTAssertTrue(notes[0].hasPrefix("Some patients have several studies here: the Wilson intervals"), notes[0])
        XCTAssertTrue(notes[0].contains("87-92% instead of 95%"), notes[0])
        let frames = CoverageWarning.notes(samples(patients: 120, perPatient: 5, positivePatients: 40), auc: auc(0.8), level: .frame)
        XCTAssertTrue(frames[0].hasPrefix("Some patients have several frames here"), frames[0])
    }

    /// Below 100 patients the bootstrap note; none without a bootstrap; no "prefer DeLong" without DeLong.
    func testFewPatientsFlagTheBootstrap() {
        let few = samples(patients: 99, perPatient: 1, positivePatients: 40)
        let notes = CoverageWarning.notes(few, auc: auc(0.8), level: .study)
        XCTAssertEqual(notes.count, 1, "\(notes)")
        XCTAssertTrue(notes[0].hasPrefix("With 99 patients the patient bootstrap's percentile interval is too narrow"), notes[0])
        XCTAssertTrue(notes[0].hasSuffix("prefer the DeLong interval."), notes[0])
        XCTAssertEqual(CoverageWarning.notes(few, auc: auc(0.8, bootstrap: false), level: .study), [])
        XCTAssertFalse(CoverageWarning.notes(few, auc: auc(0.8, delong: false), level: .study)[0].contains("DeLong"))
        XCTAssertEqual(CoverageWarning.notes(samples(patients: 100, perPatient: 1, positivePatients: 40), auc: auc(0.8), level: .study), [])
    }

    /// AUC ≥ 0.9 with fewer than 30 positive patients, or fewer than 10 patients of a class; 30
    /// positive patients at AUC 0.93, or 10 at AUC 0.89, do not.
    func testFewPatientsOfAClassOrAHighAUCWithFewPositivePatients() {
        let notes = CoverageWarning.notes(samples(patients: 150, perPatient: 1, positivePatients: 29), auc: auc(0.93), level: .study)
        XCTAssertEqual(notes, ["An AUC of 0.930 from 29 patients with a positive and 121 with a negative sample: with few patients "
            + "of a class, or a high AUC and few positive patients, both AUC intervals are too narrow (in SonoKit's coverage study "
            + "DeLong covered 92% and the bootstrap 88% with about 6 positive patients, 89% and 84% at AUC 0.95 with about 15, "
            + "instead of 95%)."])
        XCTAssertEqual(CoverageWarning.notes(samples(patients: 150, perPatient: 1, positivePatients: 30), auc: auc(0.93), level: .study), [])
        XCTAssertEqual(CoverageWarning.notes(samples(patients: 150, perPatient: 1, positivePatients: 10), auc: auc(0.89), level: .study), [])
        XCTAssertEqual(CoverageWarning.notes(samples(patients: 150, perPatient: 1, positivePatients: 9), auc: auc(0.7), level: .study).count, 1)
        XCTAssertEqual(CoverageWarning.notes(samples(patients: 150, perPatient: 1, positivePatients: 141), auc: auc(0.7), level: .study).count, 1)
        XCTAssertEqual(CoverageWarning.notes(samples(patients: 150, perPatient: 1, positivePatients: 9), auc: auc(0.7, bootstrap: false, delong: false),
                                             level: .study), [])
    }
}
