import ArgumentParser
import SonoKitCLI
import DICOM
import Foundation
import SonoKitCore
import Imaging

/// `sonokit inspect`: what the reader sees in one file.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the reader sees in a DICOM file: syntax, colour, frames, windows, ultrasound regions.",
        discussion: """
        Patient name, ID and birth date are not shown unless --include-identifiers is given.

        Examples:
          sonokit inspect SampleStudies/site-b/anon-74468e/study-1/IMG0001.dcm
          sonokit inspect IMG0001.dcm --json
          sonokit inspect CINE.dcm --frame 3 --png frame3.png
        """
    )

    @Argument(help: "The DICOM file.")
    var file: String

    @Flag(help: "Print JSON (documented by Schemas/inspect.schema.json) instead of text.")
    var json = false

    @Option(help: "Frame to decode (0-based) for the decoding facts and --png.")
    var frame: Int = 0

    @Option(help: "Write the frame as the reader decodes it for the network (8-bit RGB, VOI applied, no crop, no resize).")
    var png: String?

    @Flag(help: "Also show patient name, ID and birth date.")
    var includeIdentifiers = false

    func run() throws {
        let dicom = try DicomFile(path: file)
        var decoded: DecodedFrame?
        if dicom.metadata.isImage {
            do { decoded = try dicom.decodeFrame(frame) } catch let error as DicomError {
                if png != nil { throw error }
                warn(error.description)
            }
        } else if png != nil {
            throw CommandFailure("\(file): not an image object (SOP class \(dicom.metadata.sopClassUID)); nothing to write as PNG")
        }
        if let png, let decoded {
            try PNGFile.write(decoded.image, to: png)
        }
        let report = InspectReport(file: dicom, decodedFrame: decoded, includeIdentifiers: includeIdentifiers)
        if json {
            print(try SonoKitJSON.string(report))
        } else {
            print(InspectText.render(report))
        }
    }
}

/// The human-readable form of an `InspectReport`.
enum InspectText {
    static func render(_ r: InspectReport) -> String {
        var lines: [String] = []
        func add(_ key: String, _ value: Any?) {
            guard let value else { return }
            lines.append(key.padding(toLength: 30, withPad: " ", startingAt: 0) + "\(value)")
        }
        add("file", r.file)
        add("sop class", r.sopClassName.map { "\($0) (\(r.sopClassUid))" } ?? r.sopClassUid)
        add("modality", r.modality)
        add("transfer syntax", "\(r.transferSyntax.name) (\(r.transferSyntax.uid))" + (r.transferSyntax.decodable ? "" : " — NOT decodable"))
        add("image / ultrasound", "\(r.isImage) / \(r.isUltrasound)")
        if r.isImage {
            add("photometric (stored)", r.photometricInterpretation.stored)
            add("photometric (decoded)", r.photometricInterpretation.decoded)
            add("colour conversion", r.photometricInterpretation.colorConversion?.rawValue)
            add("decoder", r.decoder.map { d in d.rawValue + (r.decoderFallback.map { " (fallback: \($0))" } ?? "") })
            add("rows x columns", "\(r.rows) x \(r.columns)")
            add("frames", r.frames)
            add("samples per pixel", r.samplesPerPixel)
            add("bits allocated / stored", "\(r.bitsAllocated) / \(r.bitsStored) (high bit \(r.highBit))")
            add("planar configuration", r.planarConfiguration)
            add("pixel representation", r.pixelRepresentation == 0 ? "0 (unsigned)" : "\(r.pixelRepresentation) (signed)")
            if r.rescale.slope != nil || r.rescale.intercept != nil {
                add("rescale slope / intercept", "\(r.rescale.slope ?? 1) / \(r.rescale.intercept ?? 0)")
            }
            if !r.voi.windowCenters.isEmpty {
                add("window centre / width", zip(r.voi.windowCenters, r.voi.windowWidths).map { "\($0)/\($1)" }.joined(separator: ", "))
            }
            add("VOI LUT", r.voi.hasVoiLut ? "present" : "absent")
            if let a = r.voi.applied {
                add("VOI applied", a.source.rawValue + (a.center.map { " (centre \($0), width \(a.width ?? 0))" } ?? ""))
            }
            add("frame time (ms)", r.frameTimeMs)
            add("burned-in annotation", r.burnedInAnnotation)
        }
        add("manufacturer / model", "\(r.manufacturer ?? "-") / \(r.modelName ?? "-")")
        if r.regions.isEmpty {
            add("ultrasound regions", r.isImage ? "none" : nil)
        } else {
            add("ultrasound regions", r.regions.count)
            for g in r.regions {
                let delta = g.physicalDeltaX.map { dx in
                    " delta \(dx) \(g.physicalUnitsX ?? "") x \(g.physicalDeltaY ?? 0) \(g.physicalUnitsY ?? "")"
                } ?? ""
                lines.append("  [\(g.index)] \(g.dataTypeName) (type \(g.dataType), format \(g.spatialFormat)) x \(g.minX0)...\(g.maxX1) y \(g.minY0)...\(g.maxY1)\(delta)")
            }
        }
        if let ids = r.identifiers {
            add("patient name", ids.patientName ?? "-")
            add("patient id", ids.patientID ?? "-")
            add("birth date", ids.birthDate ?? "-")
        }
        return lines.joined(separator: "\n")
    }
}
