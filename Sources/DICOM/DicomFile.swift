import CDCMTK
import Foundation
import Imaging

/// An opened DICOM file. The header is parsed on `init`; pixel data stays on disk and frames are
/// decoded lazily, one at a time, by `decodeFrame(_:window:)`.
///
/// Not thread-safe: use one `DicomFile` per thread (DCMTK decodes in parallel on distinct files).
public final class DicomFile {
    public let path: String
    public let metadata: DicomMetadata
    public let identifiers: PatientIdentifiers
    /// Media Storage SOP Class (0002,0002), e.g. the DICOMDIR class 1.2.840.10008.1.3.10.
    public let mediaStorageSOPClassUID: String?

    /// When true (the default), JPEG baseline 8-bit colour frames are decoded by libjpeg-turbo,
    /// which gives DCMTK's RGB (same colour handling, IDCT and upsampling; see CDCMTK/FastJPEG.cpp)
    /// several times faster (`sonokit-bench reader`, SampleStudies' YBR_FULL_422 frames: about 100
    /// -> 600 frames/s on one core); false forces DCMTK for every frame (reference comparisons).
    /// Each `DecodedFrame` records which decoder ran, and why DCMTK did when libjpeg-turbo could not.
    public var allowsLibjpegTurbo = true

    private let handle: OpaquePointer

    /// The largest decoded RGB frame SonoKit accepts (256 MiB: about 9400 x 9400 pixels, far
    /// beyond any ultrasound matrix), so that one damaged header cannot exhaust memory.
    public static let maximumDecodedFrameBytes = 256 << 20

    /// Media Storage SOP Class UID of a DICOMDIR (Media Storage Directory Storage).
    public static let dicomdirSOPClassUID = "1.2.840.10008.1.3.10"

    /// True when the file's content looks like DICOM (checked by content, not by extension).
    public static func looksLikeDICOM(path: String) -> Bool {
        sk_looks_like_dicom(path) != 0
    }

    /// Opens `path` and reads its header. Throws `DicomError` when the file is not DICOM, is
    /// truncated, or describes an image that cannot be decoded (zero dimensions, unsupported
    /// transfer syntax, no or too short pixel data). Non-image objects (SR, presentation states)
    /// open fine and report `isImage == false`.
    public init(path: String) throws {
        self.path = path
        var error = SKError()
        guard let handle = sk_open(path, &error) else {
            throw Self.dicomError(error, path: path, frame: 0)
        }
        self.handle = handle
        let reader = ElementReader(handle: handle)
        let identifiers = PatientIdentifiers(
            patientName: reader.string(.patientName),
            patientID: reader.string(.patientID),
            birthDate: reader.string(.patientBirthDate)
        )
        self.identifiers = identifiers
        self.mediaStorageSOPClassUID = reader.string(.mediaStorageSOPClassUID)
        let metadata = Self.readMetadata(reader, handle: handle)
        self.metadata = metadata
        // Every stored property is set, so if this throws, deinit runs and closes the handle.
        try Self.checkImage(metadata, handle: handle, path: path)
    }

    deinit { sk_close(handle) }

    /// True when this file is a DICOMDIR (an index of a medium, not an instance).
    public var isDICOMDIR: Bool { mediaStorageSOPClassUID == Self.dicomdirSOPClassUID }

