/// The names of the per-class probability columns of every multi-class CSV SonoKit writes:
/// `studies.csv` and `frames.csv` of `evaluate` (`MulticlassEvaluationTables`) and
/// `predictions.csv` of `predict`, `predict --merge` and `listen --predict` (`PredictionCSV`).
/// One function, so that a script reading one of these files reads the others by the same names.
///
/// A class's column is `probability_` + its name with every Unicode scalar other than an ASCII
/// letter, digit or `_` replaced by `_`, in the model's class order. A name already given to an
/// earlier class, compared case-insensitively, gets `_2`, `_3`, ... (the first free one): "a b" and
/// "a-b" give `probability_a_b` and `probability_a_b_2`, "Benign" and "benign" give
/// `probability_Benign` and `probability_benign_2`. So every name is a valid, distinct identifier for
/// pandas (`df.probability_a_b`), R (`read.csv` keeps it as is) and SQL (a letter first, no quoting
/// needed, distinct also where identifiers ignore case: SQLite, MySQL, SQL Server, unquoted PostgreSQL).
///
/// Why `probability_`: the binary files call the class probability `probability` (in studies.csv
/// and frames.csv the probability of the positive class, in predictions.csv that of the reported
/// label), and every multi-class file keeps that column (the probability of the decided class);
/// `probability_<class>` reads as "the same quantity, for this class", and the decided class's
/// `probability_<class>` equals `probability`. A second spelling of the same word (`p_`) would make
/// a reader wonder whether it meant something else. No fixed column of these files begins with
/// `probability_`, so a class column never collides with one.
public enum ClassProbabilityColumns {
    public static let prefix = "probability_"

    /// The characters a class name keeps: ASCII letters, digits and `_`.
    static let kept = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_".unicodeScalars)

    /// The column of each class of `classes` (in that order), as the type's comment says.
    public static func names(classes: [String]) -> [String] {
        var taken = Set<String>(), out: [String] = []
        for name in classes {
            let safe = prefix + String(name.unicodeScalars.map { s -> Character in
                Self.kept.contains(s) ? Character(s) : "_"
            })
            var candidate = safe, n = 1
            while taken.contains(candidate.lowercased()) { n += 1; candidate = "\(safe)_\(n)" }
            taken.insert(candidate.lowercased())
            out.append(candidate)
        }
        return out
    }
}
