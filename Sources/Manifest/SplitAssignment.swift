/// Which split each patient belongs to: the content of a splits file (`patient_id,split`).
public struct SplitAssignment: Codable, Hashable, Sendable {
    /// Split names in their natural order (`train, validation, test` or `fold0 ... foldK-1`).
    public var splitNames: [String]
    /// patient_id -> split name.
    public var splitOfPatient: [String: String]
    /// True when the keys of `splitOfPatient` are the catalog's pseudonymous patient keys
    /// ("P-" + 16 hex digits, `Pseudonymizer.patientKey`) rather than the manifest's patient ids:
    /// what `manifest split` writes, so that no splits file holds a patient ID.
    public var holdsPatientKeys: Bool

    public init(splitNames: [String], splitOfPatient: [String: String], holdsPatientKeys: Bool = false) {
        self.splitNames = splitNames
        self.splitOfPatient = splitOfPatient
        self.holdsPatientKeys = holdsPatientKeys
    }

    /// The split of a patient named as in `splitOfPatient` (a key when `holdsPatientKeys`).
    public func split(of patientID: String) -> String? { splitOfPatient[patientID] }

    /// The split of a manifest row's `patient_id`, which is a raw id in the user's manifest and a
    /// key in a run's pseudonymised copy: with keys, `patientKey(id)` is looked up first, then
    /// `id` itself (already a key). Keys are keyed hashes, so a raw id never equals another
    /// patient's key by chance.
    public func split(ofManifestPatient patientID: String, patientKey: (String) -> String) -> String? {
        guard holdsPatientKeys else { return splitOfPatient[patientID] }
        return splitOfPatient[patientKey(patientID)] ?? splitOfPatient[patientID]
    }

    /// The same splits keyed by the manifest's own patient ids (`patientIDs`), for validating that
    /// manifest: unchanged without keys; with keys, each id found by `split(ofManifestPatient:)`.
    /// Only in memory: never written.
    public func byManifestPatients(_ patientIDs: Set<String>, patientKey: (String) -> String) -> SplitAssignment {
        guard holdsPatientKeys else { return self }
        var byID: [String: String] = [:]
        for id in patientIDs { if let split = split(ofManifestPatient: id, patientKey: patientKey) { byID[id] = split } }
        return SplitAssignment(splitNames: splitNames, splitOfPatient: byID)
    }

    /// Names SonoKit itself writes; other names are allowed but draw a warning (a typo such as
    /// `tset` would otherwise silently become a split of its own).
    public static func isConventionalName(_ name: String) -> Bool {
        if ["train", "validation", "test"].contains(name) { return true }
        guard name.hasPrefix("fold") else { return false }
        let number = name.dropFirst(4)
        return !number.isEmpty && number.allSatisfy(\.isASCII) && Int(number) != nil
    }
}
