import Foundation

/// Settings of ``ManifestValidator``.
public struct ValidationOptions: Sendable {
    /// A class with fewer distinct studies than this draws a warning: too few to train or to
    /// estimate anything with a useful confidence interval.
    public var minimumStudiesPerClass: Int = 10
    /// Ignore the manifest's `split` column (what `manifest split` does: it makes new splits).
    public var ignoreSplitColumn: Bool = false
    /// Called as images are hashed for the duplicate-pixel checks (images done, images in all), from
    /// worker threads but never two calls at once. Hashing decodes every frame not yet hashed in
    /// the catalog, the one slow step of validation.
    public var pixelProgress: (@Sendable (_ done: Int, _ total: Int) -> Void)?

    public init(minimumStudiesPerClass: Int = 10, ignoreSplitColumn: Bool = false,
                pixelProgress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) {
        self.minimumStudiesPerClass = minimumStudiesPerClass
        self.ignoreSplitColumn = ignoreSplitColumn
        self.pixelProgress = pixelProgress
    }
}

/// The outcome of validation: the report, and the images resolved from the rows (meaningful for
/// work only when `report.isValid`).
public struct ValidationResult: Sendable {
    public var report: ValidationReport
    public var resolved: ResolvedManifest
}

/// Checks a manifest against the catalog and reports every problem, each with its line and column.
/// `validate`, `split`, `train`, `evaluate` and `predict` all call ``validate(_:resolver:pixelHasher:splits:options:)``
/// before doing any work, so a manifest is judged the same way everywhere.
///
/// Errors (any one fails validation): bad header, unknown or missing label, missing patient_id,
/// a row naming no image, a reference that resolves to nothing or only to non-image objects, the
/// references of a row disagreeing, one image with two labels / two patients / two splits,
/// duplicate rows, a patient in two splits, a row without split when splits are used, the same
/// decoded pixels under two patients or in two splits, an undecodable image, a declared class
/// without studies, a split without a positive or without a negative study (binary), a split with
/// studies of fewer than two classes (multi-class).
///
/// Warnings: unknown columns, an image that is not ultrasound named directly, the manifest's
/// patient_id differing from the DICOM PatientID, one image named by two rows with the same
/// label, the same pixels twice for one patient, an unconventional split name, a class with
/// fewer than `minimumStudiesPerClass` studies; multi-class: a class missing from a split or with
/// very few studies in it.
///
/// Units: a *study* is the manifest's `study_id` when given, else the Study Instance UID; a
/// *patient* is the manifest's `patient_id` (the split group).
public enum ManifestValidator {

