import ArgumentParser
import Foundation
import ModelExport
import SonoKitCLI
import Workflows

extension CheckpointChoice: ExpressibleByArgument {}
extension InputLayout: ExpressibleByArgument {}
extension ExportWorkflow.Format: ExpressibleByArgument {}

/// `sonokit export`: a trained run as a standard ONNX model.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a trained run as one ONNX model (whole network, probabilities out, preprocessing in its metadata).",
        discussion: """
        The model takes the PREPROCESSED frame: tensor `input`, float32, (N, SIZE, SIZE, 3) with
        --layout nhwc (default, SonoKit's own layout) or (N, 3, SIZE, SIZE) with --layout nchw,
        after the run's crop, resampling and normalisation (e.g. caffe: BGR minus the ImageNet
        means). It returns `probability`, float32 (N, 1): the positive class's probability, as
        `sonokit predict` computes it per frame. Its metadata_props carry what a deployer needs to
        reproduce the input and read the output: sonokit.preprocess (+ _canonical, _hash),
        sonokit.normalization_formula, sonokit.classes, sonokit.positive_class, sonokit.threshold
        (+ _provenance), sonokit.aggregation, sonokit.weights_sha256, sonokit.base_weights_licence,
        sonokit.version.

        --check runs onnx.checker.check_model and ONNX Runtime on the exported file (Python from
        SONOKIT_PYTHON, else the venv of scripts/onnx/setup-python.sh, else python3) on frames of
        --check-input DICOM files (or seeded random pictures) and fails unless every probability
        equals SonoKit's within 1e-5 and the metadata round-trips. The .onnx file is written
        atomically: a failed export leaves none behind.

        Examples:
          sonokit export runs/exp1 --format onnx -o exp1.onnx
          sonokit export runs/exp1 -o exp1-nchw.onnx --layout nchw --opset 13 --check --check-input SampleStudies/SITEA
        """
    )

    @Argument(help: ArgumentHelp("The run folder written by `sonokit train`.", valueName: "run-dir")) var runDirectory: String
    @Option(help: "Output format (onnx).") var format: ExportWorkflow.Format = .onnx
    @Option(name: .shortAndLong, help: "The .onnx file to write (its folder must exist).") var output: String
    @Option(help: "Checkpoint: best (the model card's weights) or last (the latest epoch's).") var checkpoint: CheckpointChoice = .best
    @Option(help: "ONNX operator set version (\(ONNXExporter.supportedOpsets.lowerBound)...\(ONNXExporter.supportedOpsets.upperBound)).")
    var opset: Int = ONNXExporter.defaultOpset
    @Option(help: "Input layout: nhwc (N, H, W, 3) or nchw (N, 3, H, W).") var layout: InputLayout = .nhwc
    @Flag(help: "Check the file with ONNX's checker and ONNX Runtime against SonoKit's probabilities.") var check = false
    @Option(name: .customLong("check-input"), help: ArgumentHelp("DICOM files or folders whose frames --check scores (repeatable; default: seeded random pictures).", valueName: "path"))
    var checkInputs: [String] = []

    func validate() throws {
        if !checkInputs.isEmpty && !check { throw ValidationError("--check-input needs --check") }
    }

    func run() throws {
        var options = ExportWorkflow.Options(run: runDirectory, output: output)
        options.format = format
        options.checkpoint = checkpoint
        options.opset = opset
        options.layout = layout
        options.check = check
        options.checkInputs = checkInputs
        let result = try workflow { try ExportWorkflow(options, events: .terminal()).run() }
        print("export: \(result.modelID) (\(result.architecture)) -> \(result.file.path) (\(result.bytes) bytes, ONNX opset \(result.opset), input \(result.layout.rawValue.uppercased()))")
        if let c = result.check {
            print("check: onnx.checker passed; ONNX Runtime \(c.onnxruntime) on \(result.checkFrames ?? "\(c.frames) frames"): "
                  + "max |p_onnxruntime - p_sonokit| = \(String(format: "%.3g", c.maxAbsDifference)); metadata round-trips"
                  + (c.preprocessHashMatches ? "" : " (preprocessing hash differs from the run's: see the warning)"))
        }
    }
}
