import GRDB

/// Batched lookups for manifest validation: one query per 500 keys instead of one per manifest
/// row (a 10 000-row manifest otherwise pays 10 000 statement compilations and transactions).
extension Catalog {
    /// The column a batch lookup matches.
    public enum InstanceKey: Hashable, Sendable {
        case path, sopUID, seriesUID, studyUID, accession

        var column: String {
            switch self {
            case .path: return "i.path"
            case .sopUID: return "i.sop_instance_uid"
            case .seriesUID: return "i.series_instance_uid"
            case .studyUID: return "s.study_instance_uid"
            case .accession: return "st.accession_number"
            }
        }
    }

    /// The instances whose `key` equals one of `values`, grouped by that value (values with no
    /// instance are absent), each group in the order of the single lookups (study, series, instance
    /// number, path). Paths must already be absolute and standardized (`Catalog.standardize`).
    public func instances(matching key: InstanceKey, in values: [String]) throws -> [String: [CatalogInstance]] {
        var result: [String: [CatalogInstance]] = [:]
        let unique = Array(Set(values))
        try database.read { db in
            for start in stride(from: 0, to: unique.count, by: 500) {
                let chunk = Array(unique[start..<min(start + 500, unique.count)])
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: """
                    SELECT \(key.column) AS lookup_key, \(Self.instanceColumns) \(Self.instanceJoins)
                    WHERE \(key.column) IN (\(placeholders)) \(Self.instanceOrder)
                    """, arguments: StatementArguments(chunk))
                for row in rows {
                    let value: String = row["lookup_key"]
                    result[value, default: []].append(CatalogInstance(row: row))
                }
            }
        }
        return result
    }
}
