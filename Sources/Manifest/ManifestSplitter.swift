import Foundation
import SonoKitCore

/// Splits a validated manifest by patient with ``StratifiedGroupSplitter`` and counts what landed
/// where.
public enum ManifestSplitter {

    /// Group = the manifest's `patient_id`; stratified by label over *all* declared classes (not
    /// positive against the rest, also for a binary task) with *studies* as the unit (a patient
    /// with two malignant studies weighs two).
    public static func split(_ resolved: ResolvedManifest, plan: SplitPlan, seed: UInt64) throws -> SplitAssignment {
        let classIndex = Dictionary(uniqueKeysWithValues: resolved.classes.classes.enumerated().map { ($1, $0) })
        var studiesOfPatient: [String: Set<[String]>] = [:]
        for image in resolved.images {
            studiesOfPatient[image.patientID, default: []].insert([image.studyID, image.label])
        }
        let groups = studiesOfPatient.map { patient, studies -> StratifiedGroupSplitter.Group in
            var counts = Array(repeating: 0, count: classIndex.count)
            for study in studies { if let c = classIndex[study[1]] { counts[c] += 1 } }
            return StratifiedGroupSplitter.Group(key: patient, classCounts: counts)
        }
        let placement = try StratifiedGroupSplitter.assign(groups, plan: plan, seed: seed)
        let names = plan.names
        return SplitAssignment(splitNames: names, splitOfPatient: placement.mapValues { names[$0] })
    }

    /// Per-split counts of patients, studies, frames and studies per class.
    public static func summary(_ resolved: ResolvedManifest, assignment: SplitAssignment) -> SplitSummary {
        var rows: [SplitSummary.Row] = []
        for name in assignment.splitNames {
            let images = resolved.images.filter { assignment.split(of: $0.patientID) == name }
            rows.append(SplitSummary.Row(resolved: resolved, name: name, images: images))
        }
        return SplitSummary(classes: resolved.classes.classes, splits: rows,
                            total: SplitSummary.Row(resolved: resolved, name: "total", images: resolved.images), task: resolved.classes.task)
    }
}

/// Counts per split (no identifiers), printed by `sonokit manifest split`.
public struct SplitSummary: Codable, Equatable, Sendable {
    public var classes: [String]
    /// The task of the class declaration (nil when not known, e.g. a summary rebuilt from a report).
    public var task: ClassificationTask?
    public var splits: [Row]
    public var total: Row

    public struct Row: Codable, Equatable, Sendable {
        public var name: String
        public var patients: Int
        public var studies: Int
        public var frames: Int
        /// Distinct studies per class, in declared class order.
        public var studiesPerClass: [Int]
        /// Images (DICOM instances) and distinct patients per class, in declared class order.
        public var imagesPerClass: [Int]
        public var patientsPerClass: [Int]

        enum CodingKeys: String, CodingKey {
            case name, patients, studies, frames
            case studiesPerClass = "studies_per_class"
            case imagesPerClass = "images_per_class"
            case patientsPerClass = "patients_per_class"
        }

        public init(name: String, patients: Int, studies: Int, frames: Int, studiesPerClass: [Int],
                    imagesPerClass: [Int], patientsPerClass: [Int]) {
            self.name = name
            self.patients = patients
            self.studies = studies
            self.frames = frames
            self.studiesPerClass = studiesPerClass
            self.imagesPerClass = imagesPerClass
            self.patientsPerClass = patientsPerClass
        }

        init(resolved: ResolvedManifest, name: String, images: [ResolvedImage]) {
            self.name = name
            patients = Set(images.map(\.patientID)).count
            studies = Set(images.map(\.studyID)).count
            frames = images.reduce(0) { $0 + $1.instance.numberOfFrames }
            let members = resolved.classes.classes.map { label in images.filter { $0.label == label } }
            studiesPerClass = members.map { Set($0.map(\.studyID)).count }
            imagesPerClass = members.map(\.count)
            patientsPerClass = members.map { Set($0.map(\.patientID)).count }
        }
    }

    public init(classes: [String], splits: [Row], total: Row, task: ClassificationTask? = nil) {
        self.classes = classes
        self.splits = splits
        self.total = total
        self.task = task
    }

    /// A plain-text table, one line per split, then the total.
    public var table: String {
        let header = ["split", "patients", "studies", "frames"] + classes.map { "\($0) (studies)" }
        let body = (splits + [total]).map { row in
            [row.name, String(row.patients), String(row.studies), String(row.frames)] + row.studiesPerClass.map(String.init)
        }
        let widths = header.indices.map { column in ([header] + body).map { $0[column].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == 0 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + body.map(line)).joined(separator: "\n")
    }

    /// Per class and split: images, studies and patients (one line per class and split, then the
    /// class's total), for a look at how each class is spread over the splits.
    public var classTable: String {
        let header = ["class", "split", "images", "studies", "patients"]
        var body: [[String]] = []
        for (k, name) in classes.enumerated() {
            for row in splits + [total] {
                body.append([name, row.name, String(row.imagesPerClass[k]), String(row.studiesPerClass[k]), String(row.patientsPerClass[k])])
            }
        }
        let widths = header.indices.map { column in ([header] + body).map { $0[column].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index < 2 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + body.map(line)).joined(separator: "\n")
    }
}
