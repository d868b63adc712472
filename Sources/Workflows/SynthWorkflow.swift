import Foundation
import SonoKitCore
import Synthesis

/// `synth`: a synthetic ultrasound cohort written as a DICOM export (SampleStudies' layout,
/// encodings and labels.csv), deterministic from its parameters (see Synthesis' CohortPlan and
/// CohortWriter).
public struct SynthWorkflow {
    public struct Options: Sendable {
        public var output: String
        public var parameters: CohortParameters
        /// Threads rendering and encoding images (the bytes do not depend on it).
        public var threads = CPUBudget.current.count

        public init(output: String, parameters: CohortParameters) {
            self.output = output
            self.parameters = parameters
        }

        /// The command line a user would type for these options (after `sonokit `).
        public var commandLine: String {
            var line = "synth -o \(output) --patients \(parameters.patients) --seed \(parameters.seed)"
            if parameters.classes != ["benign", "malignant"] || parameters.positive != "malignant" {
                line += " --classes \(parameters.classes.joined(separator: ","))"
                if parameters.positive != parameters.classes.last { line += " --positive \(parameters.positive)" }
            }
            return line
        }
    }

    public struct Result: Sendable {
        public var summary: CohortWriter.Summary
        /// The class → lesion look mapping ("none" for the class without lesion).
        public var lesions: [String: String]
        /// True when an existing cohort with the same parameters was kept (`reuseExisting`).
        public var reused: Bool
    }

    public let options: Options
    public let events: WorkflowEvents

    public init(_ options: Options, events: WorkflowEvents = .silent) {
        self.options = options
        self.events = events
    }

    /// Plans and writes the cohort. With `reuseExisting`, a complete cohort at the output made by
    /// this generator version with the same parameters is kept as it is.
    public func run(reuseExisting: Bool = false) throws -> Result {
        let root = URL(fileURLWithPath: options.output)
        if reuseExisting, let record = CohortWriter.record(at: root), record.matches(options.parameters) {
            return Result(summary: record.counts, lesions: record.lesions, reused: true)
        }
        let plan: CohortPlan
        do { plan = try CohortPlan.make(options.parameters) } catch let error as SynthesisError {
            throw WorkflowError.invalidInput(error.description)
        }
        let writer = CohortWriter(plan: plan, root: root, threads: options.threads)
        let progress = events.progress("synth", unit: "images")
        do {
            let summary = try writer.write(progress: progress)
            events.progressFinished("synth")
            return Result(summary: summary, lesions: plan.lesionKinds.mapValues { $0?.rawValue ?? "none" }, reused: false)
        } catch let error as SynthesisError {
            events.progressFinished("synth")
            throw WorkflowError.failed(error.description)
        }
    }
}
