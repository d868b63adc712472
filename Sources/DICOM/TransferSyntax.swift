import CDCMTK

/// Names of DICOM UIDs as DCMTK knows them.
public enum DicomUIDNames {
    /// DCMTK's name for a transfer syntax UID.
    public static func transferSyntaxName(_ uid: String) -> String {
        String(cString: sk_transfer_syntax_name(uid))
    }

    /// DCMTK's name for a well-known UID (SOP class, transfer syntax), nil when unknown.
    public static func name(of uid: String) -> String? {
        sk_uid_name(uid).map { String(cString: $0) }
    }

    /// True when DCMTK in this build decodes pixel data in this transfer syntax.
    public static func isDecodable(transferSyntax uid: String) -> Bool {
        sk_transfer_syntax_is_decodable(uid) != 0
    }
}
