import SonoKitCore

/// The class names of a manifest, the task they make, and (binary) which one is positive.
///
/// Classes are *declared*, never inferred from folder order or sorting: a model trained with
/// `benign,malignant` must not silently flip when a folder is renamed. The declaration comes from the
/// command line (`--classes benign,malignant --positive malignant`) or from a comment line at the top
/// of the manifest (`# classes: benign,malignant; positive: malignant`).
///
/// The task (``SonoKitCore/ClassificationTask``):
/// - with a positive class: `binary`, the positive class against all others (with more than two
///   classes the others are pooled as "negative"), exactly as before multi-class existed;
/// - without one and with more than two classes: `multiclass`, N mutually exclusive classes;
/// - two classes without a positive class are ambiguous and refused, with the two ways out
///   (`--positive X` or `--task multiclass`);
/// - `--task binary|multiclass` (comment: `task: multiclass`) makes the task explicit: `binary`
///   needs a positive class, `multiclass` must not have one.
///
/// `ordinal` (`--ordinal`, comment `ordinal: yes`) says the declared order is an order of the
/// classes (BI-RADS 2 < 3 < 4 < 5): evaluation then weights disagreements by distance (quadratic
/// kappa). It is refused for a binary task, where it would change nothing.
public struct ClassDeclaration: Codable, Hashable, Sendable {
    /// Class names in declared order (no duplicates, none empty). The class index of a label is
    /// its position here: the network's output k is class `classes[k]` (multi-class).
    public let classes: [String]
    public let task: ClassificationTask
    /// The positive class (one of `classes`) of a binary task; nil for a multi-class task.
    public let positive: String?
    /// Multi-class only: the declared order is an order of severity.
    public let ordinal: Bool

    /// Where a declaration was written, so that an error can say what to write in the same place.
    public enum Source: Sendable {
        case commandLine, comment
    }

    /// A binary declaration (the form every binary caller uses).
    public init(classes: [String], positive: String) throws {
        try self.init(classes: classes, positive: Optional(positive), task: .binary, ordinal: false)
    }

    /// The general form: `task` nil means "as the positive class says" (see the type's comment).
    public init(classes: [String], positive: String?, task: ClassificationTask?, ordinal: Bool = false,
                source: Source = .commandLine) throws {
        let trimmed = classes.map { $0.trimmingWhitespace() }
        guard trimmed.count >= 2 else { throw ManifestError.badClassDeclaration(detail: "at least two classes are needed, got \(trimmed.count) (\(trimmed.joined(separator: ",")))") }
        if let empty = trimmed.firstIndex(of: "") { throw ManifestError.badClassDeclaration(detail: "class \(empty + 1) of the list is empty") }
        var seen = Set<String>()
        for name in trimmed where !seen.insert(name).inserted {
            throw ManifestError.badClassDeclaration(detail: "class '\(name)' is declared twice")
        }
        let list = trimmed.joined(separator: ",")
        let positive = positive.map { $0.trimmingWhitespace() }
        let (positiveOption, taskOption, ordinalOption) = source == .commandLine
            ? ("--positive NAME", "--task multiclass", "--ordinal") : ("'positive: NAME'", "'task: multiclass'", "'ordinal: yes'")
        if let positive, !trimmed.contains(positive) {
            throw ManifestError.badClassDeclaration(detail: "the positive class '\(positive)' is not one of the declared classes (\(list))")
        }
        let resolved: ClassificationTask
        switch (task, positive) {
        case (.binary?, nil):
            throw ManifestError.badClassDeclaration(detail: "a binary task needs a positive class; add \(positiveOption) (one of \(list))")
        case (.multiclass?, let p?):
            throw ManifestError.badClassDeclaration(detail: "a multi-class task has no positive class, but '\(p)' is given as positive; drop the positive class, or make the task binary")
        case (let t?, _): resolved = t
        case (nil, _?): resolved = .binary
        case (nil, nil):
            guard trimmed.count > 2 else {
                throw ManifestError.badClassDeclaration(detail: "two classes (\(list)) without a positive class are ambiguous; add \(positiveOption) for a binary task (one class against the other), or \(taskOption) for a two-class softmax task")
            }
            resolved = .multiclass
        }
        if ordinal, resolved == .binary {
            throw ManifestError.badClassDeclaration(detail: "\(ordinalOption) orders the classes of a multi-class task; a binary task (positive '\(positive ?? "")') has no use for it: drop it, or make the task multi-class")
        }
        self.classes = trimmed
        self.task = resolved
        self.positive = positive
        self.ordinal = ordinal
    }

