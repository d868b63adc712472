/// What `sonokit inspect` shows: everything the reader sees in one file, as a value that encodes
/// to the JSON documented by Schemas/inspect.schema.json (keys in snake_case).
///
/// Patient identifiers are present only when the user asked for them (`--include-identifiers`).
public struct InspectReport: Codable, Sendable {
    public struct TransferSyntax: Codable, Sendable {
        public let uid: String
        public let name: String
        public let decodable: Bool
    }

    public struct Photometric: Codable, Sendable {
        /// As stored in the file.
        public let stored: String?
        /// After decoding, what the network gets before replication/normalisation ("RGB" or
        /// "MONOCHROME2"); nil for non-image objects.
        public let decoded: String?
        /// The step that converted colour to RGB (none, codec, ybr_to_rgb, palette); nil when not decoded.
        public let colorConversion: ColorConversion?
    }

    public struct Region: Codable, Sendable {
        public let index: Int
        public let spatialFormat: Int
        public let dataType: Int
        public let dataTypeName: String
        public let flags: Int
        public let minX0: Int
        public let minY0: Int
        public let maxX1: Int
        public let maxY1: Int
        public let physicalUnitsX: String?
        public let physicalUnitsY: String?
        public let physicalDeltaX: Double?
        public let physicalDeltaY: Double?
    }

    public struct Rescale: Codable, Sendable {
        public let slope: Double?
        public let intercept: Double?
    }

    public struct VOIInfo: Codable, Sendable {
        public let windowCenters: [Double]
        public let windowWidths: [Double]
        public let hasVoiLut: Bool
        /// The VOI the reader applies to frame 0 (or the frame asked for); nil for colour/non-image.
        public let applied: VOIDecision?
    }

    public let file: String
    public let sopClassUid: String
    public let sopClassName: String?
    public let sopInstanceUid: String
    public let studyInstanceUid: String
    public let seriesInstanceUid: String
    public let modality: String?
    public let transferSyntax: TransferSyntax
    /// Convenience duplicate of `transfer_syntax.uid` (the key users grep for).
    public let transferSyntaxUid: String
    public let photometricInterpretation: Photometric
    /// Which decoder produced the decoded frame (libjpeg-turbo or dcmtk); nil when not decoded.
    public let decoder: FrameDecoder?
    /// Why a JPEG baseline frame went to DCMTK instead of libjpeg-turbo; nil otherwise.
    public let decoderFallback: String?
    public let isImage: Bool
    public let isUltrasound: Bool
    public let rows: Int
    public let columns: Int
    public let frames: Int
    public let samplesPerPixel: Int
    public let bitsAllocated: Int
    public let bitsStored: Int
    public let highBit: Int
    public let planarConfiguration: Int?
    public let pixelRepresentation: Int
    public let rescale: Rescale
    public let voi: VOIInfo
    public let frameTimeMs: Double?
    public let regions: [Region]
    public let burnedInAnnotation: String?
    public let manufacturer: String?
    public let modelName: String?
    public let identifiers: PatientIdentifiers?

    /// Describes `file`; `decodedFrame` (if the caller decoded one) supplies what decoding did.
    public init(file: DicomFile, decodedFrame: DecodedFrame?, includeIdentifiers: Bool) {
        let m = file.metadata
        self.file = file.path
        sopClassUid = m.sopClassUID
        sopClassName = DicomUIDNames.name(of: m.sopClassUID)
        sopInstanceUid = m.sopInstanceUID
        studyInstanceUid = m.studyInstanceUID
        seriesInstanceUid = m.seriesInstanceUID
        modality = m.modality
        transferSyntax = TransferSyntax(uid: m.transferSyntaxUID, name: m.transferSyntaxName,
                                        decodable: DicomUIDNames.isDecodable(transferSyntax: m.transferSyntaxUID))
        transferSyntaxUid = m.transferSyntaxUID
        photometricInterpretation = Photometric(stored: m.photometricInterpretation,
                                                decoded: decodedFrame?.photometricAfter,
                                                colorConversion: decodedFrame?.colorConversion)
        decoder = decodedFrame?.decoder
        decoderFallback = decodedFrame?.decoderFallback
        isImage = m.isImage
        isUltrasound = m.isUltrasound
        rows = m.rows
        columns = m.columns
        frames = m.numberOfFrames
        samplesPerPixel = m.samplesPerPixel
        bitsAllocated = m.bitsAllocated
        bitsStored = m.bitsStored
        highBit = m.highBit
        planarConfiguration = m.planarConfiguration
        pixelRepresentation = m.pixelRepresentation
        rescale = Rescale(slope: m.rescaleSlope, intercept: m.rescaleIntercept)
        let applied = decodedFrame.flatMap { $0.voi.source == .notApplicable ? nil : $0.voi }
        voi = VOIInfo(windowCenters: m.windowCenters, windowWidths: m.windowWidths, hasVoiLut: m.hasVOILUT, applied: applied)
        frameTimeMs = m.frameTimeMs
        regions = m.regions.enumerated().map { i, r in
            Region(index: i, spatialFormat: r.spatialFormat, dataType: r.dataType, dataTypeName: r.dataTypeName,
                   flags: r.flags, minX0: r.minX0, minY0: r.minY0, maxX1: r.maxX1, maxY1: r.maxY1,
                   physicalUnitsX: UltrasoundRegion.unitName(r.physicalUnitsX),
                   physicalUnitsY: UltrasoundRegion.unitName(r.physicalUnitsY),
                   physicalDeltaX: r.physicalDeltaX, physicalDeltaY: r.physicalDeltaY)
        }
        burnedInAnnotation = m.burnedInAnnotation
        manufacturer = m.manufacturer
        modelName = m.modelName
        identifiers = includeIdentifiers ? file.identifiers : nil
    }
}
