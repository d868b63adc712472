import Foundation
import SonoKitCore

/// Writes a planned cohort as a DICOM export laid out like SampleStudies:
///
///     DIR/DICOMDIR                                   the SITEA file set (DCMTK's DicomDirInterface)
///     DIR/SITEA/P<6 hex>/S<k>/IM<nnnnnn>             SITEA: ISO 9660 style names, no extension
///     DIR/site-b/anon-<6 hex>/study-<k>/IMG<nnnn>.dcm site B: a folder tree with .dcm names
///     DIR/.../SR0001.dcm, .../KO000001               one Basic Text SR (site B), one Key Object Selection (SITEA)
///     DIR/labels.csv                                 study_uid,label,patient_id,site
///     DIR/cohort.json                                generator version, parameters, counts: written last
///
/// Images are rendered and encoded in parallel (`threads` workers taking the next instance);
/// each instance draws from its own stream, so the bytes do not depend on the number of threads
/// or the order of work. Every file is written atomically; cohort.json is written last, so a
/// folder without it is an interrupted (incomplete) cohort.
public struct CohortWriter {
    /// What was written and how fast. Its encoding (in cohort.json) leaves out `seconds`, so that
    /// two cohorts made with the same parameters are byte-identical, cohort.json included.
    public struct Summary: Codable, Equatable, Sendable {
        public var patients = 0
        public var studies = 0
        public var instances = 0
        public var frames = 0
        public var nonImageObjects = 0
        public var bytes = 0
        public var seconds = 0.0
        public var studiesByClass: [String: Int] = [:]
        public var instancesByEncoding: [String: Int] = [:]
        public var instancesPerSecond: Double { seconds > 0 ? Double(instances) / seconds : 0 }
        public var framesPerSecond: Double { seconds > 0 ? Double(frames) / seconds : 0 }

        enum CodingKeys: String, CodingKey {
            case patients, studies, instances, frames, nonImageObjects, bytes, studiesByClass, instancesByEncoding
        }
    }

    /// cohort.json.
    public struct Record: Codable, Equatable, Sendable {
        public var generator: String
        public var seed: UInt64
        public var patients: Int
        public var classes: [String]
        public var positive: String
        /// Class name → lesion look ("none" for the class without lesion).
        public var lesions: [String: String]
        public var counts: Summary

        /// True when this record was made by this generator version with these parameters.
        public func matches(_ parameters: CohortParameters) -> Bool {
            generator == synthesisGeneratorVersion && seed == parameters.seed && patients == parameters.patients
                && classes == parameters.classes && positive == parameters.positive
        }
    }

    public static let recordName = "cohort.json"
    /// Written first: marks a folder as a cohort in the making (so a rerun may replace it).
    public static let markerName = ".sonokit-synth"

    public let plan: CohortPlan
    public let root: URL
    public var threads: Int

    public init(plan: CohortPlan, root: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.plan = plan
        self.root = root
        self.threads = max(1, threads)
    }

    /// The record of the cohort at `root`, or nil when there is none (or it is unreadable).
    public static func record(at root: URL) -> Record? {
        guard let data = try? Data(contentsOf: root.appendingPathComponent(recordName)) else { return nil }
        return try? SonoKitJSON.decoder().decode(Record.self, from: data)
    }

    /// The file of image `number` (1-based) of `study`, relative to the root.
    public func relativePath(study: SyntheticStudy, number: Int) -> String {
        let patient = plan.patients[study.patient]
        if patient.site == .siteA { return "SITEA/\(patient.folder)/S\(study.ordinal)/" + String(format: "IM%06d", number) }
        return "site-b/\(patient.folder)/study-\(study.ordinal)/" + String(format: "IMG%04d.dcm", number)
    }