    /// Parses the command-line form: `classes` is a comma-separated list.
    public init(commaSeparatedClasses: String, positive: String?, task: ClassificationTask? = nil, ordinal: Bool = false,
                source: Source = .commandLine) throws {
        try self.init(classes: commaSeparatedClasses.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
                      positive: positive, task: task, ordinal: ordinal, source: source)
    }

    /// Parses the body of a header comment, e.g. `classes: benign,malignant; positive: malignant` or
    /// `classes: a,b,c; task: multiclass; ordinal: yes` (the leading `#` already removed). Returns
    /// nil when the comment is not a class declaration.
    public static func fromComment(_ body: String) throws -> ClassDeclaration? {
        var classes: String?
        var positive: String?
        var task: String?
        var ordinal: String?
        for part in body.split(separator: ";") {
            let pair = part.split(separator: ":", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard pair.count == 2 else { continue }
            switch pair[0].lowercased() {
            case "classes": classes = pair[1]
            case "positive": positive = pair[1]
            case "task": task = pair[1]
            case "ordinal": ordinal = pair[1]
            default: continue
            }
        }
        guard classes != nil || positive != nil else { return nil }
        guard let classes else { throw ManifestError.badClassDeclaration(detail: "the header comment names a positive class but no 'classes:' list") }
        var parsedTask: ClassificationTask?
        if let task {
            guard let t = ClassificationTask(rawValue: task.lowercased()) else {
                throw ManifestError.badClassDeclaration(detail: "the header comment's 'task: \(task)' is not binary or multiclass")
            }
            parsedTask = t
        }
        var isOrdinal = false
        if let ordinal {
            switch ordinal.lowercased() {
            case "yes", "true": isOrdinal = true
            case "no", "false": isOrdinal = false
            default: throw ManifestError.badClassDeclaration(detail: "the header comment's 'ordinal: \(ordinal)' is not yes or no")
            }
        }
        return try ClassDeclaration(commaSeparatedClasses: classes, positive: positive, task: parsedTask, ordinal: isOrdinal, source: .comment)
    }

    /// The declaration as a header comment body that `fromComment` reads back to an equal value:
    /// `classes: a,b; positive: b` (binary, as always written) or
    /// `classes: a,b,c; task: multiclass` (+ `; ordinal: yes`).
    public var commentText: String {
        let list = "classes: " + classes.joined(separator: ",")
        switch task {
        case .binary: return list + "; positive: " + (positive ?? "")
        case .multiclass: return list + "; task: multiclass" + (ordinal ? "; ordinal: yes" : "")
        }
    }

    /// Binary: whether `label` is the positive class. Multi-class: always false (no class is
    /// positive; use ``classIndex(of:)``).
    public func isPositive(_ label: String) -> Bool { task == .binary && label == positive }

    /// Position of `label` in the declared classes, nil when it is not declared.
    public func classIndex(of label: String) -> Int? { classes.firstIndex(of: label) }

    enum CodingKeys: String, CodingKey { case classes, task, positive, ordinal }

    /// Decodes declarations written before the task existed (`classes` + `positive`) as binary.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(classes: try c.decode([String].self, forKey: .classes),
                      positive: try c.decodeIfPresent(String.self, forKey: .positive),
                      task: try ClassificationTask.decodeRecorded(c, forKey: .task),
                      ordinal: try c.decodeIfPresent(Bool.self, forKey: .ordinal) ?? false)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(classes, forKey: .classes)
        try c.encode(task, forKey: .task)
        try c.encodeIfPresent(positive, forKey: .positive)
        if task == .multiclass { try c.encode(ordinal, forKey: .ordinal) }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
