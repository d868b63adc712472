import Foundation
import SonoKitCore

/// What a synthetic cohort is made from: its size, seed and classes. Two cohorts with equal
/// parameters (and generator version) are byte-identical.
public struct CohortParameters: Codable, Equatable, Sendable {
    /// Number of patients (each has one to three studies).
    public var patients: Int
    public var seed: UInt64
    /// The class names, two or more, as given (see `CohortPlan.lesionKinds` for what each shows).
    public var classes: [String]
    /// The positive class (its studies show the hypoechoic shadowing mass); by default the last.
    public var positive: String

    public init(patients: Int, seed: UInt64, classes: [String] = ["benign", "malignant"], positive: String? = nil) {
        self.patients = patients
        self.seed = seed
        self.classes = classes
        self.positive = positive ?? classes.last ?? ""
    }

    /// The most classes a cohort can have: one without lesion and one per distinct lesion look.
    public static let maximumClasses = 1 + LesionKind.allCases.count

    /// Checks the parameters; the error says what to change.
    public func validated() throws -> CohortParameters {
        guard patients >= 1 else { throw SynthesisError.invalidParameters("--patients must be at least 1, got \(patients)") }
        guard classes.count >= 2 else {
            throw SynthesisError.invalidParameters("--classes needs two or more class names (e.g. benign,malignant), got \(classes.count)")
        }
        guard classes.count <= Self.maximumClasses else {
            throw SynthesisError.invalidParameters("--classes: at most \(Self.maximumClasses) classes (one without lesion and one per lesion look: "
                + LesionKind.allCases.map(\.rawValue).joined(separator: ", ") + "), got \(classes.count)")
        }
        for name in classes where name.isEmpty || name.contains(",") || name.contains("\"") || name.contains("\n") {
            throw SynthesisError.invalidParameters("--classes: '\(name)' is not a usable class name (empty, or has a comma, quote or newline)")
        }
        guard Set(classes).count == classes.count else { throw SynthesisError.invalidParameters("--classes: a class is named twice in \(classes)") }
        guard classes.contains(positive) else {
            throw SynthesisError.invalidParameters("--positive '\(positive)' is not one of the classes \(classes.joined(separator: ","))")
        }
        return self
    }
}

public enum SynthesisError: Error, CustomStringConvertible, Equatable {
    case invalidParameters(String)
    case write(path: String, reason: String)
    case output(String)

    public var description: String {
        switch self {
        case .invalidParameters(let text): return text
        case .write(let path, let reason): return "\(path): cannot write: \(reason)"
        case .output(let text): return text
        }
    }
}

/// The lesion looks a class can have. The first class that is not the positive one shows no
/// lesion; the positive class shows `.hypoechoicShadowingMass`; the remaining classes, in the
/// order given, show `.hyperechoicMass` then `.anechoicComplexCyst`.
public enum LesionKind: String, CaseIterable, Codable, Sendable {
    /// Solid hypoechoic mass with posterior shadowing (the Python generator's "malignant"):
    /// semi-axis a ~ U(0.45, 1.7) cm, b = a·U(0.6, 1.3), irregularity U(0.02, 0.14), contrast
    /// U(0.12, 0.45), shadow U(0.4, 0.85), halo with probability 0.3.
    case hypoechoicShadowingMass = "hypoechoic shadowing mass"
    /// Hyperechoic (brighter than tissue) mass without shadow: a ~ U(0.45, 1.5), b = a·U(0.6, 1.3),
    /// irregularity U(0.02, 0.08), contrast U(1.6, 2.4), shadow 0, no halo.
    case hyperechoicMass = "hyperechoic mass"
    /// Anechoic complex cyst with posterior enhancement: a ~ U(0.5, 1.4), b = a·U(0.7, 1.2),
    /// irregularity U(0.04, 0.1), contrast U(0.03, 0.1), shadow U(−0.6, −0.3) (enhancement).
    case anechoicComplexCyst = "anechoic complex cyst with enhancement"
}

/// One study's lesion (semi-axes in cm). Maps one to one onto the renderer's `LesionLook`.
public struct StudyLesion: Codable, Equatable, Sendable {
    public var kind: LesionKind
    public var semiAxisA: Double
    public var semiAxisB: Double
    public var irregularity: Double
    public var contrast: Double
    public var shadow: Double
    public var halo: Bool

