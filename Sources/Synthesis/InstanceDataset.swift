import Foundation

/// SOP classes the generator writes.
public enum SyntheticSOPClass {
    public static let usImage = "1.2.840.10008.5.1.4.1.1.6.1"
    public static let usMultiframe = "1.2.840.10008.5.1.4.1.1.3.1"
    /// Secondary Capture (ConversionType SYN, Modality US): the stored forms the US Image module
    /// does not allow (PS3.3 C.8.5.6.1: 8 bits only; for JPEG baseline only YBR_FULL_422), so
    /// that every object passes dciodvfy: 12-in-16-bit grayscale with rescale, JPEG baseline
    /// compressed in RGB (+cr) or YCbCr 4:4:4 (+s4). SonoKit takes Modality US as ultrasound.
    public static let secondaryCapture = "1.2.840.10008.5.1.4.1.1.7"
    public static let basicTextSR = "1.2.840.10008.5.1.4.1.1.88.11"
    public static let keyObjectSelection = "1.2.840.10008.5.1.4.1.1.88.59"
}

/// The generator's version, in cohort.json and SoftwareVersions: a cohort made by another
/// version is regenerated, not reused.
public let synthesisGeneratorVersion = "sonokit-synth 1"

/// The DICOM header and pixel data of one image: the Python generator's `image_dataset`,
/// `common_header` and `ultrasound_regions` (scripts/samples/make_sample_studies.py).
enum InstanceDataset {
    static func sopClass(_ spec: InstanceSpec) -> String {
        if spec.colour == .mono2x16 || spec.encoding == .jpegBaselineRGB || spec.encoding == .jpegBaseline444 {
            return SyntheticSOPClass.secondaryCapture
        }
        return spec.frames > 1 ? SyntheticSOPClass.usMultiframe : SyntheticSOPClass.usImage
    }

    /// Patient, study and equipment attributes shared by every object of a study.
    static func commonHeader(_ object: inout DicomObject, study: SyntheticStudy, patient: SyntheticPatient) {
        object.set("SpecificCharacterSet", "ISO_IR 100")
        for key in ["StudyDate", "SeriesDate", "ContentDate"] { object.set(key, study.date) }
        for key in ["StudyTime", "SeriesTime"] { object.set(key, study.time) }
        object.set("AccessionNumber", study.accession)
        object.set("Manufacturer", "SonoKit Synthetic")
        object.set("InstitutionName", "SonoKit Synthetic \(patient.site == .siteA ? "Site A" : "Site B")")
        object.set("ReferringPhysicianName", "SYNTH^REFERRER")
        object.set("StudyDescription", "US ABDOMEN (SYNTHETIC)")
        object.set("PatientName", patient.name)
        object.set("PatientID", patient.patientID)
        object.set("PatientBirthDate", patient.birthDate)
        object.set("PatientSex", patient.sex)
        object.set("StudyInstanceUID", study.uid)
        object.set("StudyID", study.index + 1)
    }

    /// `value` rounded half to even (numpy's rint, Python's round).
    static func rint(_ value: Double) -> Int { Int(value.rounded(.toNearestOrEven)) }

    /// A decimal with 6 significant digits (Python's "%.6g").
    static func g6(_ value: Double) -> String { String(format: "%.6g", value) }

