import Imaging

/// One frame as the reader delivers it to preprocessing: 8-bit RGB, colour converted once,
/// grayscale windowed and inverted if MONOCHROME1, no crop, no resize.
public struct DecodedFrame: Sendable {
    /// 0-based frame number within the instance.
    public let index: Int
    public let image: RGBImage
    /// Photometric Interpretation (0028,0004) as stored in the file.
    public let photometricBefore: String
    /// What the pixels are after decoding: "RGB" for colour, "MONOCHROME2" for grayscale
    /// (MONOCHROME1 has been inverted), before replication to three channels.
    public let photometricAfter: String
    /// Which step converted the colour to RGB (exactly one of them did, or none was needed).
    public let colorConversion: ColorConversion
    public let voi: VOIDecision
    /// Which decoder produced the pixels (libjpeg-turbo for JPEG baseline colour frames it
    /// decodes exactly like DCMTK, DCMTK for everything else).
    public let decoder: FrameDecoder
    /// For a JPEG baseline frame that DCMTK decoded although libjpeg-turbo was allowed: why
    /// (e.g. grayscale, a JPEG colour space that disagrees with the PI, a TurboJPEG error).
    /// nil when libjpeg-turbo decoded the frame or does not apply to the transfer syntax.
    public let decoderFallback: String?

    /// What was done to this frame's colour and grey levels, as every artefact records it.
    public var record: DecodeRecord {
        DecodeRecord(photometricBefore: photometricBefore, photometricAfter: photometricAfter, colorConversion: colorConversion, voi: voi)
    }
}

/// What the reader did to one frame (a `DecodedFrame`'s colour and VOI decisions, without its
/// pixels): recorded with every preprocessed frame, cached with it, and reported.
public struct DecodeRecord: Codable, Equatable, Sendable {
    /// Photometric Interpretation as stored, and of the decoded pixels ("RGB" or "MONOCHROME2").
    public let photometricBefore: String
    public let photometricAfter: String
    /// The single step that converted colour to RGB (or none).
    public let colorConversion: ColorConversion
    /// The VOI window applied to grayscale (`not_applicable` for colour).
    public let voi: VOIDecision

    public init(photometricBefore: String, photometricAfter: String, colorConversion: ColorConversion, voi: VOIDecision) {
        self.photometricBefore = photometricBefore
        self.photometricAfter = photometricAfter
        self.colorConversion = colorConversion
        self.voi = voi
    }
}

/// The decoder behind a frame's pixels.
public enum FrameDecoder: String, Codable, Sendable {
    /// libjpeg-turbo's TurboJPEG API (JPEG baseline, 8-bit colour).
    case libjpegTurbo = "libjpeg-turbo"
    /// DCMTK's image layer over its codecs (IJG libjpeg, CharLS, RLE) or native pixel data.
    case dcmtk
}

/// The single place where a frame's colour became RGB.
public enum ColorConversion: String, Codable, Sendable {
    /// Stored as RGB or grayscale: nothing to convert.
    case none
    /// The JPEG decoder converted YBR to RGB while decompressing (DCMTK EDC_photometricInterpretation).
    case codec
    /// DCMTK's image layer converted YBR_FULL / YBR_FULL_422 / YBR_PARTIAL_420 ... to RGB.
    case ybrToRGB = "ybr_to_rgb"
    /// Palette colour looked up through the file's red/green/blue LUTs.
    case palette
}
