import ArgumentParser
import SonoKitCLI
import Foundation
import Preprocess
import Workflows

/// `sonokit preview`: the pictures to check preprocessing by eye.
struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Write PNGs of each selected frame with its crop box and of the network input, plus a contact sheet per study.",
        discussion: """
        For every selected frame of every image instance under INPUT (files or folders):
          <study>/<instance>-f<frame>-source.png  the decoded frame with the crop box drawn
                                                  (green: DICOM tissue regions, orange: found
                                                  from the pixels, grey: no crop)
          <study>/<instance>-f<frame>-input.png   the SIZE x SIZE input exactly as the network
                                                  sees it, de-normalised for display
          <study>/contact-sheet.png               source thumbnail and input of every frame
          <study>/preview.json                    crop box and source, frames, warnings, config hash
        Folder and file names are pseudonymous (hashes of the Study and SOP Instance UIDs): no
        patient name or ID appears in them.

        Examples:
          sonokit preview SampleStudies -o preview/
          sonokit preview study/IM0001 -o preview/ --frames all --crop auto --aspect crop
        """
    )

    @Argument(help: "DICOM files or folders of them.") var inputs: [String]
    @Option(name: .shortAndLong, help: "Output folder (created).") var output: String
    @OptionGroup var preprocess: PreprocessOptions

    func run() throws {
        let config = try preprocess.config()
        var options = PreviewWorkflow.Options(inputs: inputs, output: output, config: config)
        options.frameCache = preprocess.frameCache
        options.frameCacheLimitMiB = preprocess.frameCacheLimitMb
        let result = try workflow { try PreviewWorkflow(options, events: .terminal()).run() }
        print("preview: \(result.frames) frames of \(result.instances) instances in \(result.studies) studies -> \(result.folder.path)"
              + (result.skipped > 0 ? " (\(result.skipped) files not images or unreadable)" : ""))
        print("preprocessing \(config.shortHash): \(config.canonicalJSON)")
    }
}
