import Foundation

/// The project's JSON convention, for every file it writes and every JSON it prints: snake_case
/// keys, sorted, pretty-printed, slashes unescaped (paths stay readable); non-finite numbers are
/// an encoding error, never a silent `null`. Reading converts snake_case back.
public enum SonoKitJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .throw
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// `value` encoded by `encoder()`, as text.
    public static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }
}