    static func draw(_ kind: LesionKind, _ draws: inout SyntheticDraws) -> StudyLesion {
        switch kind {
        case .hypoechoicShadowingMass:
            let a = draws.uniform(0.45, 1.7)
            let b = a * draws.uniform(0.6, 1.3)
            return StudyLesion(kind: kind, semiAxisA: a, semiAxisB: b, irregularity: draws.uniform(0.02, 0.14),
                               contrast: draws.uniform(0.12, 0.45), shadow: draws.uniform(0.4, 0.85), halo: draws.chance(0.3))
        case .hyperechoicMass:
            let a = draws.uniform(0.45, 1.5)
            let b = a * draws.uniform(0.6, 1.3)
            return StudyLesion(kind: kind, semiAxisA: a, semiAxisB: b, irregularity: draws.uniform(0.02, 0.08),
                               contrast: draws.uniform(1.6, 2.4), shadow: 0, halo: false)
        case .anechoicComplexCyst:
            let a = draws.uniform(0.5, 1.4)
            let b = a * draws.uniform(0.7, 1.2)
            return StudyLesion(kind: kind, semiAxisA: a, semiAxisB: b, irregularity: draws.uniform(0.04, 0.1),
                               contrast: draws.uniform(0.03, 0.1), shadow: draws.uniform(-0.6, -0.3), halo: false)
        }
    }
}

/// How one instance is stored (the Python generator's `Spec`).
public struct InstanceSpec: Codable, Equatable, Sendable {
    public enum Colour: String, Codable, Sendable, Comparable {
        case rgb, rgbPlanar = "rgb-planar", ybrFull = "ybr-full", mono2, mono2x16 = "mono2-16", mono1
        public static func < (a: Colour, b: Colour) -> Bool { a.rawValue < b.rawValue }
    }

    public var encoding: Encoding
    public var colour: Colour
    public var width: Int
    public var height: Int
    public var frames = 1
    /// Two tissue regions (two fans, different spacing).
    public var dual = false
    public var greyBarRegion = false
    /// False: no SequenceOfUltrasoundRegions.
    public var regions = true

    public init(_ encoding: Encoding, _ colour: Colour, _ size: (Int, Int), frames: Int = 1, dual: Bool = false, greyBarRegion: Bool = false) {
        self.encoding = encoding
        self.colour = colour
        (width, height) = size
        self.frames = frames
        self.dual = dual
        self.greyBarRegion = greyBarRegion
    }

    /// The Python plan's sort key (regions, cine, colour, encoding, size, dual, grey bar), by which
    /// specs are dealt to the classes.
    func sortKey() -> String {
        "\(regions ? 1 : 0)|\(frames > 1 ? 1 : 0)|\(colour.rawValue)|\(encoding.rawValue)|\(String(format: "%04d|%04d", width, height))|\(dual ? 1 : 0)|\(greyBarRegion ? 1 : 0)"
    }
}

/// The encodings of SampleStudies (scripts/samples/dcmtk_tools.py) by their short names.
public enum Encoding: String, Codable, CaseIterable, Sendable {
    case explicitLE = "explicit-le", implicitLE = "implicit-le", bigEndian = "big-endian", deflate
    case jpegBaseline = "jpeg-baseline", jpegBaselineRGB = "jpeg-baseline-rgb", jpegBaseline444 = "jpeg-baseline-444"
    case jpegExtended = "jpeg-extended", jpegLossless = "jpeg-lossless", jpegLosslessSV1 = "jpeg-lossless-sv1"
    case rle, jpegLSLossless = "jpeg-ls-lossless", jpegLSNearLossless = "jpeg-ls-near-lossless"
    /// A JFIF file of another encoder (libjpeg-turbo, 4:2:2) wrapped as-is, as img2dcm does.
    case jfifWrapped = "img2dcm-jpeg"

    /// The transfer syntax UID the file gets.
    public var transferSyntaxUID: String {
        switch self {
        case .explicitLE: return "1.2.840.10008.1.2.1"
        case .implicitLE: return "1.2.840.10008.1.2"
        case .bigEndian: return "1.2.840.10008.1.2.2"
        case .deflate: return "1.2.840.10008.1.2.1.99"
        case .jpegBaseline, .jpegBaselineRGB, .jpegBaseline444, .jfifWrapped: return "1.2.840.10008.1.2.4.50"
        case .jpegExtended: return "1.2.840.10008.1.2.4.51"
        case .jpegLossless: return "1.2.840.10008.1.2.4.57"
        case .jpegLosslessSV1: return "1.2.840.10008.1.2.4.70"
        case .rle: return "1.2.840.10008.1.2.5"
        case .jpegLSLossless: return "1.2.840.10008.1.2.4.80"
        case .jpegLSNearLossless: return "1.2.840.10008.1.2.4.81"
        }
    }

