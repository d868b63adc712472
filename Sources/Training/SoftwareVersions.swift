import CDNNL
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

    /// DCMTK's version from its installed configuration header (PACKAGE_VERSION), "unknown" when
    /// the header is not installed on this machine.
    public static var dcmtk: String {
        for path in ["/usr/include/dcmtk/config/osconfig.h", "/usr/local/include/dcmtk/config/osconfig.h"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("#define PACKAGE_VERSION ") {
                return line.split(separator: " ").last.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "unknown"
            }
        }
        return "unknown"
    }

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
