import Catalog
import Foundation
import Synthesis
import XCTest
@testable import Workflows

/// `synth` then `ingest`: a generated cohort is an export SonoKit indexes without a problem, and
/// a matching earlier cohort is kept (the demo's reuse).
final class SynthWorkflowTests: XCTestCase {
    func testAGeneratedCohortIsIndexedWithoutProblemsAndReused() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-synth-ingest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let cohort = work.appendingPathComponent("cohort").path
        let options = SynthWorkflow.Options(output: cohort, parameters: CohortParameters(patients: 8, seed: 4))
        XCTAssertEqual(options.commandLine, "synth -o \(cohort) --patients 8 --seed 4")
        let made = try SynthWorkflow(options).run()
        XCTAssertFalse(made.reused)
        let s = made.summary
        XCTAssertEqual(s.patients, 8)
        XCTAssertEqual(s.studiesByClass.values.reduce(0, +), s.studies)

        let catalog = work.appendingPathComponent("catalog.sqlite").path
        let ingest = try IngestWorkflow(IngestWorkflow.Options(folders: [cohort], catalog: catalog)).run()
        XCTAssertEqual(ingest.problems.map(\.message), [])
        XCTAssertEqual(ingest.summary.imageInstances, s.instances)
        XCTAssertEqual(ingest.summary.ultrasoundInstances, s.instances)
        XCTAssertEqual(ingest.summary.dicomInstances, s.instances + s.nonImageObjects)
        XCTAssertEqual(ingest.summary.frames, s.frames)
        XCTAssertEqual(ingest.summary.studies, s.studies)
        XCTAssertEqual(ingest.summary.patients, 8)
        XCTAssertEqual(ingest.summary.dicomdirFiles, 1)

        let again = try SynthWorkflow(options).run(reuseExisting: true)
        XCTAssertTrue(again.reused)
        var recorded = s
        recorded.seconds = 0   // cohort.json records no time
        XCTAssertEqual(again.summary, recorded)
        var other = options
        other.parameters.seed = 5
        XCTAssertFalse(try SynthWorkflow(other).run(reuseExisting: true).reused)
    }
}
