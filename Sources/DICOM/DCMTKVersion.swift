import CDCMTK

/// The DCMTK the reader was built with.
public enum DCMTK {
    /// DCMTK's `OFFIS_DCMTK_VERSION_STRING` as compiled into the CDCMTK shim (e.g. "3.6.7"):
    /// the library actually linked, recorded in model cards and reports.
    public static let version = String(cString: sk_dcmtk_version())
}