    /// Decodes frame `index` (0-based) to 8-bit RGB. Colour is converted to RGB exactly once;
    /// grayscale goes stored value -> Modality LUT/rescale -> VOI -> MONOCHROME1 inversion ->
    /// 8 bits -> three channels, with VOI chosen by precedence: `window` if given, else the
    /// file's first window, else its first VOI LUT, else the frame's min/max. The decision is
    /// recorded in the result.
    public func decodeFrame(_ index: Int, window: VOIWindow? = nil) throws -> DecodedFrame {
        guard metadata.isImage else { throw DicomError.noPixelData(path: path) }
        guard index >= 0, index < metadata.numberOfFrames else {
            throw DicomError.frameOutOfRange(path: path, frame: index, frameCount: metadata.numberOfFrames)
        }
        let count = metadata.rows * metadata.columns * 3
        var pixels = [UInt8](repeating: 0, count: count)
        var info = SKFrameInfo()
        var error = SKError()
        let ok = pixels.withUnsafeMutableBufferPointer { out in
            sk_decode_frame_rgb8(handle, UInt(index), window == nil ? 0 : 1, window?.center ?? 0, window?.width ?? 0,
                                 allowsLibjpegTurbo ? 1 : 0, out.baseAddress, count, &info, &error)
        }
        guard ok != 0 else { throw Self.dicomError(error, path: path, frame: index) }
        let before = metadata.photometricInterpretation ?? "MONOCHROME2"
        let decoded = withUnsafeBytes(of: &info.decoded_photometric) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        let fallback = withUnsafeBytes(of: &info.fallback_reason) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        let voi: VOIDecision
        switch info.voi_source {
        case SK_VOI_EXPLICIT: voi = VOIDecision(source: .explicit, center: info.window_center, width: info.window_width)
        case SK_VOI_FILE_WINDOW: voi = VOIDecision(source: .fileWindow, center: info.window_center, width: info.window_width)
        case SK_VOI_LUT: voi = VOIDecision(source: .voiLUT, center: nil, width: nil)
        case SK_VOI_MIN_MAX: voi = VOIDecision(source: .minMax, center: info.window_center, width: info.window_width)
        default: voi = VOIDecision(source: .notApplicable, center: nil, width: nil)
        }
        return DecodedFrame(
            index: index,
            image: RGBImage(width: metadata.columns, height: metadata.rows, pixels: pixels),
            photometricBefore: before,
            photometricAfter: info.is_color != 0 ? "RGB" : "MONOCHROME2",
            colorConversion: Self.colorConversion(stored: before, decodedByCodec: decoded, isColor: info.is_color != 0),
            voi: voi,
            decoder: info.decoder == SK_DECODER_LIBJPEG_TURBO ? .libjpegTurbo : .dcmtk,
            decoderFallback: fallback.isEmpty ? nil : fallback
        )
    }

    // MARK: - Reading the header

    private static func readMetadata(_ r: ElementReader, handle: OpaquePointer) -> DicomMetadata {
        let tsUID = String(cString: sk_transfer_syntax_uid(handle))
        let hasPixelData = sk_pixel_data_length(handle) != -1
        let rows = r.int(.rows) ?? 0
        let columns = r.int(.columns) ?? 0
        let isImage = hasPixelData && rows > 0 && columns > 0
        let regionCount = max(0, sk_sequence_item_count(handle, 0x0018, 0x6011))
        let regions = (0..<regionCount).map { r.region(item: UInt($0)) }
        return DicomMetadata(
            sopClassUID: r.string(.sopClassUID) ?? r.string(.mediaStorageSOPClassUID) ?? "",
            sopInstanceUID: r.string(.sopInstanceUID) ?? "",
            studyInstanceUID: r.string(.studyInstanceUID) ?? "",
            seriesInstanceUID: r.string(.seriesInstanceUID) ?? "",
            instanceNumber: r.int(.instanceNumber),
            modality: r.string(.modality),
            manufacturer: r.string(.manufacturer),
            modelName: r.string(.manufacturerModelName),
            accessionNumber: r.string(.accessionNumber),
            studyDate: r.string(.studyDate),
            studyDescription: r.string(.studyDescription),
            seriesDescription: r.string(.seriesDescription),
            transferSyntaxUID: tsUID,
            transferSyntaxName: String(cString: sk_transfer_syntax_name(tsUID)),
            photometricInterpretation: r.string(.photometricInterpretation),
            rows: rows,
            columns: columns,
            numberOfFrames: r.int(.numberOfFrames) ?? (isImage ? 1 : 0),
            samplesPerPixel: r.int(.samplesPerPixel) ?? 1,
            bitsAllocated: r.int(.bitsAllocated) ?? 0,
            bitsStored: r.int(.bitsStored) ?? 0,
            highBit: r.int(.highBit) ?? 0,
            pixelRepresentation: r.int(.pixelRepresentation) ?? 0,
            planarConfiguration: r.int(.planarConfiguration),
            rescaleSlope: r.double(.rescaleSlope),
            rescaleIntercept: r.double(.rescaleIntercept),
            windowCenters: r.doubles(.windowCenter),
            windowWidths: r.doubles(.windowWidth),
            hasVOILUT: sk_sequence_item_count(handle, 0x0028, 0x3010) > 0,
            frameTimeMs: r.double(.frameTime),
            regions: regions,
            burnedInAnnotation: r.string(.burnedInAnnotation),
            hasPixelData: hasPixelData
        )
    }