    /// - Parameters:
    ///   - pixelHasher: when nil, the duplicate-pixel checks are skipped (the report says nothing
    ///     about them); commands pass a hasher unless told not to.
    ///   - splits: a splits file's assignment; when given, it decides every row's split (the
    ///     manifest's `split` column is ignored).
    public static func validate(_ manifest: Manifest, resolver: ImageResolving, pixelHasher: PixelHashing?,
                                splits: SplitAssignment? = nil, options: ValidationOptions = ValidationOptions()) -> ValidationResult {
        var issues = manifest.parseIssues
        let columns = manifest.columns
        let classes = manifest.classes
        let usesSplits = splits != nil || (columns.contains(.split) && !options.ignoreSplitColumn)
        var warnedSplitNames = Set<String>()

        // MARK: Rows, one at a time
        // A failed batch lookup is not fatal: the single lookups below report it row by row.
        try? resolver.prefetch(manifest.rows.flatMap(\.references))
        var accepted: [AcceptedRow] = []
        for row in manifest.rows {
            var usable = true
            if let label = row.label {
                if !classes.classes.contains(label) {
                    issues.append(.error(.unknownLabel, line: row.line, column: .label,
                                         "label '\(label)' is not a declared class (\(classes.classes.joined(separator: ", "))); fix the label or the class declaration"))
                    usable = false
                }
            } else if columns.contains(.label) {
                issues.append(.error(.missingLabel, line: row.line, column: .label, "the label is empty"))
                usable = false
            } else { usable = false }

            if row.patientID == nil {
                if columns.contains(.patientID) {
                    issues.append(.error(.missingPatientID, line: row.line, column: .patientID,
                                         "patient_id is empty; every row needs one so that a patient's images never end up in two splits"))
                }
                usable = false
            }

            var split: String?
            if let splits {
                if let patient = row.patientID {
                    split = splits.split(of: patient)
                    if split == nil {
                        issues.append(.error(.missingSplit, line: row.line, column: .patientID,
                                             "this row's patient is not in the splits file; make the splits again from this manifest"))
                    }
                }
            } else if usesSplits {
                split = row.split
                if split == nil {
                    issues.append(.error(.missingSplit, line: row.line, column: .split,
                                         "the split is empty while other rows have one; give every row a split or none"))
                }
            }
            if let split, !SplitAssignment.isConventionalName(split), warnedSplitNames.insert(split).inserted {
                issues.append(.warning(.unknownSplitName, line: row.line, column: splits == nil ? .split : nil,
                                       "split '\(split)' is not one of train, validation, test, fold0, fold1, ...; check for a typo"))
            }

            guard let reference = row.reference else {
                if ManifestColumn.referenceColumns.contains(where: columns.contains) {
                    issues.append(ValidationIssue(.error, .missingReference, line: row.line,
                                                  column: ManifestColumn.referenceColumns.filter(columns.contains).map(\.rawValue).joined(separator: "/"),
                                                  "the row names no image; fill one of \(ManifestColumn.referenceColumns.filter(columns.contains).map(\.rawValue).joined(separator: ", "))"))
                }
                continue
            }
            let found: [ManifestInstance]
            do { found = try resolver.resolve(reference) } catch {
                issues.append(.error(.resolutionFailed, line: row.line, column: reference.column, "looking up the \(reference.column.rawValue) failed: \(error)"))
                continue
            }
            guard !found.isEmpty else {
                issues.append(.error(.unresolvedReference, line: row.line, column: reference.column, unresolvedMessage(reference)))
                continue
            }
            let images: [ManifestInstance]
            if reference.namesSingleObject {
                images = found.filter(\.isImage)
                if images.isEmpty {
                    issues.append(.error(.notAnImage, line: row.line, column: reference.column,
                                         "the \(reference.column.rawValue) names a DICOM object without a decodable image (SR, presentation state, key object...); remove the row"))
                } else if !images.allSatisfy(\.isUltrasound) {
                    issues.append(.warning(.notUltrasound, line: row.line, column: reference.column,
                                           "the image is not ultrasound (Modality/SOP class); it is used as named"))
                }
            } else {
                images = found.filter { $0.isImage && $0.isUltrasound }
                if images.isEmpty {
                    let imageCount = found.filter(\.isImage).count
                    if imageCount > 0 {
                        issues.append(.error(.noUltrasoundImage, line: row.line, column: reference.column,
                                             "the \(reference.column.rawValue) holds \(imageCount) image object(s) but none is ultrasound; name the images by sop_uid or path to use them"))
                    } else {
                        issues.append(.error(.notAnImage, line: row.line, column: reference.column,
                                             "the \(reference.column.rawValue) holds \(found.count) DICOM object(s), none of them an image"))
                    }
                }
            }
            for other in row.references.dropFirst() where !images.isEmpty {
                let otherSOPs: Set<String>
                do { otherSOPs = Set(try resolver.resolve(other).map(\.sopInstanceUID)) } catch {
                    issues.append(.error(.resolutionFailed, line: row.line, column: other.column, "looking up the \(other.column.rawValue) failed: \(error)"))
                    usable = false
                    continue
                }
                if !images.allSatisfy({ otherSOPs.contains($0.sopInstanceUID) }) {
                    issues.append(.error(.referenceMismatch, line: row.line, column: other.column,
                                         "the \(other.column.rawValue) does not contain the image(s) named by the \(reference.column.rawValue) of the same row; fix one of them or leave \(other.column.rawValue) empty"))
                    usable = false
                }
            }
            guard !images.isEmpty else { continue }
            // A patient_id may be the DICOM PatientID or the catalog's pseudonymous key of that
            // patient (as in the copies a model run keeps, see PseudonymizedCopy.swift).
            if let patient = row.patientID {
                func differs(_ image: ManifestInstance) -> Bool {
                    image.patientKey != patient && (image.patientID.map { $0.trimmingWhitespace() != patient } ?? false)
                }
                let count = images.filter(differs).count
                if count > 0 {
                    issues.append(.warning(.patientIDMismatch, line: row.line, column: .patientID,
                                           "patient_id differs from the DICOM PatientID of \(count) of the row's \(images.count) image(s); check that the row names the right images (a pseudonymised export may explain it)"))
                }
            }
            if usable, let label = row.label, let patient = row.patientID {
                accepted.append(AcceptedRow(row: row, label: label, patient: patient, split: split, images: images))
            }
        }

        // MARK: Rows against each other
        var firstRowOfReference: [ImageReference: Int] = [:]          // -> index in accepted
        var ownerOfImage: [String: Int] = [:]                         // SOP UID -> index in accepted
        var firstSplitOfPatient: [String: (split: String, line: Int)] = [:]
        for (index, current) in accepted.enumerated() {
            var duplicateOf: Int?
            if let reference = current.row.reference {
                if let first = firstRowOfReference[reference] {
                    let earlier = accepted[first]
                    if earlier.label == current.label && earlier.patient == current.patient && earlier.split == current.split {
                        issues.append(.error(.duplicateRow, line: current.row.line, column: reference.column,
                                             "duplicates line \(earlier.row.line) (same \(reference.column.rawValue), label, patient and split); delete one of the two rows"))
                        duplicateOf = earlier.row.line
                    }
                } else { firstRowOfReference[reference] = index }
            }
            var labelConflicts = Set<Int>(), patientConflicts = Set<Int>(), splitConflicts = Set<Int>(), overlaps = Set<Int>()
            for image in current.images {
                guard let owner = ownerOfImage[image.sopInstanceUID] else {
                    ownerOfImage[image.sopInstanceUID] = index
                    accepted[index].ownedImages.append(image)
                    continue
                }
                let earlier = accepted[owner]
                if earlier.label != current.label { labelConflicts.insert(earlier.row.line) }
                if earlier.patient != current.patient { patientConflicts.insert(earlier.row.line) }
                if earlier.split != current.split { splitConflicts.insert(earlier.row.line) }
                if earlier.label == current.label && earlier.patient == current.patient && earlier.split == current.split,
                   earlier.row.line != duplicateOf { overlaps.insert(earlier.row.line) }
            }
            let column = current.row.reference?.column
            if !labelConflicts.isEmpty {
                issues.append(.error(.conflictingLabels, line: current.row.line, column: .label,
                                     "names image(s) that \(lines(labelConflicts)) label(s) differently; an image has one label"))
            }
            if !patientConflicts.isEmpty {
                issues.append(.error(.conflictingPatients, line: current.row.line, column: .patientID,
                                     "names image(s) that \(lines(patientConflicts)) give(s) to another patient"))
            }
            if !splitConflicts.isEmpty {
                issues.append(.error(.conflictingSplits, line: current.row.line, column: .split,
                                     "names image(s) that \(lines(splitConflicts)) put(s) in another split"))
            }
            if !overlaps.isEmpty {
                issues.append(.warning(.overlappingRows, line: current.row.line, column: column,
                                       "names image(s) already named by \(lines(overlaps)); each image is used once"))
            }
            if let split = current.split {
                if let first = firstSplitOfPatient[current.patient] {
                    if first.split != split {
                        issues.append(.error(.patientInTwoSplits, line: current.row.line, column: .split,
                                             "this row's patient is in split '\(split)' here but in split '\(first.split)' on line \(first.line); all of a patient's images must be in one split"))
                    }
                } else { firstSplitOfPatient[current.patient] = (split, current.row.line) }
            }
        }

        // MARK: Same pixels
        if let pixelHasher {
            issues += duplicatePixelIssues(accepted, hasher: pixelHasher, progress: options.pixelProgress)
        }

        // MARK: Classes and splits
        var images: [ResolvedImage] = []
        for row in accepted {
            for instance in row.ownedImages {
                images.append(ResolvedImage(line: row.row.line, instance: instance, label: row.label,
                                            classIndex: classes.classIndex(of: row.label)!,
                                            isPositive: classes.isPositive(row.label), patientID: row.patient,
                                            studyID: row.row.studyID ?? instance.studyInstanceUID, split: row.split,
                                            weight: row.row.weight ?? 1, site: row.row.site))
            }
        }
        var studiesOfClass: [String: Set<String>] = [:]
        for image in images { studiesOfClass[image.label, default: []].insert(image.studyID) }
        for name in classes.classes {
            let count = studiesOfClass[name]?.count ?? 0
            if count == 0 {
                issues.append(.error(.emptyClass, line: nil, column: .label,
                                     "class '\(name)' has no usable row; a classifier needs examples of every declared class"))
            } else if count < options.minimumStudiesPerClass {
                issues.append(.warning(.smallClass, line: nil, column: .label,
                                       "class '\(name)' has \(count) studies (fewer than \(options.minimumStudiesPerClass)); results will be very uncertain"))
            }
        }
        if usesSplits {
            var order: [String] = []
            for image in images { if let split = image.split, !order.contains(split) { order.append(split) } }
            for name in splits?.splitNames ?? [] where !order.contains(name) { order.append(name) }
            switch classes.task {
            case .binary:
                issues += binarySplitIssues(images, splits: order, classes: classes)
            case .multiclass:
                issues += multiclassSplitIssues(images, splits: order, classes: classes, minimumStudies: options.minimumStudiesPerClass)
            }
        }

        var summary = ValidationReport.Summary(
            rows: manifest.rows.count, images: images.count, frames: images.reduce(0) { $0 + $1.instance.numberOfFrames },
            patients: Set(images.map(\.patientID)).count, studies: Set(images.map(\.studyID)).count,
            studiesPerClass: classes.classes.map { label in
                let members = images.filter { $0.label == label }
                return ValidationReport.ClassCount(label: label, studies: studiesOfClass[label]?.count ?? 0, images: members.count,
                                                   patients: Set(members.map(\.patientID)).count)
            },
            positiveClass: classes.positive, task: classes.task, ordinal: classes.task == .multiclass ? classes.ordinal : nil)
        if usesSplits {
            let resolved = ResolvedManifest(classes: classes, images: images)
            let names = (splits?.splitNames ?? []) + resolved.splitNames.filter { !(splits?.splitNames ?? []).contains($0) }
            summary.splits = names.map { SplitSummary.Row(resolved: resolved, name: $0, images: resolved.images(inSplit: $0)) }
        }
        let ordered = issues.enumerated().sorted { a, b in
            let la = a.element.line ?? Int.max, lb = b.element.line ?? Int.max
            return la != lb ? la < lb : a.offset < b.offset
        }.map(\.element)
        return ValidationResult(report: ValidationReport(manifest: manifest.file, issues: ordered, summary: summary),
                                resolved: ResolvedManifest(classes: classes, images: images))
    }

