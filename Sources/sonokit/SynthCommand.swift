import ArgumentParser
import Foundation
import SonoKitCore
import SonoKitCLI
import Synthesis
import Workflows

/// `sonokit synth`: a synthetic ultrasound cohort as a DICOM export (SampleStudies' layout and
/// encodings, labels.csv), deterministic from the seed.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic ultrasound cohort (DICOM export + labels.csv), deterministic from a seed.",
        discussion: """
        Patients have one to three studies at two sites: SITEA is a DICOMDIR file set, site-b/ a
        folder tree with .dcm names, with SampleStudies' mix of encodings (JPEG baseline, extended,
        lossless, JPEG-LS, RLE, deflate, big endian, implicit), colour models, sizes, cine loops
        and ultrasound regions. Classes are balanced per site, device and number of images. The
        first class that is not positive shows no lesion, the positive class (default: the last)
        a hypoechoic mass with posterior shadowing; with more classes, the others show a
        hyperechoic mass, then an anechoic complex cyst with posterior enhancement.
        labels.csv (study_uid,label,patient_id,site) and cohort.json are written last.

        Examples:
          sonokit synth -o cohort --patients 300 --seed 1
          sonokit synth -o cohort4 --patients 400 --seed 2 --classes normal,cyst,hyper,malignant --positive malignant
        """
    )

    @Option(name: .shortAndLong, help: "Folder for the cohort (new, empty, or an earlier cohort, which is replaced).")
    var output: String

    @Option(help: "Number of patients (each with one to three studies).")
    var patients: Int

    @Option(help: "Seed of every random choice (same seed, same bytes).")
    var seed: UInt64 = 1

    @Option(help: "Two to \(CohortParameters.maximumClasses) class names, comma separated.")
    var classes: String = "benign,malignant"

    @Option(help: "The positive class (default: the last of --classes).")
    var positive: String?

    @Option(help: "Threads rendering and encoding images (default: all cores; the output does not depend on it).")
    var threads: Int = CPUBudget.current.count

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        do {
            _ = try parameters().validated()
        } catch let error as SynthesisError { throw ValidationError(error.description) }
    }

    func parameters() -> CohortParameters {
        CohortParameters(patients: patients, seed: seed,
                         classes: classes.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) },
                         positive: positive)
    }

    func run() throws {
        var options = SynthWorkflow.Options(output: output, parameters: parameters())
        options.threads = threads
        try Self.execute(options)
    }

    /// Runs the workflow with a progress line every tenth of the images (line by line, for logs
    /// and pipes) and prints the summary with the measured speed. With `reuse`, a matching
    /// earlier cohort is kept.
    @discardableResult
    static func execute(_ options: SynthWorkflow.Options, reuse: Bool = false) throws -> Bool {
        let events = WorkflowEvents(progress: { _, done, total, elapsed, unit in
            let step = max(1, total / 10)
            guard done % step == 0 || done == total else { return }
            print(String(format: "synth: %d/%d %@ (%.0f%%), %.1f %@/s", done, total, unit, 100 * Double(done) / Double(max(total, 1)),
                         elapsed > 0 ? Double(done) / elapsed : 0, unit))
        })
        let result = try workflow { try SynthWorkflow(options, events: events).run(reuseExisting: reuse) }
        let s = result.summary
        if result.reused {
            print("Kept the cohort in \(options.output): made earlier with the same parameters (\(s.patients) patients, \(s.studies) studies, \(s.instances) images).")
            return true
        }
        let classes = options.parameters.classes.map { "\($0) \(s.studiesByClass[$0] ?? 0) (\(result.lesions[$0] ?? "none"))" }.joined(separator: ", ")
        print("Wrote \(options.output): \(s.patients) patients, \(s.studies) studies (\(classes)), \(s.instances) images, \(s.frames) frames, "
              + "\(s.nonImageObjects) non-image objects, DICOMDIR, labels.csv, cohort.json")
        print(String(format: "Speed: %.1f s, %.1f images/s, %.1f frames/s, %.1f MB (%.1f MB/s) on %d threads",
                     s.seconds, s.instancesPerSecond, s.framesPerSecond, Double(s.bytes) / 1e6,
                     s.seconds > 0 ? Double(s.bytes) / 1e6 / s.seconds : 0, options.threads))
        return false
    }
}
