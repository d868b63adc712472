/// Which split each patient belongs to: the content of a splits file (`patient_id,split`).
public struct SplitAssignment: Codable, Hashable, Sendable {
    /// Split names in their natural order (`train, validation, test` or `fold0 ... foldK-1`).
    public var splitNames: [String]
    /// patient_id -> split name.
    public var splitOfPatient: [String: String]

    public init(splitNames: [String], splitOfPatient: [String: String]) {
        self.splitNames = splitNames
        self.splitOfPatient = splitOfPatient
    }

    public func split(of patientID: String) -> String? { splitOfPatient[patientID] }

    /// Names SonoKit itself writes; other names are allowed but draw a warning (a typo such as
    /// `tset` would otherwise silently become a split of its own).
    public static func isConventionalName(_ name: String) -> Bool {
        if ["train", "validation", "test"].contains(name) { return true }
        guard name.hasPrefix("fold") else { return false }
        let number = name.dropFirst(4)
        return !number.isEmpty && number.allSatisfy(\.isASCII) && Int(number) != nil
    }
}