    // MARK: - Helpers

    /// Binary: every split needs a study of the positive class and one of a negative class (errors).
    static func binarySplitIssues(_ images: [ResolvedImage], splits order: [String], classes: ClassDeclaration) -> [ValidationIssue] {
        var positives: [String: Set<String>] = [:], negatives: [String: Set<String>] = [:]
        for image in images {
            guard let split = image.split else { continue }
            if image.isPositive { positives[split, default: []].insert(image.studyID) }
            else { negatives[split, default: []].insert(image.studyID) }
        }
        var issues: [ValidationIssue] = []
        for split in order {
            if (positives[split]?.count ?? 0) == 0 {
                issues.append(.error(.splitWithoutPositive, line: nil, column: .split,
                                     "split '\(split)' has no study of the positive class '\(classes.positive ?? "")'; sensitivity cannot be measured on it (make the splits again, stratified by label)"))
            }
            if (negatives[split]?.count ?? 0) == 0 {
                issues.append(.error(.splitWithoutNegative, line: nil, column: .split,
                                     "split '\(split)' has no study of a negative class; specificity cannot be measured on it (make the splits again, stratified by label)"))
            }
        }
        return issues
    }

    /// Multi-class: a split with studies of fewer than two classes is an error (nothing can be
    /// told apart on it); a class missing from a split, or with fewer studies in it than
    /// `max(2, minimumStudies / number of splits)`, is a warning naming the class and the split
    /// (its one-vs-rest AUC and sensitivity cannot be measured there, or only very roughly).
    static func multiclassSplitIssues(_ images: [ResolvedImage], splits order: [String], classes: ClassDeclaration,
                                      minimumStudies: Int) -> [ValidationIssue] {
        var studies: [String: [Set<String>]] = [:]
        for image in images {
            guard let split = image.split else { continue }
            studies[split, default: Array(repeating: [], count: classes.classes.count)][image.classIndex].insert(image.studyID)
        }
        let few = max(2, minimumStudies / max(order.count, 1))
        var issues: [ValidationIssue] = []
        for split in order {
            let counts = (studies[split] ?? Array(repeating: [], count: classes.classes.count)).map(\.count)
            let present = counts.filter { $0 > 0 }.count
            if present < 2 {
                issues.append(.error(.splitWithOneClass, line: nil, column: .split,
                                     "split '\(split)' has studies of \(present) of the \(classes.classes.count) classes; a classifier cannot be trained or measured on it (make the splits again, stratified by label)"))
                continue
            }
            for (k, name) in classes.classes.enumerated() {
                if counts[k] == 0 {
                    issues.append(.warning(.classMissingFromSplit, line: nil, column: .split,
                                           "split '\(split)' has no study of class '\(name)'; its one-vs-rest AUC and sensitivity cannot be measured there, and a training split without it cannot learn it (make the splits again, stratified by label, or label more '\(name)' patients)"))
                } else if counts[k] < few {
                    issues.append(.warning(.smallClassInSplit, line: nil, column: .split,
                                           "split '\(split)' has \(counts[k]) stud\(counts[k] == 1 ? "y" : "ies") of class '\(name)' (fewer than \(few)); its per-class results there will be very uncertain"))
                }
            }
        }
        return issues
    }

