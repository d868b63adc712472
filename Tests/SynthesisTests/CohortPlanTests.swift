import Foundation
import SonoKitTestSupport
import XCTest
@testable import Synthesis

/// The cohort plan: identifiers equal to the Python generator's, balance of the classes against
/// site, device, number of images and encoding, patient grouping, determinism.
final class CohortPlanTests: XCTestCase {
    /// Study UIDs of SampleStudies were made by Python's hashlib from seed 20261125 and study
    /// indices 0..<40: the Swift identifiers must be the same strings (SHA-256 input, 128-bit
    /// prefix, decimal conversion).
    func testStudyUIDsEqualThoseOfThePythonGenerator() throws {
        let labels = try String(contentsOf: RepositoryPaths.sampleStudies.appendingPathComponent("labels.csv"), encoding: .utf8)
        let python = Set(labels.split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) })
        XCTAssertEqual(python.count, 40)
        let ids = SyntheticIdentifiers(seed: 20261125)
        XCTAssertEqual(Set((0..<40).map { ids.uid("study", [$0]) }), python)
    }

    func testDecimalConversionAndDates() {
        XCTAssertEqual(SyntheticIdentifiers.decimal([0xFF, 0xFF]), "65535")
        XCTAssertEqual(SyntheticIdentifiers.decimal(Array(repeating: 0xFF, count: 16)), "340282366920938463463374607431768211455")
        XCTAssertEqual(SyntheticIdentifiers.decimal([0, 0, 1, 0]), "256")
        XCTAssertEqual(SyntheticIdentifiers.decimal([0, 0]), "0")
        XCTAssertEqual(CivilDate.days(1970, 1, 1), 0)
        XCTAssertEqual(CivilDate.string(CivilDate.days(2024, 2, 29) + 1), "20240301")
        XCTAssertEqual(CivilDate.string(CivilDate.days(1938, 1, 1) + 365 * 55 - 1), "19921217")
    }

    func testPlanIsBalancedAndNotConfoundedAndGroupsStudiesByPatient() throws {
        let plan = try CohortPlan.make(CohortParameters(patients: 300, seed: 11))
        XCTAssertEqual(plan.patients.count, 300)
        XCTAssertEqual(Set(plan.patients.map(\.patientID)).count, 300)
        XCTAssertEqual(Set(plan.patients.map(\.folder)).count, 300)
        XCTAssertEqual(Set(plan.studies.map(\.uid)).count, plan.studies.count)
        // Every patient has 1...3 studies numbered 1...k, all at the patient's site; dates increase.
        let byPatient = Dictionary(grouping: plan.studies, by: \.patient)
        XCTAssertEqual(byPatient.count, 300)
        for (_, studies) in byPatient {
            XCTAssertTrue((1...3).contains(studies.count))
            XCTAssertEqual(studies.map(\.ordinal), Array(1...studies.count))
            XCTAssertEqual(studies.map(\.date), studies.map(\.date).sorted())
        }
        let counts = Dictionary(grouping: byPatient.values.map(\.count), by: { $0 }).mapValues(\.count)
        XCTAssertGreaterThan(counts[2] ?? 0, 50)
        XCTAssertGreaterThan(counts[3] ?? 0, 10)
        // Sites half and half; classes balanced to one study within each site.
        XCTAssertEqual(plan.patients.filter { $0.site == .siteA }.count, 150)
        for site in [Site.siteA, .siteB] {
            let labels = plan.studies.filter { plan.patients[$0.patient].site == site }.map(\.label)
            XCTAssertLessThanOrEqual(abs(labels.filter { $0 == "benign" }.count - labels.filter { $0 == "malignant" }.count), 1, "\(site)")
        }
        // Device model alternates within (site, class).
        for site in [Site.siteA, .siteB] {
            for label in ["benign", "malignant"] {
                let models = plan.studies.filter { plan.patients[$0.patient].site == site && $0.label == label }.map(\.model)
                let (a, b) = (CohortPlan.modelsBySite[site]![0], CohortPlan.modelsBySite[site]![1])
                XCTAssertLessThanOrEqual(abs(models.filter { $0 == a }.count - models.filter { $0 == b }.count), 1)
            }
        }
        // Images per study: the same distribution in both classes (equal sizes: equal multisets).
        let benign = plan.studies.filter { $0.label == "benign" }, malignant = plan.studies.filter { $0.label == "malignant" }
        if benign.count == malignant.count {
            XCTAssertEqual(benign.map(\.instances.count).sorted(), malignant.map(\.instances.count).sorted())
        }
        let meanB = Double(benign.map(\.instances.count).reduce(0, +)) / Double(benign.count)
        let meanM = Double(malignant.map(\.instances.count).reduce(0, +)) / Double(malignant.count)
        XCTAssertEqual(meanB, meanM, accuracy: 0.05)
        // Every encoding / colour / cine kind is split evenly between the classes.
        func kinds(_ studies: [SyntheticStudy]) -> [String: Int] {
            Dictionary(grouping: studies.flatMap(\.instances), by: { "\($0.encoding.rawValue) \($0.colour.rawValue) \($0.frames > 1)" }).mapValues(\.count)
        }
        let kb = kinds(benign), km = kinds(malignant)
        for key in Set(kb.keys).union(km.keys) { XCTAssertLessThanOrEqual(abs((kb[key] ?? 0) - (km[key] ?? 0)), 2, key) }
        // Lesions: every positive study has the shadowing mass, no negative study has a lesion.
        XCTAssertTrue(malignant.allSatisfy { $0.lesion?.kind == .hypoechoicShadowingMass })
        XCTAssertTrue(benign.allSatisfy { $0.lesion == nil })
    }

    func testEncodingsComeInSampleStudiesProportions() throws {
        let plan = try CohortPlan.make(CohortParameters(patients: 400, seed: 3))
        let specs = plan.studies.flatMap(\.instances)
        let template = CohortPlan.templateSpecs(cineFrames: [8, 8, 8, 8, 8])
        XCTAssertEqual(template.count, 57)
        let copies = Double(specs.count) / 57
        for encoding in Encoding.allCases {
            let expected = Double(template.filter { $0.encoding == encoding }.count) * copies
            let got = Double(specs.filter { $0.encoding == encoding }.count)
            XCTAssertEqual(got, expected, accuracy: 2, encoding.rawValue)
        }
        let noRegions = Double(specs.filter { !$0.regions }.count)
        XCTAssertEqual(noRegions, 8 * copies, accuracy: 3)
        XCTAssertTrue(specs.filter { $0.dual || $0.greyBarRegion }.allSatisfy(\.regions))
        XCTAssertTrue(specs.filter { $0.frames > 1 }.allSatisfy { (8...16).contains($0.frames) })
    }

    func testSameSeedSamePlanOtherSeedOtherPlan() throws {
        let a = try CohortPlan.make(CohortParameters(patients: 60, seed: 5))
        XCTAssertEqual(a, try CohortPlan.make(CohortParameters(patients: 60, seed: 5)))
        let b = try CohortPlan.make(CohortParameters(patients: 60, seed: 6))
        XCTAssertNotEqual(a.studies.map(\.uid), b.studies.map(\.uid))
        XCTAssertNotEqual(a.studies.map(\.label), b.studies.map(\.label))
    }

    func testMoreClassesGetDistinctLesionsAndTheFirstNone() throws {
        let parameters = CohortParameters(patients: 200, seed: 1, classes: ["normal", "cancer", "hyper", "cyst"], positive: "cancer")
        let plan = try CohortPlan.make(parameters)
        XCTAssertEqual(plan.lesionKinds["normal"], .some(nil))
        XCTAssertEqual(plan.lesionKinds["cancer"], .hypoechoicShadowingMass)
        XCTAssertEqual(plan.lesionKinds["hyper"], .hyperechoicMass)
        XCTAssertEqual(plan.lesionKinds["cyst"], .anechoicComplexCyst)
        for st in plan.studies { XCTAssertEqual(st.lesion?.kind, plan.lesionKinds[st.label] ?? nil, st.label) }
        let sizes = Dictionary(grouping: plan.studies, by: \.label).mapValues(\.count)
        XCTAssertEqual(Set(sizes.keys), ["normal", "cancer", "hyper", "cyst"])
        XCTAssertLessThanOrEqual(sizes.values.max()! - sizes.values.min()!, 2)
        // Hyperechoic looks are brighter than tissue, the cyst darker with enhancement.
        XCTAssertTrue(plan.studies.filter { $0.label == "hyper" }.allSatisfy { $0.lesion!.contrast > 1 && $0.lesion!.shadow == 0 })
        XCTAssertTrue(plan.studies.filter { $0.label == "cyst" }.allSatisfy { $0.lesion!.contrast < 0.12 && $0.lesion!.shadow < 0 })
        // The positive class defaults to the last; --positive first makes the second class the one without lesion.
        XCTAssertEqual(CohortParameters(patients: 1, seed: 1, classes: ["a", "b"]).positive, "b")
        XCTAssertEqual(CohortPlan.lesionKinds(CohortParameters(patients: 1, seed: 1, classes: ["a", "b"], positive: "a"))["b"], .some(nil))
    }

    func testUnusableParametersAreRefusedWithWhatToChange() {
        func message(_ p: CohortParameters) -> String {
            do { _ = try p.validated(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(CohortParameters(patients: 0, seed: 1)).contains("--patients"))
        XCTAssertTrue(message(CohortParameters(patients: 5, seed: 1, classes: ["only"])).contains("two or more"))
        XCTAssertTrue(message(CohortParameters(patients: 5, seed: 1, classes: ["a", "b", "c", "d", "e"])).contains("at most 4"))
        XCTAssertTrue(message(CohortParameters(patients: 5, seed: 1, classes: ["a", "b"], positive: "c")).contains("--positive 'c'"))
        XCTAssertTrue(message(CohortParameters(patients: 5, seed: 1, classes: ["a", "a"])).contains("named twice"))
        XCTAssertEqual(message(CohortParameters(patients: 5, seed: 1)), "")
    }
}
