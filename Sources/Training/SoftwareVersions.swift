import CDNNL
import DICOM
import Foundation

/// The versions recorded in model cards (what produced a model matters when a result has to be
/// reproduced or explained).
public enum SoftwareVersions {
    /// SonoKit's own version (the CLI's `--version`).
    public static let sonokit = "0.1.0"

    /// oneDNN as loaded at run time (dnnl_version()).
    public static var oneDNN: String {
        guard let v = dnnl_version()?.pointee else { return "unknown" }
        return "\(v.major).\(v.minor).\(v.patch)"
    }

    /// DCMTK's version as compiled into the reader (`OFFIS_DCMTK_VERSION_STRING`, from the CDCMTK shim).
    public static var dcmtk: String { DCMTK.version }

    /// The Swift compiler version the package was built with (the language mode is Swift 5).
    public static var swift: String {
        #if compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.0)
        return "6.0"
        #else
        return "5"
        #endif
    }

    public static var all: [String: String] {
        ["sonokit": sonokit, "dcmtk": dcmtk, "onednn": oneDNN, "swift": swift]
    }
}