    struct AcceptedRow {
        let row: ManifestRow
        let label: String
        let patient: String
        let split: String?
        let images: [ManifestInstance]
        /// The images this row is the first to name (the ones it contributes).
        var ownedImages: [ManifestInstance] = []
    }

    static func lines(_ set: Set<Int>) -> String {
        let sorted = set.sorted()
        return (sorted.count == 1 ? "line " : "lines ") + sorted.map(String.init).joined(separator: ", ")
    }

    static func unresolvedMessage(_ reference: ImageReference) -> String {
        switch reference {
        case .path:
            return "no DICOM file at this path is in the catalog; check the path (relative to the manifest's folder) and run 'sonokit ingest' on its folder"
        case .sopUID: return "no instance with this SOP Instance UID is in the catalog; run 'sonokit ingest' on the export that holds it"
        case .seriesUID: return "no series with this Series Instance UID is in the catalog; run 'sonokit ingest' on the export that holds it"
        case .studyUID: return "no study with this Study Instance UID is in the catalog; run 'sonokit ingest' on the export that holds it"
        case .accession: return "no study with this accession number is in the catalog; check the number or name the study by study_uid"
        }
    }

    /// Hashes every image once (in parallel) and reports pictures shared across patients or splits.
    /// Each pair of rows is reported once per kind, at the later row.
    static func duplicatePixelIssues(_ accepted: [AcceptedRow], hasher: PixelHashing,
                                     progress: (@Sendable (Int, Int) -> Void)? = nil) -> [ValidationIssue] {
        var work: [(row: Int, instance: ManifestInstance)] = []
        for (index, row) in accepted.enumerated() { for instance in row.ownedImages { work.append((index, instance)) } }
        let results = ResultSlots<Result<[String], Error>>(count: work.count)
        let counter = ProgressCounter(total: work.count, report: progress)
        DispatchQueue.concurrentPerform(iterations: work.count) { index in
            results[index] = Result { try hasher.frameHashes(of: work[index].instance) }
            counter.step()
        }
        var issues: [ValidationIssue] = []
        var firstOwner: [String: (row: Int, sop: String)] = [:]
        var reported = Set<[Int]>()
        for (index, item) in work.enumerated() {
            let row = accepted[item.row]
            let column = row.row.reference?.column
            switch results[index]! {
            case .failure(let error):
                issues.append(.error(.undecodableImage, line: row.row.line, column: column,
                                     "an image of this row cannot be decoded: \(error)"))
            case .success(let hashes):
                for hash in hashes {
                    guard let first = firstOwner[hash] else { firstOwner[hash] = (item.row, item.instance.sopInstanceUID); continue }
                    if first.sop == item.instance.sopInstanceUID { continue }   // a repeated frame inside one cine
                    let earlier = accepted[first.row]
                    let code: ValidationIssue.Code
                    let message: String
                    if earlier.patient != row.patient {
                        code = .samePixelsTwoPatients
                        message = "an image of this row has exactly the same decoded pixels as an image of line \(earlier.row.line), which belongs to another patient; the same picture under two patients leaks between splits (remove the copy or correct the patient_id)"
                    } else if earlier.split != row.split {
                        code = .samePixelsTwoSplits
                        message = "an image of this row has exactly the same decoded pixels as an image of line \(earlier.row.line) in split '\(earlier.split ?? "")'; the same picture in two splits leaks test data into training"
                    } else {
                        code = .samePixelsTwice
                        message = "an image of this row has exactly the same decoded pixels as an image of line \(earlier.row.line) (same patient); the picture counts twice"
                    }
                    let key = [earlier.row.line, row.row.line, code.hashValue]
                    guard reported.insert(key).inserted else { continue }
                    issues.append(code == .samePixelsTwice ? .warning(code, line: row.row.line, column: column, message)
                                  : .error(code, line: row.row.line, column: column, message))
                }
            }
        }
        return issues
    }
}

/// Fixed-size result storage written from `concurrentPerform`: each index is written by exactly one
/// iteration, and read only after all have finished.
final class ResultSlots<Value>: @unchecked Sendable {
    private var storage: [Value?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    subscript(index: Int) -> Value? {
        get { lock.lock(); defer { lock.unlock() }; return storage[index] }
        set { lock.lock(); storage[index] = newValue; lock.unlock() }
    }
}

/// Counts finished work items across threads and reports each count under a lock, so the
/// callback never runs twice at once.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private let total: Int
    private let report: (@Sendable (Int, Int) -> Void)?
    init(total: Int, report: (@Sendable (Int, Int) -> Void)?) {
        self.total = total
        self.report = report
    }
    func step() {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        report?(done, total)
    }
}
