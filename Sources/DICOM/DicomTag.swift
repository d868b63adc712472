/// A DICOM attribute tag (group, element), printed the way DICOM people read it: `(0028,0010)`.
public struct DicomTag: Hashable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    public var description: String {
        "(" + hex(group) + "," + hex(element) + ")"
    }

    private func hex(_ v: UInt16) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}

/// The attributes the reader uses, by their DICOM keywords.
public extension DicomTag {
    static let mediaStorageSOPClassUID = DicomTag(0x0002, 0x0002)
    static let transferSyntaxUID = DicomTag(0x0002, 0x0010)
    static let sopClassUID = DicomTag(0x0008, 0x0016)
    static let sopInstanceUID = DicomTag(0x0008, 0x0018)
    static let studyDate = DicomTag(0x0008, 0x0020)
    static let accessionNumber = DicomTag(0x0008, 0x0050)
    static let modality = DicomTag(0x0008, 0x0060)
    static let manufacturer = DicomTag(0x0008, 0x0070)
    static let studyDescription = DicomTag(0x0008, 0x1030)
    static let seriesDescription = DicomTag(0x0008, 0x103E)
    static let manufacturerModelName = DicomTag(0x0008, 0x1090)
    static let patientName = DicomTag(0x0010, 0x0010)
    static let patientID = DicomTag(0x0010, 0x0020)
    static let patientBirthDate = DicomTag(0x0010, 0x0030)
    static let frameTime = DicomTag(0x0018, 0x1063)
    static let sequenceOfUltrasoundRegions = DicomTag(0x0018, 0x6011)
    static let regionSpatialFormat = DicomTag(0x0018, 0x6012)
    static let regionDataType = DicomTag(0x0018, 0x6014)
    static let regionFlags = DicomTag(0x0018, 0x6016)
    static let regionLocationMinX0 = DicomTag(0x0018, 0x6018)
    static let regionLocationMinY0 = DicomTag(0x0018, 0x601A)
    static let regionLocationMaxX1 = DicomTag(0x0018, 0x601C)
    static let regionLocationMaxY1 = DicomTag(0x0018, 0x601E)
    static let physicalUnitsXDirection = DicomTag(0x0018, 0x6024)
    static let physicalUnitsYDirection = DicomTag(0x0018, 0x6026)
    static let physicalDeltaX = DicomTag(0x0018, 0x602C)
    static let physicalDeltaY = DicomTag(0x0018, 0x602E)
    static let studyInstanceUID = DicomTag(0x0020, 0x000D)
    static let seriesInstanceUID = DicomTag(0x0020, 0x000E)
    static let instanceNumber = DicomTag(0x0020, 0x0013)
    static let samplesPerPixel = DicomTag(0x0028, 0x0002)
    static let photometricInterpretation = DicomTag(0x0028, 0x0004)
    static let planarConfiguration = DicomTag(0x0028, 0x0006)
    static let numberOfFrames = DicomTag(0x0028, 0x0008)
    static let rows = DicomTag(0x0028, 0x0010)
    static let columns = DicomTag(0x0028, 0x0011)
    static let bitsAllocated = DicomTag(0x0028, 0x0100)
    static let bitsStored = DicomTag(0x0028, 0x0101)
    static let highBit = DicomTag(0x0028, 0x0102)
    static let pixelRepresentation = DicomTag(0x0028, 0x0103)
    static let burnedInAnnotation = DicomTag(0x0028, 0x0301)
    static let windowCenter = DicomTag(0x0028, 0x1050)
    static let windowWidth = DicomTag(0x0028, 0x1051)
    static let rescaleIntercept = DicomTag(0x0028, 0x1052)
    static let rescaleSlope = DicomTag(0x0028, 0x1053)
    static let voiLUTSequence = DicomTag(0x0028, 0x3010)
    static let pixelData = DicomTag(0x7FE0, 0x0010)
}
