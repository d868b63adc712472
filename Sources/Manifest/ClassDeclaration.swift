/// The class names of a manifest and which one is the positive class.
///
/// Classes are *declared*, never inferred from folder order or sorting: a model trained with
/// `benign,malignant` must not silently flip when a folder is renamed. The declaration comes from the
/// command line (`--classes benign,malignant --positive malignant`) or from a comment line at the top
/// of the manifest (`# classes: benign,malignant; positive: malignant`). With more than two classes
/// the task is still binary: the positive class against all others.
public struct ClassDeclaration: Codable, Hashable, Sendable {
    /// Class names in declared order (no duplicates, none empty).
    public let classes: [String]
    /// One of `classes`.
    public let positive: String

    public init(classes: [String], positive: String) throws {
        let trimmed = classes.map { $0.trimmingWhitespace() }
        guard trimmed.count >= 2 else { throw ManifestError.badClassDeclaration(detail: "at least two classes are needed, got \(trimmed.count) (\(trimmed.joined(separator: ",")))") }
        if let empty = trimmed.firstIndex(of: "") { throw ManifestError.badClassDeclaration(detail: "class \(empty + 1) of the list is empty") }
        var seen = Set<String>()
        for name in trimmed where !seen.insert(name).inserted {
            throw ManifestError.badClassDeclaration(detail: "class '\(name)' is declared twice")
        }
        let positive = positive.trimmingWhitespace()
        guard trimmed.contains(positive) else {
            throw ManifestError.badClassDeclaration(detail: "the positive class '\(positive)' is not one of the declared classes (\(trimmed.joined(separator: ",")))")
        }
        self.classes = trimmed
        self.positive = positive
    }

    /// Parses the command-line form: `classes` is a comma-separated list.
    public init(commaSeparatedClasses: String, positive: String) throws {
        try self.init(classes: commaSeparatedClasses.split(separator: ",", omittingEmptySubsequences: false).map(String.init), positive: positive)
    }

    /// Parses the body of a header comment, e.g. `classes: benign,malignant; positive: malignant`
    /// (the leading `#` already removed). Returns nil when the comment is not a class declaration.
    public static func fromComment(_ body: String) throws -> ClassDeclaration? {
        var classes: String?
        var positive: String?
        for part in body.split(separator: ";") {
            let pair = part.split(separator: ":", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard pair.count == 2 else { continue }
            switch pair[0].lowercased() {
            case "classes": classes = pair[1]
            case "positive": positive = pair[1]
            default: continue
            }
        }
        guard classes != nil || positive != nil else { return nil }
        guard let classes else { throw ManifestError.badClassDeclaration(detail: "the header comment names a positive class but no 'classes:' list") }
        guard let positive else { throw ManifestError.badClassDeclaration(detail: "the header comment declares classes but no 'positive:' class; write '# classes: \(classes); positive: NAME'") }
        return try ClassDeclaration(commaSeparatedClasses: classes, positive: positive)
    }

    public func isPositive(_ label: String) -> Bool { label == positive }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