    /// Lossy encodings (LossyImageCompression 01 after encoding).
    public var isLossy: Bool { [.jpegBaseline, .jpegBaselineRGB, .jpegBaseline444, .jpegExtended, .jpegLSNearLossless, .jfifWrapped].contains(self) }
}

public enum Site: String, Codable, Sendable {
    case siteA = "SITEA", siteB = "SITEB"
}

public struct SyntheticPatient: Codable, Equatable, Sendable {
    public var index: Int
    public var patientID: String
    public var name: String
    public var birthDate: String
    public var sex: String
    public var site: Site
    /// Folder under the site's root: P + 6 hex digits at SITEA (ISO 9660 style), anon-<6 hex> at site B.
    public var folder: String
}

public struct SyntheticStudy: Codable, Equatable, Sendable {
    public var index: Int
    public var patient: Int
    /// 1-based position among the patient's studies (folder S<k> / study-<k>).
    public var ordinal: Int
    public var label: String
    public var date: String
    public var time: String
    public var model: String
    public var probe: String
    public var uid: String
    public var seriesUID: String
    public var accession: String
    public var lesion: StudyLesion?
    public var instances: [InstanceSpec]
}

/// The cohort plan: the Python generator's `plan()` (scripts/samples/make_sample_studies.py)
/// generalised to N patients and two or more classes.
///
/// - Patients: sites half and half (shuffled); birth dates uniform over 1938-01-01 + 0..<55·365
///   days; sex F/M/O uniform; one study with probability 0.6, two with 0.3, three with 0.1 (per
///   patient stream). Each later study of a patient comes 60–399 days after the one before.
/// - Labels are dealt round robin within each site in a random order (the starting class
///   rotating from site to site), so the classes are balanced to one study per site and the site
///   says nothing of the class.
/// - Images per study: each class gets the same quota as SampleStudies (10% three, 22.5% two,
///   the rest one; rounded per class), so the number of images says nothing of the class.
/// - Device model alternates within (site, class) from a random start; the probe is uniform
///   among the model's probes.
/// - Encodings: SampleStudies' 57-instance multiset (`templateSpecs`), repeated and, for the
///   remainder, sampled systematically in the sort order (so every kind appears in proportion);
///   then dealt, in sort order, each to the class whose share of its slots is smallest, into a
///   random slot of it: every encoding, colour model, size, cine/single and region layout is
///   spread over the classes as evenly as the counts allow.
///
/// Random streams: the plan-wide choices (site order, label order, spec dealing) come from
/// stream [1]; patient i's from [2, i]; study s's (time, probe, lesion) from [3, s]. Pixels use
/// per-instance streams (`instanceStream`), so instances can be rendered in any order.
public struct CohortPlan: Codable, Equatable, Sendable {
    public var parameters: CohortParameters
    public var patients: [SyntheticPatient]
    public var studies: [SyntheticStudy]
    /// The lesion look of each class (nil: no lesion).
    public var lesionKinds: [String: LesionKind?]