    /// Refuses images that cannot be decoded, before any frame is asked for.
    private static func checkImage(_ m: DicomMetadata, handle: OpaquePointer, path: String) throws {
        guard m.hasPixelData else {
            // An image SOP class or image attributes without pixels is a damaged image; documents
            // (SR, KO, PR) legitimately have none.
            if m.rows > 0 || m.columns > 0 || DicomMetadata.ultrasoundSOPClasses.contains(m.sopClassUID) {
                throw DicomError.noPixelData(path: path)
            }
            return
        }
        if m.rows == 0 { throw DicomError.zeroDimension(path: path, tag: .rows) }
        if m.columns == 0 { throw DicomError.zeroDimension(path: path, tag: .columns) }
        if m.numberOfFrames == 0 { throw DicomError.zeroDimension(path: path, tag: .numberOfFrames) }
        if m.numberOfFrames < 0 {
            throw DicomError.implausibleDimensions(path: path, detail: "\(DicomTag.numberOfFrames) is \(m.numberOfFrames) (negative, or beyond 2^31 - 1)")
        }
        // Checked before anything is allocated: a compressed file's header alone decides the size
        // of every decoded frame, and 65535 x 65535 would ask for 12 GiB.
        let (pixels, overflowPixels) = m.rows.multipliedReportingOverflow(by: m.columns)
        let (frameBytes, overflowBytes) = pixels.multipliedReportingOverflow(by: 3)
        if m.rows < 0 || m.columns < 0 || overflowPixels || overflowBytes || frameBytes > Self.maximumDecodedFrameBytes {
            throw DicomError.implausibleDimensions(path: path, detail: "a \(m.rows) x \(m.columns) frame would need \(frameBytes >> 20) MiB decoded, "
                + "over the \(Self.maximumDecodedFrameBytes >> 20) MiB SonoKit allows per frame")
        }
        guard sk_transfer_syntax_is_decodable(m.transferSyntaxUID) != 0 else {
            throw DicomError.unsupportedTransferSyntax(path: path, uid: m.transferSyntaxUID, name: m.transferSyntaxName)
        }
        let stored = sk_pixel_data_length(handle)
        if stored >= 0 {
            let expected = m.expectedNativePixelBytes
            // Pixel data is padded to an even length, so one byte more is fine; less is damage.
            if Int(stored) < expected {
                throw DicomError.pixelDataTooShort(path: path, expected: expected, actual: Int(stored))
            }
        } else if stored == -2 {
            // Compressed: every frame is in one or more fragments of its own (PS3.5 A.4), so fewer
            // fragments than frames means frames were lost. Refused whole, as native pixel data
            // that is too short is: found by fuzzing, a header claiming 8,244 frames over 4
            // fragments was indexed as sound and failed frame by frame later.
            let fragments = sk_pixel_fragment_count(handle)
            if fragments >= 0 && fragments < m.numberOfFrames {
                throw DicomError.truncated(path: path, detail: "\(DicomTag.numberOfFrames) is \(m.numberOfFrames) but the compressed "
                    + "Pixel Data \(DicomTag.pixelData) holds \(fragments) fragment(s), and every frame needs at least one")
            }
        }
    }