    static func image(study: SyntheticStudy, patient: SyntheticPatient, spec: InstanceSpec, number: Int, sopInstanceUID: String,
                      rendered: RenderedInstance) -> DicomObject {
        var o = DicomObject()
        let n = rendered.frames, h = rendered.height, w = rendered.width
        let sopClass = sopClass(spec)
        commonHeader(&o, study: study, patient: patient)
        o.set("ImageType", ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"])
        o.set("SOPClassUID", sopClass)
        o.set("SOPInstanceUID", sopInstanceUID)
        o.set("ContentTime", String(study.time.prefix(4)) + String(format: "%02d", 10 + number))
        o.set("Modality", "US")
        if sopClass == SyntheticSOPClass.secondaryCapture { o.set("ConversionType", "SYN") }
        o.set("StationName", "SKSIM\(patient.site == .siteA ? 1 : 2)")
        o.set("SeriesDescription", n > 1 ? "B-MODE CINE" : "B-MODE")
        o.set("ManufacturerModelName", study.model)
        o.set("BodyPartExamined", "ABDOMEN")
        o.set("DeviceSerialNumber", CohortPlan.serialByModel[study.model] ?? "")
        o.set("SoftwareVersions", synthesisGeneratorVersion)
        o.set("TransducerData", study.probe)
        o.set("SeriesInstanceUID", study.seriesUID)
        o.set("SeriesNumber", 1)
        o.set("InstanceNumber", number)
        o.set("PatientOrientation", "")
        o.set("BurnedInAnnotation", "YES")
        o.set("Rows", h)
        o.set("Columns", w)
        if n > 1 {
            let fps = [20, 25, 30][number % 3]
            o.set("NumberOfFrames", n)
            o.set("FrameTime", String(format: "%.4f", 1000.0 / Double(fps)))
            o.set("CineRate", fps)
            o.set("RecommendedDisplayFrameRate", fps)
            o.set("FrameIncrementPointer", "(0018,1063)")
        }
        if spec.regions { regions(&o, spec: spec, rendered: rendered) }
        o.rows = h
        o.columns = w
        o.frames = n
        o.encoding = spec.encoding
        switch spec.colour {
        case .rgb, .rgbPlanar, .ybrFull:
            o.set("SamplesPerPixel", 3)
            o.set("BitsAllocated", 8)
            o.set("BitsStored", 8)
            o.set("HighBit", 7)
            o.set("PixelRepresentation", 0)
            var bytes = [UInt8]()
            bytes.reserveCapacity(n * h * w * 3)
            if spec.encoding == .jfifWrapped {
                // The device's own JPEG: YCbCr 4:2:2 from RGB (libjpeg-turbo, in the C shim).
                o.set("PhotometricInterpretation", "YBR_FULL_422")
                o.set("PlanarConfiguration", 0)
                o.set("LossyImageCompression", "01")
                o.set("LossyImageCompressionMethod", "ISO_10918_1")
                for frame in rendered.rgb { bytes += frame }
            } else if spec.colour == .rgb {
                o.set("PhotometricInterpretation", "RGB")
                o.set("PlanarConfiguration", 0)
                o.set("LossyImageCompression", "00")
                for frame in rendered.rgb { bytes += frame }
            } else {
                // Colour-by-plane (PlanarConfiguration 1): RGB, or YBR_FULL (the US Image module
                // allows YBR_FULL only by plane).
                let ybr = spec.colour == .ybrFull
                o.set("PhotometricInterpretation", ybr ? "YBR_FULL" : "RGB")
                o.set("PlanarConfiguration", 1)
                o.set("LossyImageCompression", "00")
                for frame in rendered.rgb {
                    let pixels = frame.count / 3
                    var planes = [UInt8](repeating: 0, count: frame.count)
                    for p in 0..<pixels {
                        let r = frame[3 * p], g = frame[3 * p + 1], b = frame[3 * p + 2]
                        let (c0, c1, c2) = ybr ? ybrFull(r, g, b) : (r, g, b)
                        planes[p] = c0
                        planes[pixels + p] = c1
                        planes[2 * pixels + p] = c2
                    }
                    bytes += planes
                }
            }
            o.pixels8 = bytes
        case .mono2, .mono1, .mono2x16:
            o.set("SamplesPerPixel", 1)
            o.set("PhotometricInterpretation", spec.colour == .mono1 ? "MONOCHROME1" : "MONOCHROME2")
            o.set("PixelRepresentation", 0)
            o.set("LossyImageCompression", "00")
            if spec.colour == .mono2x16 {
                // 12 stored bits at 16x the 8-bit scale, rescaled to an arbitrary linear unit so
                // that the Modality LUT matters; the first window covers tissue, the second all.
                o.bitsAllocated = 16
                o.set("BitsAllocated", 16)
                o.set("BitsStored", 12)
                o.set("HighBit", 11)
                o.set("RescaleIntercept", "-128")
                o.set("RescaleSlope", "0.25")
                o.set("RescaleType", "US")
                o.set("WindowCenter", ["380", "382"])
                o.set("WindowWidth", ["760", "1024"])
                o.set("WindowCenterWidthExplanation", ["TISSUE", "FULL"])
                o.pixels16 = rendered.grey.flatMap { frame in frame.map { UInt16(rint(Double(min(max($0, 0), 255)) * 16)) } }
            } else {
                o.set("BitsAllocated", 8)
                o.set("BitsStored", 8)
                o.set("HighBit", 7)
                let inverted = spec.colour == .mono1
                if inverted {
                    o.set("WindowCenter", "128")
                    o.set("WindowWidth", "256")
                } else {
                    let (center, width) = [("128", "256"), ("110", "200"), ("120", "230")][number % 3]
                    o.set("WindowCenter", center)
                    o.set("WindowWidth", width)
                    o.set("VOILUTFunction", "LINEAR")
                }
                o.pixels8 = rendered.grey.flatMap { frame in
                    frame.map { v -> UInt8 in
                        let g = UInt8(rint(Double(min(max(v, 0), 255))))
                        return inverted ? 255 - g : g   // MONOCHROME1: stored inverted, the display inverts back
                    }
                }
            }
        }
        return o
    }

    /// RGB to YBR_FULL (PS3.3 C.7.6.3.1.2): Y = .299R + .587G + .114B, Cb = −.1687R − .3313G + .5B + 128,
    /// Cr = .5R − .4187G − .0813B + 128, rounded half to even and clipped to 0...255.
    static func ybrFull(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> (UInt8, UInt8, UInt8) {
        let R = Double(r), G = Double(g), B = Double(b)
        func byte(_ x: Double) -> UInt8 { UInt8(min(max(rint(x), 0), 255)) }
        return (byte(0.299 * R + 0.587 * G + 0.114 * B),
                byte(-0.168736 * R - 0.331264 * G + 0.5 * B + 128),
                byte(0.5 * R - 0.418688 * G - 0.081312 * B + 128))
    }

    /// SequenceOfUltrasoundRegions: one tissue region per fan (2D, scaling protection flag,
    /// centimetres, PhysicalDelta = 1 / pixels per cm, reference pixel = the fan apex relative to
    /// the region), and the grey bar as a graphics region when the spec has one.
    static func regions(_ o: inout DicomObject, spec: InstanceSpec, rendered: RenderedInstance) {
        var index = 0
        func item(_ box: PixelBox, spatial: Int, dataType: Int, flags: Int, units: Int, delta: String, reference: (Int, Int)?) {
            let p = "SequenceOfUltrasoundRegions[\(index)]."
            o.set(p + "RegionSpatialFormat", spatial)
            o.set(p + "RegionDataType", dataType)
            o.set(p + "RegionFlags", flags)
            o.set(p + "RegionLocationMinX0", box.minX)
            o.set(p + "RegionLocationMinY0", box.minY)
            o.set(p + "RegionLocationMaxX1", box.maxX)
            o.set(p + "RegionLocationMaxY1", box.maxY)
            if let (x, y) = reference {
                o.set(p + "ReferencePixelX0", x)
                o.set(p + "ReferencePixelY0", y)
                o.set(p + "ReferencePixelPhysicalValueX", "0")
                o.set(p + "ReferencePixelPhysicalValueY", "0")
            }
            o.set(p + "PhysicalUnitsXDirection", units)
            o.set(p + "PhysicalUnitsYDirection", units)
            o.set(p + "PhysicalDeltaX", delta)
            o.set(p + "PhysicalDeltaY", delta)
            index += 1
        }
        for fan in rendered.fans {
            let box = fan.boundingBox(width: rendered.width, height: rendered.height)
            item(box, spatial: 1, dataType: 1, flags: 2, units: 3, delta: g6(1.0 / fan.pixelsPerCm),
                 reference: (rint(fan.apexX) - box.minX, rint(fan.apexY) - box.minY))
        }
        if spec.greyBarRegion {
            item(rendered.greyBar, spatial: 5, dataType: 0x0D, flags: 0, units: 0, delta: "0", reference: nil)
        }
    }

    // MARK: Non-image objects

    static func code(_ o: inout DicomObject, _ path: String, _ value: String, _ scheme: String, _ meaning: String) {
        o.set(path + ".CodeValue", value)
        o.set(path + ".CodingSchemeDesignator", scheme)
        o.set(path + ".CodeMeaning", meaning)
    }

    static func evidence(_ o: inout DicomObject, study: SyntheticStudy, referenced: [(sopClass: String, uid: String)]) {
        let p = "CurrentRequestedProcedureEvidenceSequence[0]."
        o.set(p + "StudyInstanceUID", study.uid)
        o.set(p + "ReferencedSeriesSequence[0].SeriesInstanceUID", study.seriesUID)
        for (i, r) in referenced.enumerated() {
            o.set(p + "ReferencedSeriesSequence[0].ReferencedSOPSequence[\(i)].ReferencedSOPClassUID", r.sopClass)
            o.set(p + "ReferencedSeriesSequence[0].ReferencedSOPSequence[\(i)].ReferencedSOPInstanceUID", r.uid)
        }
    }

    /// A Basic Text SR (one TEXT finding: no clinical content) referencing the study's images.
    static func textSR(study: SyntheticStudy, patient: SyntheticPatient, ids: SyntheticIdentifiers,
                       referenced: [(sopClass: String, uid: String)]) -> DicomObject {
        var o = DicomObject()
        commonHeader(&o, study: study, patient: patient)
        o.set("SOPClassUID", SyntheticSOPClass.basicTextSR)
        o.set("SOPInstanceUID", ids.uid("sr", [study.index]))
        o.set("Modality", "SR")
        o.set("ContentTime", study.time)
        o.set("SeriesInstanceUID", ids.uid("sr-series", [study.index]))
        o.set("SeriesNumber", 99)
        o.set("SeriesDescription", "REPORT")
        o.set("InstanceNumber", 1)
        o.set("ValueType", "CONTAINER")
        code(&o, "ConceptNameCodeSequence[0]", "18748-4", "LN", "Diagnostic Imaging Report")
        o.set("ContinuityOfContent", "SEPARATE")
        o.set("CompletionFlag", "COMPLETE")
        o.set("VerificationFlag", "UNVERIFIED")
        o.set("ReferencedPerformedProcedureStepSequence", "")
        o.set("PerformedProcedureCodeSequence", "")
        evidence(&o, study: study, referenced: referenced)
        o.set("ContentSequence[0].RelationshipType", "CONTAINS")
        o.set("ContentSequence[0].ValueType", "TEXT")
        code(&o, "ContentSequence[0].ConceptNameCodeSequence[0]", "121071", "DCM", "Finding")
        o.set("ContentSequence[0].TextValue", "Synthetic report written by the SonoKit cohort generator. No clinical content.")
        return o
    }

    /// A Key Object Selection ("Of Interest", TID 2010) of the given images.
    static func keyObject(study: SyntheticStudy, patient: SyntheticPatient, ids: SyntheticIdentifiers,
                          referenced: [(sopClass: String, uid: String)]) -> DicomObject {
        var o = DicomObject()
        commonHeader(&o, study: study, patient: patient)
        o.set("SOPClassUID", SyntheticSOPClass.keyObjectSelection)
        o.set("SOPInstanceUID", ids.uid("ko", [study.index]))
        o.set("Modality", "KO")
        o.set("ContentTime", study.time)
        o.set("SeriesInstanceUID", ids.uid("ko-series", [study.index]))
        o.set("SeriesNumber", 98)
        o.set("InstanceNumber", 1)
        o.set("ReferencedPerformedProcedureStepSequence", "")
        o.set("ValueType", "CONTAINER")
        code(&o, "ConceptNameCodeSequence[0]", "113000", "DCM", "Of Interest")
        o.set("ContinuityOfContent", "SEPARATE")
        o.set("ContentTemplateSequence[0].MappingResource", "DCMR")
        o.set("ContentTemplateSequence[0].TemplateIdentifier", "2010")
        evidence(&o, study: study, referenced: referenced)
        for (i, r) in referenced.enumerated() {
            let p = "ContentSequence[\(i)]."
            o.set(p + "RelationshipType", "CONTAINS")
            o.set(p + "ValueType", "IMAGE")
            o.set(p + "ReferencedSOPSequence[0].ReferencedSOPClassUID", r.sopClass)
            o.set(p + "ReferencedSOPSequence[0].ReferencedSOPInstanceUID", r.uid)
        }
        return o
    }
}