    public static let givenNames = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA",
                                    "JULIETT", "KILO", "LIMA", "MIKE", "NOVEMBER", "OSCAR", "PAPA", "QUEBEC", "ROMEO",
                                    "SIERRA", "TANGO", "UNIFORM", "VICTOR", "WHISKEY", "XRAY", "YANKEE", "ZULU",
                                    "AURORA", "BOREAS", "CIRRUS", "DRIZZLE"]
    public static let modelsBySite: [Site: [String]] = [.siteA: ["SK-Sono 100", "SK-Sono 200 Pro"], .siteB: ["SK-Sono 200 Pro", "SK-Pocket P1"]]
    public static let probesByModel: [String: [String]] = ["SK-Sono 100": ["C5-2"], "SK-Sono 200 Pro": ["C6-1", "P4-2"], "SK-Pocket P1": ["C5-2", "P4-2"]]
    public static let serialByModel = ["SK-Sono 100": "SKS100-0042", "SK-Sono 200 Pro": "SKS200-0917", "SK-Pocket P1": "SKP1-3301"]

    /// The lesion look of every class: none for the first class that is not positive, the
    /// hypoechoic shadowing mass for the positive class, then the other looks in order.
    public static func lesionKinds(_ parameters: CohortParameters) -> [String: LesionKind?] {
        var result: [String: LesionKind?] = [parameters.positive: .hypoechoicShadowingMass]
        var others = LesionKind.allCases.dropFirst().makeIterator()
        var negativeSeen = false
        for name in parameters.classes where name != parameters.positive {
            if !negativeSeen {
                result[name] = .some(nil)
                negativeSeen = true
            } else {
                result[name] = .some(others.next())
            }
        }
        return result
    }

    /// SampleStudies' 57 instance specs (before the eight files without regions are chosen).
    public static func templateSpecs(cineFrames: [Int]) -> [InstanceSpec] {
        let L = (640, 480), M = (480, 360), S = (400, 300), C = (320, 240), T = (256, 192)
        var specs: [InstanceSpec] = []
        specs += Array(repeating: InstanceSpec(.jpegBaseline, .rgb, L), count: 13)
        specs += [InstanceSpec(.jpegBaseline, .rgb, L, dual: true), InstanceSpec(.jpegBaseline, .rgb, L, greyBarRegion: true)]
        specs += Array(repeating: InstanceSpec(.jfifWrapped, .rgb, L), count: 3)
        specs += [InstanceSpec(.jpegBaselineRGB, .rgb, L), InstanceSpec(.jpegBaseline444, .rgb, L)]
        specs += [InstanceSpec(.explicitLE, .rgb, S), InstanceSpec(.explicitLE, .rgb, S, greyBarRegion: true), InstanceSpec(.explicitLE, .rgb, S, dual: true)]
        specs += [InstanceSpec(.explicitLE, .rgbPlanar, S), InstanceSpec(.explicitLE, .rgbPlanar, S)]
        specs += [InstanceSpec(.implicitLE, .rgb, S), InstanceSpec(.bigEndian, .rgb, S), InstanceSpec(.deflate, .rgb, M)]
        specs += [InstanceSpec(.rle, .rgb, M), InstanceSpec(.rle, .rgb, M, greyBarRegion: true), InstanceSpec(.rle, .rgbPlanar, M), InstanceSpec(.rle, .ybrFull, M)]
        specs += Array(repeating: InstanceSpec(.jpegLSLossless, .rgb, M), count: 3)
        specs += [InstanceSpec(.jpegLSNearLossless, .rgb, M), InstanceSpec(.jpegLosslessSV1, .rgb, M), InstanceSpec(.jpegLossless, .rgb, M)]
        specs += Array(repeating: InstanceSpec(.explicitLE, .mono2, M), count: 3)
        specs += [InstanceSpec(.explicitLE, .mono2x16, M), InstanceSpec(.jpegLSLossless, .mono2x16, M), InstanceSpec(.jpegExtended, .mono2x16, M),
                  InstanceSpec(.rle, .mono2, M), InstanceSpec(.jpegBaseline, .mono2, M), InstanceSpec(.explicitLE, .mono1, M)]
        specs += cineFrames.prefix(5).map { InstanceSpec(.jpegBaseline, .rgb, C, frames: $0) }
        specs += [InstanceSpec(.explicitLE, .rgb, T, frames: 8), InstanceSpec(.rle, .rgb, T, frames: 8), InstanceSpec(.jpegLSLossless, .rgb, T, frames: 8),
                  InstanceSpec(.explicitLE, .mono2, C, frames: 8), InstanceSpec(.jpegLosslessSV1, .mono2, C, frames: 8)]
        return specs
    }

    /// Files without regions per template copy (never a dual or grey-bar showcase).
    public static let filesWithoutRegions = 8

    public static func make(_ parameters: CohortParameters) throws -> CohortPlan {
        let parameters = try parameters.validated()
        let seed = parameters.seed, ids = SyntheticIdentifiers(seed: seed)
        var plan = SyntheticDraws(seed: seed, path: [1])
        let n = parameters.patients

        // Patients.
        var sites = Array(repeating: Site.siteA, count: (n + 1) / 2) + Array(repeating: Site.siteB, count: n / 2)
        sites = plan.shuffled(sites)
        var patients: [SyntheticPatient] = []
        var studyCounts: [Int] = []
        var folders = Set<String>()
        for i in 0..<n {
            var draws = SyntheticDraws(seed: seed, path: [2, UInt64(i)])
            let birth = CivilDate.days(1938, 1, 1) + draws.integer(below: 365 * 55)
            let sex = ["F", "M", "O"][draws.integer(below: 3)]
            let u = draws.unit()
            studyCounts.append(u < 0.6 ? 1 : u < 0.9 ? 2 : 3)
            let site = sites[i]
            var attempt = 0, folder = ""
            repeat {   // six hex digits can collide in large cohorts: the next token then
                let token = ids.token("patient-folder", attempt == 0 ? [i] : [i, attempt]).uppercased()
                folder = site == .siteA ? "P\(token.prefix(6))" : "anon-\(token.prefix(6).lowercased())"
                attempt += 1
            } while folders.contains(folder)
            folders.insert(folder)
            let given = givenNames[i % givenNames.count] + (i < givenNames.count ? "" : "\(i / givenNames.count + 1)")
            patients.append(SyntheticPatient(index: i, patientID: String(format: "SKP%04d", i + 1), name: "SYNTH^\(given)",
                                             birthDate: CivilDate.string(birth), sex: sex, site: site, folder: folder))
        }
        var owners: [(patient: Int, ordinal: Int)] = []
        for (i, count) in studyCounts.enumerated() { for k in 1...count { owners.append((i, k)) } }

        // Labels: round robin within each site, in a random order, the first class rotating.
        let classes = parameters.classes, k = classes.count
        var labels = Array(repeating: "", count: owners.count)
        var first = 0
        for site in [Site.siteA, .siteB] {
            let members = owners.indices.filter { patients[owners[$0].patient].site == site }
            for (position, s) in plan.shuffled(members).enumerated() { labels[s] = classes[(first + position) % k] }
            first = (first + members.count) % k
        }

        // Images per study: the same quota in every class.
        var countsByClass: [String: [Int]] = [:]
        for name in classes {
            let size = labels.filter { $0 == name }.count
            let threes = Int((Double(size) * 4 / 40).rounded()), twos = Int((Double(size) * 9 / 40).rounded())
            let ones = max(0, size - threes - twos)
            let counts = Array(Array(repeating: 3, count: threes) + Array(repeating: 2, count: twos) + Array(repeating: 1, count: ones)).prefix(size)
            countsByClass[name] = plan.shuffled(Array(counts))
        }

        // Studies.
        var modelTurn: [String: Int] = [:]
        for site in [Site.siteA, .siteB] { for name in classes { modelTurn["\(site.rawValue)|\(name)"] = plan.integer(below: 2) } }
        let kinds = lesionKinds(parameters)
        var lastDate: [Int: Int] = [:]
        var studies: [SyntheticStudy] = []
        for (s, owner) in owners.enumerated() {
            var draws = SyntheticDraws(seed: seed, path: [3, UInt64(s)])
            let patient = patients[owner.patient], label = labels[s]
            let date: Int
            if let earlier = lastDate[owner.patient] {
                date = earlier + draws.integer(in: 60...399)
            } else {
                date = CivilDate.days(2024, 1, 8) + draws.integer(below: 300)
            }
            lastDate[owner.patient] = date
            let key = "\(patient.site.rawValue)|\(label)"
            let model = modelsBySite[patient.site]![modelTurn[key]! % 2]
            modelTurn[key]! += 1
            let probe = draws.choice(probesByModel[model]!)
            let time = String(format: "%02d%02d00", draws.integer(in: 8...17), draws.integer(below: 60))
            let lesion = (kinds[label] ?? nil).map { StudyLesion.draw($0, &draws) }
            let count = countsByClass[label]!.removeLast()
            studies.append(SyntheticStudy(index: s, patient: owner.patient, ordinal: owner.ordinal, label: label,
                                          date: CivilDate.string(date), time: time, model: model, probe: probe,
                                          uid: ids.uid("study", [s]), seriesUID: ids.uid("series", [s]),
                                          accession: String(format: "SKA%05d", s + 1), lesion: lesion,
                                          instances: Array(repeating: InstanceSpec(.explicitLE, .rgb, (0, 0)), count: count)))
        }

        // Encodings, stratified by class.
        let total = studies.reduce(0) { $0 + $1.instances.count }
        let specs = sampledSpecs(total: total, draws: &plan)
        var slots: [String: [(study: Int, position: Int)]] = [:]
        for name in classes {
            let classSlots = studies.filter { $0.label == name }.flatMap { st in st.instances.indices.map { (st.index, $0) } }
            slots[name] = plan.shuffled(classSlots)
        }
        let capacity = slots.mapValues(\.count)
        for spec in specs.sorted(by: { $0.sortKey() < $1.sortKey() }) {
            let open = classes.filter { !(slots[$0]!.isEmpty) }
            let name = open.min { a, b in
                let fa = Double(capacity[a]! - slots[a]!.count) / Double(capacity[a]!)
                let fb = Double(capacity[b]! - slots[b]!.count) / Double(capacity[b]!)
                return fa != fb ? fa < fb : a < b
            }!
            let slot = slots[name]!.removeLast()
            studies[slot.study].instances[slot.position] = spec
        }
        return CohortPlan(parameters: parameters, patients: patients, studies: studies, lesionKinds: kinds)
    }

    /// `total` specs in SampleStudies' proportions: whole copies of the template (each with its
    /// own eight files without regions and cine lengths), and for the remainder a systematic
    /// sample, in sort order, of one more copy.
    static func sampledSpecs(total: Int, draws: inout SyntheticDraws) -> [InstanceSpec] {
        func copy() -> [InstanceSpec] {
            var specs = templateSpecs(cineFrames: (0..<5).map { _ in draws.integer(in: 8...16) })
            let plain = specs.indices.filter { !(specs[$0].dual || specs[$0].greyBarRegion) }
            for i in draws.shuffled(plain).prefix(filesWithoutRegions) { specs[i].regions = false }
            return specs.sorted { $0.sortKey() < $1.sortKey() }
        }
        var result: [InstanceSpec] = []
        while result.count + 57 <= total { result += copy() }
        let remainder = total - result.count
        if remainder > 0 {
            let last = copy()
            result += (0..<remainder).map { last[($0 * last.count + last.count / 2) / remainder % last.count] }
        }
        return result
    }

    /// The random stream of instance `position` of study `study` (its pixels and burned-in values).
    public static func instanceStream(seed: UInt64, study: Int, position: Int) -> SyntheticDraws {
        SyntheticDraws(seed: seed, path: [4, UInt64(study), UInt64(position)])
    }
}

