/// What a run predicts, recorded in every file a run writes (model card, training config,
/// evaluation and prediction reports, the SR) so that outputs of the two tasks cannot be mixed up.
///
/// - `binary`: one declared *positive* class against all others; the network ends in Dense(1) and
///   a sigmoid, p = σ(z), trained with binary cross-entropy; a threshold on p decides.
/// - `multiclass`: N ≥ 2 mutually exclusive classes; the network ends in Dense(N) and a softmax,
///   p_k = exp(z_k) / Σ_j exp(z_j), trained with categorical cross-entropy; argmax (or per-class
///   thresholds fitted on validation) decides.
///
/// A manifest with a positive class is binary; without one and with more than two classes it is
/// multi-class (see `Manifest.ClassDeclaration`). Files written before the task existed decode as
/// `binary` (`ClassificationTask.decodeRecorded`).
public enum ClassificationTask: String, Codable, CaseIterable, Sendable {
    case binary
    case multiclass

    /// The task recorded under `key` of a keyed container, `binary` when the key is absent (every
    /// file written before multi-class support is binary).
    public static func decodeRecorded<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, forKey key: Key) throws -> ClassificationTask {
        try container.decodeIfPresent(ClassificationTask.self, forKey: key) ?? .binary
    }
}
