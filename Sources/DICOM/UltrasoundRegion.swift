import Imaging

/// One item of Sequence of Ultrasound Regions (0018,6011), PS3.3 C.8.5.5: where on the picture
/// an image region (B-mode tissue, Doppler, colour bar, ...) lies and its physical calibration.
public struct UltrasoundRegion: Codable, Hashable, Sendable {
    /// Region Spatial Format (0018,6012): 0 none, 1 2D (tissue or flow), 2 M-mode, 3 spectral, 4 waveform, ...
    public let spatialFormat: Int
    /// Region Data Type (0018,6014): 1 tissue, 2 colour flow, 3 PW spectral Doppler, 4 CW, ...
    public let dataType: Int
    /// Region Flags (0018,6016), a bit field (bit 0: region has priority / is transparent ...).
    public let flags: Int
    /// Region Location Min X0 / Min Y0 / Max X1 / Max Y1 (0018,6018..601E): inclusive pixel bounds.
    public let minX0: Int
    public let minY0: Int
    public let maxX1: Int
    public let maxY1: Int
    /// Physical Units X/Y Direction (0018,6024/6026): 3 = cm, 4 = seconds, ...
    public let physicalUnitsX: Int?
    public let physicalUnitsY: Int?
    /// Physical Delta X/Y (0018,602C/602E): physical size of one pixel in those units.
    public let physicalDeltaX: Double?
    public let physicalDeltaY: Double?

    public init(spatialFormat: Int, dataType: Int, flags: Int, minX0: Int, minY0: Int, maxX1: Int, maxY1: Int,
                physicalUnitsX: Int?, physicalUnitsY: Int?, physicalDeltaX: Double?, physicalDeltaY: Double?) {
        self.spatialFormat = spatialFormat
        self.dataType = dataType
        self.flags = flags
        self.minX0 = minX0
        self.minY0 = minY0
        self.maxX1 = maxX1
        self.maxY1 = maxY1
        self.physicalUnitsX = physicalUnitsX
        self.physicalUnitsY = physicalUnitsY
        self.physicalDeltaX = physicalDeltaX
        self.physicalDeltaY = physicalDeltaY
    }

    /// The region's pixels as a rectangle (DICOM bounds are inclusive, so width = MaxX1 - MinX0 + 1).
    public var bounds: PixelRect {
        PixelRect(x: minX0, y: minY0, width: maxX1 - minX0 + 1, height: maxY1 - minY0 + 1)
    }

    /// Region Data Type 0x0001: tissue (B-mode), the region a classifier should see.
    public var isTissue: Bool { dataType == 0x0001 }

    /// A readable name for the data type (PS3.3 C.8.5.5.1.2).
    public var dataTypeName: String {
        switch dataType {
        case 0x0000: return "none"
        case 0x0001: return "tissue"
        case 0x0002: return "color_flow"
        case 0x0003: return "pw_spectral_doppler"
        case 0x0004: return "cw_spectral_doppler"
        case 0x0005: return "doppler_mean_trace"
        case 0x0006: return "doppler_mode_trace"
        case 0x0007: return "doppler_max_trace"
        case 0x0008: return "volume_trace"
        case 0x000A: return "ecg_trace"
        case 0x000B: return "pulse_trace"
        case 0x000C: return "phonocardiogram_trace"
        case 0x000D: return "gray_bar"
        case 0x000E: return "color_bar"
        case 0x000F: return "integrated_backscatter"
        case 0x0010: return "area_trace"
        case 0x0011: return "d_area_dt"
        case 0x0012: return "other_physiological"
        default: return "other"
        }
    }

    /// Readable name of a Physical Units code (PS3.3 C.8.5.5.1.15).
    public static func unitName(_ code: Int?) -> String? {
        guard let code else { return nil }
        switch code {
        case 0x0000: return "none"
        case 0x0001: return "percent"
        case 0x0002: return "dB"
        case 0x0003: return "cm"
        case 0x0004: return "seconds"
        case 0x0005: return "hertz"
        case 0x0006: return "dB/seconds"
        case 0x0007: return "cm/sec"
        case 0x0008: return "cm2"
        case 0x0009: return "cm2/sec"
        case 0x000A: return "cm3"
        case 0x000B: return "cm3/sec"
        case 0x000C: return "degrees"
        default: return "other"
        }
    }
}
