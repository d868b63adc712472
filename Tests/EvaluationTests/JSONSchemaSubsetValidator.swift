import Foundation

/// A JSON value, decoded without Foundation's NSNumber ambiguity (true is never 1).
indirect enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    static func parse(_ data: Data) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: data) }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let d): return "\(d)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[\(a.count) items]"
        case .object(let o): return "{\(o.keys.sorted().joined(separator: ", "))}"
        }
    }

    var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }

    /// Applies one RFC 6902 operation (remove, replace, add; add into an array inserts).
    func applying(op: String, path: String, value: JSONValue?) throws -> JSONValue {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            .map { $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~") }
        return try Self.apply(self, parts[...], op, value, path)
    }

    private static func apply(_ node: JSONValue, _ parts: ArraySlice<String>, _ op: String, _ value: JSONValue?, _ path: String) throws -> JSONValue {
        struct PatchError: Error { var path: String }
        guard let key = parts.first else { throw PatchError(path: path) }
        let last = parts.count == 1
        switch node {
        case .object(var o):
            if last {
                switch op {
                case "remove": guard o.removeValue(forKey: key) != nil else { throw PatchError(path: path) }
                case "replace": guard o[key] != nil else { throw PatchError(path: path) }; o[key] = value!
                default: o[key] = value!
                }
            } else {
                guard let child = o[key] else { throw PatchError(path: path) }
                o[key] = try apply(child, parts.dropFirst(), op, value, path)
            }
            return .object(o)
        case .array(var a):
            guard let i = Int(key), i >= 0, i <= a.count else { throw PatchError(path: path) }
            if last {
                switch op {
                case "remove": a.remove(at: i)
                case "replace": a[i] = value!
                default: a.insert(value!, at: i)
                }
            } else {
                a[i] = try apply(a[i], parts.dropFirst(), op, value, path)
            }
            return .array(a)
        default:
            throw PatchError(path: path)
        }
    }
}

/// A validator for the subset of JSON Schema (draft 2020-12) that Schemas/*.schema.json use.
///
/// Why a validator here rather than calling Python from the tests: `swift test` must not need
/// Python, and a test that only compares with a fixture could not check the live encoding. This
/// validator is itself checked against `jsonschema` (Python) on committed cases
/// (Fixtures/schema_cases.json, scripts/fixtures/evaluation/make_schema_fixtures.py), and it
/// refuses a schema that uses any keyword it does not implement, so the schema cannot grow a
/// constraint that silently goes unchecked.
///
/// Implemented: type (incl. "integer" = a number with no fractional part, as in 2020-12),
/// properties, required, additionalProperties (boolean or schema), items, enum, const, minimum,
/// maximum, exclusiveMinimum, exclusiveMaximum, minLength, pattern (unanchored search), minItems,
/// maxItems, oneOf, anyOf, allOf, if/then/else (the errors of the branch taken, at their own
/// paths, as jsonschema reports them), $ref to "#/$defs/<name>". Annotations ($schema, $id, title,
/// description, $comment, $defs, default, examples) are ignored.
struct JSONSchemaSubsetValidator {
    struct UnsupportedKeyword: Error, CustomStringConvertible {
        var keyword: String
        var schemaPath: String
        var description: String { "schema uses '\(keyword)' at \(schemaPath), which the test validator does not implement" }
    }

