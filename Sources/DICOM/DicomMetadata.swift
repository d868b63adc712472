/// What the reader knows about one DICOM instance from its header, without decoding pixels.
/// Patient identifiers are deliberately not here: see `PatientIdentifiers`.
public struct DicomMetadata: Codable, Hashable, Sendable {
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var instanceNumber: Int?
    public var modality: String?
    public var manufacturer: String?
    public var modelName: String?
    public var accessionNumber: String?
    public var studyDate: String?
    public var studyDescription: String?
    public var seriesDescription: String?
    public var transferSyntaxUID: String
    public var transferSyntaxName: String
    /// Photometric Interpretation (0028,0004) as stored (nil for non-image objects).
    public var photometricInterpretation: String?
    public var rows: Int
    public var columns: Int
    /// Number of Frames (0028,0008); 1 when absent for an image, 0 for non-image objects.
    public var numberOfFrames: Int
    public var samplesPerPixel: Int
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var highBit: Int
    public var pixelRepresentation: Int
    public var planarConfiguration: Int?
    public var rescaleSlope: Double?
    public var rescaleIntercept: Double?
    public var windowCenters: [Double]
    public var windowWidths: [Double]
    public var hasVOILUT: Bool
    /// Frame Time (0018,1063) in milliseconds.
    public var frameTimeMs: Double?
    public var regions: [UltrasoundRegion]
    /// Burned In Annotation (0028,0301): "YES"/"NO" or nil when absent.
    public var burnedInAnnotation: String?
    public var hasPixelData: Bool

    /// SOP Class UIDs of Ultrasound Image Storage and Ultrasound Multi-frame Image Storage
    /// (and their retired versions).
    public static let ultrasoundSOPClasses: Set<String> = [
        "1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1",
        "1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.3",
    ]

    /// A decodable image: has pixel data and image dimensions (SR, presentation states, key
    /// object selections and other documents are not).
    public var isImage: Bool { hasPixelData && rows > 0 && columns > 0 }

    /// An ultrasound image: US modality or an ultrasound SOP class, with pixels.
    public var isUltrasound: Bool {
        isImage && (modality == "US" || Self.ultrasoundSOPClasses.contains(sopClassUID))
    }

    /// True for grayscale photometric interpretations (VOI applies), false for colour.
    public var isMonochrome: Bool {
        photometricInterpretation == "MONOCHROME1" || photometricInterpretation == "MONOCHROME2"
    }

    /// Samples stored per pixel in native (uncompressed) pixel data: `samplesPerPixel`, except for
    /// the horizontally subsampled YBR_FULL_422 and YBR_PARTIAL_422, which store two luminance
    /// samples and one Cb/Cr pair for every two pixels (Y1 Y2 Cb Cr, PS3.3 C.7.6.3.1.2 and
    /// PS3.5 8.2.1): 4 samples per 2 pixels, so 2 per pixel although Samples per Pixel is 3.
    public var storedSamplesPerPixel: Int {
        switch photometricInterpretation {
        case "YBR_FULL_422", "YBR_PARTIAL_422": return samplesPerPixel == 3 ? 2 : samplesPerPixel
        default: return samplesPerPixel
        }
    }

    /// Bytes the native (uncompressed) pixel data must hold for all frames:
    /// ceil(rows x columns x storedSamplesPerPixel x frames x bitsAllocated / 8). Saturates at
    /// `Int.max` instead of trapping when header values are absurd (65535 x 65535 x 2^31 frames):
    /// no file can be that long, so the length check then refuses it.
    public var expectedNativePixelBytes: Int {
        var bits = 1
        for factor in [rows, columns, storedSamplesPerPixel, numberOfFrames, bitsAllocated] {
            let (product, overflow) = bits.multipliedReportingOverflow(by: max(0, factor))
            if overflow { return Int.max }
            bits = product
        }
        return bits / 8 + (bits % 8 == 0 ? 0 : 1)
    }
}

/// The identifying attributes of the patient. Kept apart from `DicomMetadata` so that nothing
/// that prints or stores metadata can leak them by accident; only the catalog (which keeps them
/// inside) and `--include-identifiers` read them.
public struct PatientIdentifiers: Codable, Hashable, Sendable {
    public var patientName: String?
    public var patientID: String?
    public var birthDate: String?

    public init(patientName: String?, patientID: String?, birthDate: String?) {
        self.patientName = patientName
        self.patientID = patientID
        self.birthDate = birthDate
    }
}
