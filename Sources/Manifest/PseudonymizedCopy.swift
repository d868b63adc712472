import Foundation

/// Copies of a manifest and a splits file that can be kept with a model run without carrying
/// patient identifiers: every `patient_id` is replaced by a pseudonymous key (the catalog's
/// keyed hash), relative `path` cells become absolute (the copy lives elsewhere), and the classes
/// are declared in the copy's first line (the whole declaration: task, positive class or order). Validating the copy against the same catalog gives the
/// same images, labels, patients (as keys) and splits as the original.
extension Manifest {
    public func pseudonymizedCSV(patientKey: (String) -> String) throws -> Data {
        let columns = ManifestColumn.allCases.filter { self.columns.contains($0) }
        let rows: [[String]] = rows.map { row in
            columns.map { column in
                guard var value = row.values[column] else { return "" }
                if column == .patientID { value = patientKey(value) }
                if column == .path, !value.hasPrefix("/") {
                    value = URL(fileURLWithPath: directory).appendingPathComponent(value).standardizedFileURL.path
                }
                return value
            }
        }
        return try CSVText.make(comments: [classes.commentText,
                                           "copy of \(URL(fileURLWithPath: file).lastPathComponent) with patient_id as pseudonymous patient keys"],
                                header: columns.map(\.rawValue), rows: rows)
    }
}

extension SplitAssignment {
    /// The same splits with every patient id replaced by `patientKey(id)`; unchanged when they
    /// already hold keys.
    public func pseudonymized(patientKey: (String) -> String) -> SplitAssignment {
        guard !holdsPatientKeys else { return self }
        return SplitAssignment(splitNames: splitNames,
                               splitOfPatient: Dictionary(uniqueKeysWithValues: splitOfPatient.map { (patientKey($0.key), $0.value) }),
                               holdsPatientKeys: true)
    }
}