    static let assertions: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "enum", "const",
                                          "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "pattern",
                                          "minItems", "maxItems", "oneOf", "anyOf", "allOf", "$ref", "if", "then", "else"]
    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$comment", "$defs", "default", "examples"]

    let root: JSONValue

    init(schema: JSONValue) throws {
        root = schema
        try Self.checkKeywords(schema, path: "#")
    }

    private static func checkKeywords(_ schema: JSONValue, path: String) throws {
        if case .bool = schema { return }
        guard let o = schema.objectValue else { throw UnsupportedKeyword(keyword: "non-object schema", schemaPath: path) }
        for (k, v) in o {
            guard assertions.contains(k) || annotations.contains(k) else { throw UnsupportedKeyword(keyword: k, schemaPath: path) }
            switch k {
            case "properties", "$defs":
                for (name, sub) in v.objectValue ?? [:] { try checkKeywords(sub, path: "\(path)/\(k)/\(name)") }
            case "items", "additionalProperties", "if", "then", "else":
                try checkKeywords(v, path: "\(path)/\(k)")
            case "oneOf", "anyOf", "allOf":
                guard case .array(let subs) = v else { throw UnsupportedKeyword(keyword: "\(k) not an array", schemaPath: path) }
                for (i, sub) in subs.enumerated() { try checkKeywords(sub, path: "\(path)/\(k)/\(i)") }
            case "$ref":
                guard case .string(let r) = v, r.hasPrefix("#/$defs/") else { throw UnsupportedKeyword(keyword: "$ref \(v)", schemaPath: path) }
            default: break
            }
        }
    }

    /// The errors of `instance`, each "instance path: what is wrong"; empty when valid.
    func validate(_ instance: JSONValue) -> [String] {
        var errors: [String] = []
        validate(instance, against: root, at: "$", into: &errors)
        return errors
    }

    private func resolve(_ ref: String) -> JSONValue {
        let name = String(ref.dropFirst("#/$defs/".count))
        return root.objectValue?["$defs"]?.objectValue?[name] ?? .bool(false)
    }

    private func validate(_ x: JSONValue, against schema: JSONValue, at path: String, into errors: inout [String]) {
        if case .bool(let b) = schema { if !b { errors.append("\(path): no value is allowed here") }; return }
        guard let s = schema.objectValue else { return }
        func fail(_ message: String) { errors.append("\(path): \(message)") }

        if case .string(let ref)? = s["$ref"] { validate(x, against: resolve(ref), at: path, into: &errors) }
        if let t = s["type"] {
            let types: [String]
            switch t { case .string(let one): types = [one]; case .array(let many): types = many.compactMap { if case .string(let n) = $0 { return n }; return nil }; default: types = [] }
            if !types.contains(where: { Self.has(type: $0, x) }) { fail("\(x) is not of type \(types.joined(separator: "/"))") }
        }
        if case .array(let options)? = s["enum"], !options.contains(where: { Self.equal($0, x) }) { fail("\(x) is not one of the allowed values") }
        if let c = s["const"], !Self.equal(c, x) { fail("\(x) is not \(c)") }
        if case .number(let v) = x {
            if case .number(let m)? = s["minimum"], v < m { fail("\(v) < minimum \(m)") }
            if case .number(let m)? = s["maximum"], v > m { fail("\(v) > maximum \(m)") }
            if case .number(let m)? = s["exclusiveMinimum"], v <= m { fail("\(v) <= exclusive minimum \(m)") }
            if case .number(let m)? = s["exclusiveMaximum"], v >= m { fail("\(v) >= exclusive maximum \(m)") }
        }
        if case .string(let v) = x {
            if case .number(let m)? = s["minLength"], Double(v.unicodeScalars.count) < m { fail("shorter than \(m)") }
            if case .string(let p)? = s["pattern"] {
                let regex = try! NSRegularExpression(pattern: p)
                if regex.firstMatch(in: v, range: NSRange(v.startIndex..., in: v)) == nil { fail("'\(v)' does not match \(p)") }
            }
        }
        if case .array(let items) = x {
            if case .number(let m)? = s["minItems"], Double(items.count) < m { fail("fewer than \(m) items") }
            if case .number(let m)? = s["maxItems"], Double(items.count) > m { fail("more than \(m) items") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() { validate(item, against: itemSchema, at: "\(path)[\(i)]", into: &errors) }
            }
        }
        if case .object(let members) = x {
            if case .array(let required)? = s["required"] {
                for case .string(let name) in required where members[name] == nil { fail("'\(name)' is required") }
            }
            let properties = s["properties"]?.objectValue ?? [:]
            for (name, value) in members {
                if let sub = properties[name] {
                    validate(value, against: sub, at: "\(path).\(name)", into: &errors)
                } else if let extra = s["additionalProperties"] {
                    if case .bool(false) = extra { fail("'\(name)' is not allowed") }
                    else { validate(value, against: extra, at: "\(path).\(name)", into: &errors) }
                }
            }
        }
        func passes(_ sub: JSONValue) -> Bool {
            var e: [String] = []
            validate(x, against: sub, at: path, into: &e)
            return e.isEmpty
        }
        if case .array(let subs)? = s["oneOf"] {
            let n = subs.filter(passes).count
            if n != 1 { fail("valid under \(n) of the oneOf schemas, not exactly one") }
        }
        if case .array(let subs)? = s["anyOf"], !subs.contains(where: passes) { fail("valid under none of the anyOf schemas") }
        if case .array(let subs)? = s["allOf"] { for sub in subs { validate(x, against: sub, at: path, into: &errors) } }
        if let condition = s["if"] {
            if passes(condition) {
                if let then = s["then"] { validate(x, against: then, at: path, into: &errors) }
            } else if let otherwise = s["else"] {
                validate(x, against: otherwise, at: path, into: &errors)
            }
        }
    }

    private static func has(type: String, _ x: JSONValue) -> Bool {
        switch (type, x) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array), ("object", .object): return true
        case ("integer", .number(let v)): return v.rounded() == v && v.isFinite
        default: return false
        }
    }

    /// JSON equality: numbers by value (1 == 1.0), objects by members, arrays in order.
    private static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool { a == b }
}