    /// Makes the output folder ready: created when missing; an earlier cohort (complete or
    /// interrupted) is removed; any other non-empty folder is refused.
    func prepareRoot() throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: root.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw SynthesisError.output("\(root.path) is a file; give a folder for the cohort") }
            let entries = try fm.contentsOfDirectory(atPath: root.path)
            if !entries.isEmpty {
                let earlier = entries.contains(Self.markerName) || entries.contains(Self.recordName)
                guard earlier else {
                    throw SynthesisError.output("\(root.path) is not empty and holds no earlier cohort (no \(Self.recordName)); "
                        + "give a new or empty folder, or remove this one")
                }
                for name in ["SITEA", "site-b", "DICOMDIR", "labels.csv", Self.recordName] where entries.contains(name) {
                    try fm.removeItem(at: root.appendingPathComponent(name))
                }
            }
        }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        try AtomicFile.write(Data("sonokit synth cohort folder\n".utf8), to: root.appendingPathComponent(Self.markerName))
    }

    /// Writes the cohort. `progress(done, total)` is called after each image (from any thread,
    /// serialised).
    public func write(progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        let start = Date()
        try prepareRoot()
        let ids = SyntheticIdentifiers(seed: plan.parameters.seed)
        struct Job { let study: Int; let position: Int }
        let jobs = plan.studies.flatMap { st in st.instances.indices.map { Job(study: st.index, position: $0) } }
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var next = 0, done = 0, frames = 0, bytes = 0
            var failure: Error?
        }
        let shared = Shared()
        let workers = min(threads, max(1, jobs.count))
        let plan = self.plan, writer = self
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                shared.lock.lock()
                let index = shared.next
                shared.next += 1
                let stop = shared.failure != nil
                shared.lock.unlock()
                if stop || index >= jobs.count { return }
                let job = jobs[index]
                do {
                    let (frames, bytes) = try writer.writeImage(study: plan.studies[job.study], position: job.position, ids: ids)
                    shared.lock.lock()
                    shared.done += 1
                    shared.frames += frames
                    shared.bytes += bytes
                    let done = shared.done
                    progress(done, jobs.count)
                    shared.lock.unlock()
                } catch {
                    shared.lock.lock()
                    if shared.failure == nil { shared.failure = error }
                    shared.lock.unlock()
                    return
                }
            }
        }
        if let failure = shared.failure { throw failure }
        var summary = Summary()
        summary.patients = plan.patients.count
        summary.studies = plan.studies.count
        summary.instances = jobs.count
        summary.frames = shared.frames
        summary.bytes = shared.bytes
        for st in plan.studies {
            summary.studiesByClass[st.label, default: 0] += 1
            for spec in st.instances { summary.instancesByEncoding[spec.encoding.rawValue, default: 0] += 1 }
        }
        summary.bytes += try writeDocuments(ids: ids)
        summary.nonImageObjects = 2
        try writeDicomDir(ids: ids)
        summary.bytes += try fileSize("DICOMDIR")
        try writeLabels()
        summary.seconds = Date().timeIntervalSince(start)
        let record = Record(generator: synthesisGeneratorVersion, seed: plan.parameters.seed, patients: plan.parameters.patients,
                            classes: plan.parameters.classes, positive: plan.parameters.positive,
                            lesions: plan.lesionKinds.mapValues { $0?.rawValue ?? "none" }, counts: summary)
        try AtomicFile.write(try SonoKitJSON.encoder().encode(record), to: root.appendingPathComponent(Self.recordName))
        return summary
    }

    func fileSize(_ relative: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(relative).path)
        return (attributes[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Renders, encodes and writes one image; returns its frames and bytes on disk.
    func writeImage(study: SyntheticStudy, position: Int, ids: SyntheticIdentifiers) throws -> (Int, Int) {
        let spec = study.instances[position]
        let patient = plan.patients[study.patient]
        guard let probe = Probe.catalog[study.probe] else { throw SynthesisError.output("unknown probe \(study.probe) in the plan") }
        let lesion = study.lesion.map {
            LesionLook(semiAxisA: $0.semiAxisA, semiAxisB: $0.semiAxisB, irregularity: $0.irregularity, contrast: $0.contrast,
                       shadow: $0.shadow, halo: $0.halo)
        }
        let look = InstanceLook(width: spec.width, height: spec.height, frames: spec.frames, probe: probe, lesion: lesion,
                                dualFan: spec.dual, deviceModel: study.model, cystProbability: 0.25)
        var draws = CohortPlan.instanceStream(seed: plan.parameters.seed, study: study.index, position: position)
        let rendered = InstanceRenderer.render(look, draws: &draws)
        let object = InstanceDataset.image(study: study, patient: patient, spec: spec, number: position + 1,
                                           sopInstanceUID: ids.uid("instance", [study.index, position]), rendered: rendered)
        let relative = relativePath(study: study, number: position + 1)
        try object.write(to: root.appendingPathComponent(relative))
        return (rendered.frames, try fileSize(relative))
    }

    func references(_ study: SyntheticStudy, ids: SyntheticIdentifiers) -> [(sopClass: String, uid: String)] {
        study.instances.indices.map { (InstanceDataset.sopClass(study.instances[$0]), ids.uid("instance", [study.index, $0])) }
    }

    /// A Basic Text SR in the first site-B study with two or more images and a Key Object
    /// Selection (of its first image) in the first SITEA study with two or more (as SampleStudies);
    /// a cohort without such a study has fewer documents.
    func writeDocuments(ids: SyntheticIdentifiers) throws -> Int {
        var bytes = 0
        func firstStudy(_ site: Site) -> SyntheticStudy? {
            plan.studies.first { plan.patients[$0.patient].site == site && $0.instances.count >= 2 }
                ?? plan.studies.first { plan.patients[$0.patient].site == site }
        }
        if let st = firstStudy(.siteB) {
            let path = (relativePath(study: st, number: 1) as NSString).deletingLastPathComponent + "/SR0001.dcm"
            try InstanceDataset.textSR(study: st, patient: plan.patients[st.patient], ids: ids, referenced: references(st, ids: ids))
                .write(to: root.appendingPathComponent(path))
            bytes += try fileSize(path)
        }
        if let st = firstStudy(.siteA) {
            let path = (relativePath(study: st, number: 1) as NSString).deletingLastPathComponent + "/KO000001"
            try InstanceDataset.keyObject(study: st, patient: plan.patients[st.patient], ids: ids,
                                          referenced: Array(references(st, ids: ids).prefix(1)))
                .write(to: root.appendingPathComponent(path))
            bytes += try fileSize(path)
        }
        return bytes
    }

    /// The DICOMDIR of every SITEA file (images and the KO), at the top of the output.
    func writeDicomDir(ids: SyntheticIdentifiers) throws {
        let siteA = root.appendingPathComponent("SITEA")
        guard let walker = FileManager.default.enumerator(atPath: siteA.path) else { return }
        var files: [String] = []
        for case let name as String in walker {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: siteA.appendingPathComponent(name).path, isDirectory: &isDirectory), !isDirectory.boolValue,
               !name.hasPrefix("."), !(name as NSString).lastPathComponent.hasPrefix(".") {
                files.append("SITEA/" + name)
            }
        }
        guard !files.isEmpty else { return }
        try DicomDirectoryWriter.write(to: root.appendingPathComponent("DICOMDIR"), root: root, fileSetID: "SONOKITSYNTH",
                                       mediaUID: ids.uid("dicomdir"), files: files.sorted())
    }

    /// labels.csv: study_uid,label,patient_id,site, sorted by patient and date.
    func writeLabels() throws {
        var text = "study_uid,label,patient_id,site\n"
        let rows = plan.studies.sorted { a, b in
            let pa = plan.patients[a.patient].patientID, pb = plan.patients[b.patient].patientID
            return pa != pb ? pa < pb : (a.date != b.date ? a.date < b.date : a.index < b.index)
        }
        for st in rows {
            let patient = plan.patients[st.patient]
            text += "\(st.uid),\(st.label),\(patient.patientID),\(patient.site.rawValue)\n"
        }
        try AtomicFile.write(Data(text.utf8), to: root.appendingPathComponent("labels.csv"))
    }
}
