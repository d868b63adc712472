import Foundation

/// Validates JSON documents against the project's JSON Schemas (Schemas/) with an independent
/// implementation: the `jsonschema` package of Debian's Python (python3-jsonschema, installed by
/// scripts/setup.sh), so that a schema and the code that writes the documents are never checked
/// by the same hands.
public enum SchemaValidator {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The repository's Schemas/ folder.
    public static var schemasFolder: URL { RepositoryPaths.root.appendingPathComponent("Schemas") }

    /// Throws `Failure` with the validator's message when `document` does not conform to the
    /// schema file `schemaName` (e.g. "inspect.schema.json"), or when the schema itself is invalid.
    public static func validate(_ document: Data, against schemaName: String) throws {
        let schema = schemasFolder.appendingPathComponent(schemaName).path
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        errors = sorted(cls(schema).iter_errors(json.load(sys.stdin)), key=lambda e: list(e.absolute_path))
        for e in errors:
            print("/" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message)
        sys.exit(1 if errors else 0)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, schema]
        let output = try ChildProcess.run(process, input: document, timeout: 120)
        let message = output.stdout + output.stderr
        guard output.status == 0 else {
            throw Failure(description: "\(schemaName): \(message.isEmpty ? "validator exited with \(output.status)" : message)")
        }
    }
}