    private static func colorConversion(stored: String, decodedByCodec: String, isColor: Bool) -> ColorConversion {
        guard isColor else { return .none }
        if stored == "PALETTE COLOR" { return .palette }
        if stored.hasPrefix("YBR") {
            return decodedByCodec == "RGB" ? .codec : .ybrToRGB
        }
        return .none
    }

    private static func dicomError(_ e: SKError, path: String, frame: Int) -> DicomError {
        let message = withUnsafeBytes(of: e.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        switch e.code {
        case SK_ERR_NOT_DICOM: return .notDICOM(path: path)
        case SK_ERR_TRUNCATED: return .truncated(path: path, detail: message)
        case SK_ERR_NO_PIXEL_DATA: return .noPixelData(path: path)
        case SK_ERR_DECODE: return .decodeFailed(path: path, frame: frame, detail: message)
        default: return .unreadable(path: path, detail: message)
        }
    }
}

/// Typed access to the elements of an opened file through the C surface.
struct ElementReader {
    let handle: OpaquePointer

    func string(_ tag: DicomTag) -> String? {
        var buffer = [CChar](repeating: 0, count: 512)
        let length = sk_get_string(handle, tag.group, tag.element, &buffer, buffer.count)
        guard length >= 0 else { return nil }
        if length >= buffer.count {
            buffer = [CChar](repeating: 0, count: length + 1)
            _ = sk_get_string(handle, tag.group, tag.element, &buffer, buffer.count)
        }
        let value = String(cString: buffer).trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\0")))
        return value.isEmpty ? nil : value
    }

    func double(_ tag: DicomTag, position: UInt = 0) -> Double? {
        var value = 0.0
        return sk_get_number(handle, tag.group, tag.element, position, &value) != 0 ? value : nil
    }

    func int(_ tag: DicomTag) -> Int? {
        double(tag).flatMap(Self.integer)
    }

    /// A numeric value as an integer, truncated toward zero as `Int(_:)` does, but never a trap:
    /// DICOM's integer VRs hold at most 32 bits, so a value beyond +-2^32 (only a damaged file has
    /// one, e.g. an FD of 7.8e73 where a UL belongs: found by fuzzing, it stopped the process) is
    /// clamped to +-2^32, which every plausibility check then refuses, and NaN reads as absent.
    static func integer(_ value: Double) -> Int? {
        guard !value.isNaN else { return nil }
        let limit = 4_294_967_296.0
        return Int(min(max(value, -limit), limit))
    }

    func doubles(_ tag: DicomTag) -> [Double] {
        let vm = sk_get_vm(handle, tag.group, tag.element)
        return (0..<vm).compactMap { double(tag, position: $0) }
    }

    func itemNumber(_ item: UInt, _ tag: DicomTag) -> Double? {
        var value = 0.0
        let seq = DicomTag.sequenceOfUltrasoundRegions
        return sk_item_get_number(handle, seq.group, seq.element, item, tag.group, tag.element, 0, &value) != 0 ? value : nil
    }

    func region(item: UInt) -> UltrasoundRegion {
        func i(_ t: DicomTag) -> Int? { itemNumber(item, t).flatMap(Self.integer) }
        return UltrasoundRegion(
            spatialFormat: i(.regionSpatialFormat) ?? 0,
            dataType: i(.regionDataType) ?? 0,
            flags: i(.regionFlags) ?? 0,
            minX0: i(.regionLocationMinX0) ?? 0,
            minY0: i(.regionLocationMinY0) ?? 0,
            maxX1: i(.regionLocationMaxX1) ?? 0,
            maxY1: i(.regionLocationMaxY1) ?? 0,
            physicalUnitsX: i(.physicalUnitsXDirection),
            physicalUnitsY: i(.physicalUnitsYDirection),
            physicalDeltaX: itemNumber(item, .physicalDeltaX),
            physicalDeltaY: itemNumber(item, .physicalDeltaY)
        )
    }
}