/// Deterministic identifiers, as the Python generator's `Ids`: UIDs are
/// 2.25.<the first 128 bits of SHA-256("seed/kind/i/j…") as a decimal integer> (PS3.5 B.2).
public struct SyntheticIdentifiers: Sendable {
    public let seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    private func digest(_ kind: String, _ index: [Int]) -> [UInt8] {
        SHA256Hex.bytes(Data("\(seed)/\(kind)/\(index.map(String.init).joined(separator: "/"))".utf8))
    }

    public func uid(_ kind: String, _ index: [Int] = []) -> String {
        let value = Self.decimal(Array(digest(kind, index).prefix(16)))
        return "2.25." + (value == "0" ? "1" : value)
    }

    /// The first `count` hex digits of the digest.
    public func token(_ kind: String, _ index: [Int], count: Int = 6) -> String {
        String(SHA256Hex.hex(digest(kind, index)).prefix(count))
    }

    /// A big-endian unsigned integer as decimal digits (repeated division by 10).
    static func decimal(_ bytes: [UInt8]) -> String {
        var number = bytes.drop { $0 == 0 }.map { UInt32($0) }
        var digits: [Character] = []
        while !number.isEmpty {
            var remainder: UInt32 = 0
            var quotient: [UInt32] = []
            for byte in number {
                let value = remainder * 256 + byte
                let q = value / 10
                remainder = value % 10
                if !(quotient.isEmpty && q == 0) { quotient.append(q) }
            }
            digits.append(Character(String(remainder)))
            number = quotient
        }
        return digits.isEmpty ? "0" : String(digits.reversed())
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's civil algorithms).
enum CivilDate {
    static func days(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// YYYYMMDD (DICOM DA).
    static func string(_ days: Int) -> String {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp + (mp < 10 ? 3 : -9)
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return String(format: "%04d%02d%02d", year, month, day)
    }
}
