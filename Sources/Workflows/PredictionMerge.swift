import Catalog
import Foundation
import Reports
import SonoKitCore

/// What a `predict --shard I/N` folder records about itself (`shard.json`, written last: a
/// folder without it did not finish). Study keys are pseudonymous; no identifier is recorded.
public struct PredictionShard: Codable, Equatable, Sendable {
    public static let fileName = "shard.json"

    public var index: Int
    public var count: Int
    public var modelID: String
    public var weightsSHA256: String
    /// Study keys with a report (`<key>.json`), sorted.
    public var reported: [String]
    /// Studies that could not be reported, with their reasons, sorted by key.
    public var failed: [PredictionStudyFailure]
    public var html: Bool
    public var sr: Bool
    public var includeIdentifiers: Bool
    /// Rows of its unreadable-files.csv (only shard 0 lists unreadable files).
    public var unreadableFiles: Int

    /// snake_case on disk (model_id, weights_sha256); the raw values are what the snake_case
    /// conversion maps back to, so that acronyms survive the round trip (as `ModelCard`).
    enum CodingKeys: String, CodingKey {
        case index, count, modelID = "modelId", weightsSHA256 = "weightsSha256", reported, failed, html, sr, includeIdentifiers, unreadableFiles
    }

    /// The shard's folder inside the common output folder.
    public static func folderName(_ shard: Shard) -> String { "shard-\(shard.index)-of-\(shard.count)" }
}

/// A study that a `predict --shard I/N` run could not report (no frame of it could be scored),
/// recorded in the shard's folder as `failed/<study key>.json` when its commit group ends, so that
/// a requeued task keeps it as failed instead of scoring it again: a study whose files cannot be
/// decoded fails the same way every time, and scoring it again only spends the requeue's time
/// (`predict --shard I/N --retry-failed` scores such studies again, for failures that may have
/// been transient, e.g. an I/O error). A record is kept only when it is of this model (model id
/// and weights), this identifier setting (its reasons name files by key unless identifiers were
/// asked for) and exactly the study's current instances; a study reported later loses its record.
/// The records are the shard's own bookkeeping: `predict --merge` does not copy them (the failures
/// are in `shard.json` and predictions.csv). Pseudonymous keys only, as the rest of the folder.
public struct PredictionShardFailure: Codable, Equatable, Sendable {
    /// The folder of the records inside a shard's folder.
    public static let folderName = "failed"

    public var failure: PredictionStudyFailure
    public var modelID: String
    public var weightsSHA256: String
    public var includeIdentifiers: Bool
    /// Keys of the study's instances (sorted) when it failed.
    public var instanceKeys: [String]

    /// snake_case on disk with acronyms intact (as `PredictionShard`).
    enum CodingKeys: String, CodingKey {
        case failure, modelID = "modelId", weightsSHA256 = "weightsSha256", includeIdentifiers, instanceKeys
    }

    /// The record's path relative to the shard's folder.
    public static func relativePath(studyKey: String) -> String { "\(folderName)/\(studyKey).json" }
}

/// `predict --merge OUT SHARD_DIR...`: the folders of the N shards of one `predict` run
/// assembled into OUT, equal file for file to the folder an unsharded run would have written
/// (the reports' `created_at` aside: each run stamps its own time).
///
/// - Checks, each an error naming the folder: every folder finished (`shard.json`), the N shards
///   0..<N all present exactly once, one model (model id and weights hash), one key secret (keys
///   of different secrets are not comparable), no study in two shards.
/// - Per-study files (`<key>.json`, `html/<key>.html`, `html/<key>/`, `sr/<key>.dcm`) are copied
///   (not the shards' failure records, `failed/<key>.json`: see `PredictionShardFailure`);
///   `predictions.csv` is rebuilt from the shards' rows sorted by study key (the order an unsharded
///   run writes), `unreadable-files.csv` is the shards' rows in shard order (shard 0 holds them
///   all), `html/index.html` is rebuilt from the merged reports and failures.
/// - OUT must not hold a previous merge's reports (a study of an old run would survive): a new or
///   empty folder.
public enum PredictionMerge {
    public struct Result: Sendable {
        public var shards: Int
        public var reported: Int
        public var failed: Int
        public var unreadableFiles: Int
        public var files: Int
    }

    /// Files of a shard folder that the merge rebuilds or does not carry over.
    static let rebuilt: Set<String> = [PredictionShard.fileName, "predictions.csv", "unreadable-files.csv",
                                       PredictionKeys.secretFileName, "html/index.html"]

    public static func run(output: String, shardFolders: [String]) throws -> Result {
        guard !shardFolders.isEmpty else { throw WorkflowError.invalidInput("--merge needs the shard folders written by predict --shard") }
        var records: [(folder: String, shard: PredictionShard)] = []
        for folder in shardFolders {
            let file = (folder as NSString).appendingPathComponent(PredictionShard.fileName)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw WorkflowError.failed("\(folder): no \(PredictionShard.fileName): not a folder of predict --shard, or its task did not finish; run that shard again")
            }
            do { records.append((folder, try SonoKitJSON.decoder().decode(PredictionShard.self, from: data))) } catch {
                throw WorkflowError.failed("\(file): unreadable (\(error)); run that shard again")
            }
        }
        let count = records[0].shard.count
        for r in records where r.shard.count != count {
            throw WorkflowError.failed("\(r.folder) is shard \(r.shard.index)/\(r.shard.count) but \(records[0].folder) is of \(count) shards: shards of different runs")
        }
        var byIndex: [Int: String] = [:]
        for r in records {
            if let other = byIndex[r.shard.index] {
                throw WorkflowError.failed("\(r.folder) and \(other) are both shard \(r.shard.index)/\(count)")
            }
            byIndex[r.shard.index] = r.folder
        }
        let missing = (0..<count).filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            throw WorkflowError.failed("shard(s) \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) missing: give all \(count) folders (\(PredictionShard.folderName(Shard(index: missing[0], count: count))), ...)")
        }
        records.sort { $0.shard.index < $1.shard.index }
        let first = records[0]
        for r in records where r.shard.modelID != first.shard.modelID || r.shard.weightsSHA256 != first.shard.weightsSHA256
            || r.shard.html != first.shard.html || r.shard.sr != first.shard.sr || r.shard.includeIdentifiers != first.shard.includeIdentifiers {
            throw WorkflowError.failed("\(r.folder) and \(first.folder) were written by different predict runs (model or --html/--sr/--include-identifiers differ)")
        }
        let secrets = try records.map { r -> Data in
            let path = (r.folder as NSString).appendingPathComponent(PredictionKeys.secretFileName)
            guard let data = FileManager.default.contents(atPath: path) else { throw WorkflowError.failed("\(path): missing; the folder's keys cannot be checked") }
            return data
        }
        for (r, secret) in zip(records, secrets) where secret != secrets[0] {
            throw WorkflowError.failed("\(r.folder) was keyed with another secret than \(first.folder): its study keys are not comparable (shards must share one -o folder)")
        }
        var owner: [String: String] = [:]
        for r in records {
            for key in r.shard.reported + r.shard.failed.map(\.studyKey) {
                if let other = owner[key] { throw WorkflowError.failed("study \(key) is in both \(other) and \(r.folder)") }
                owner[key] = r.folder
            }
        }

        // OUT: new or empty (apart from a key secret equal to the shards').
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: output), existing.contains(where: { $0 != PredictionKeys.secretFileName }) {
            throw WorkflowError.failed("\(output) is not empty: merge into a new folder")
        }
        if first.shard.includeIdentifiers { try OwnerOnly.createFolder(output) } else { try fm.createDirectory(atPath: output, withIntermediateDirectories: true) }
        defer { if first.shard.includeIdentifiers { try? OwnerOnly.restrict(output, recursive: true) } }
        let secretPath = (output as NSString).appendingPathComponent(PredictionKeys.secretFileName)
        guard try AtomicFile.createOnce(secrets[0], at: secretPath, permissions: 0o600) == secrets[0] else {
            throw WorkflowError.failed("\(secretPath) holds another secret than the shards': merge into a new folder")
        }

        var files = 0
        var rows: [(key: String, record: String)] = []
        var unreadableRows: [String] = []
        var reports: [PredictionReport] = []
        var header: String?
        for r in records {
            // Hidden files (a killed writer's temporary file, the secret) are not outputs, nor
            // the shard's failure records (its own bookkeeping for a requeue).
            for relative in try regularFiles(under: r.folder) where !rebuilt.contains(relative)
                && !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") })
                && !relative.hasPrefix(PredictionShardFailure.folderName + "/") {
                let data = try Data(contentsOf: URL(fileURLWithPath: (r.folder as NSString).appendingPathComponent(relative)))
                let target = (output as NSString).appendingPathComponent(relative)
                guard !fm.fileExists(atPath: target) else { throw WorkflowError.failed("\(r.folder)/\(relative): another shard wrote it too") }
                try PredictionFiles.write(data, to: target)
                files += 1
            }
            let csv = try text(of: r.folder, "predictions.csv")
            let records = csvRecords(csv)
            // predict's header: the binary columns, or (multi-class) those followed by task,
            // predicted_class and one probability_<class> column per class; the same in every shard.
            let binaryHeader = PredictionCSV.columns.joined(separator: ",")
            guard let first = records.first, first == binaryHeader || first.hasPrefix(binaryHeader + ",task,predicted_class,") else {
                throw WorkflowError.failed("\(r.folder)/predictions.csv: its header is not predict's (\(PredictionCSV.columns.count) columns)")
            }
            if let header, header != first {
                throw WorkflowError.failed("\(r.folder)/predictions.csv: its columns differ from the other shards' (another model's classes?)")
            }
            header = first
            rows += records.dropFirst().map { (String($0.prefix { $0 != "," }), $0) }
            unreadableRows += csvRecords(try text(of: r.folder, "unreadable-files.csv")).dropFirst()
            if r.shard.html {
                for key in r.shard.reported {
                    let data = try Data(contentsOf: URL(fileURLWithPath: (r.folder as NSString).appendingPathComponent("\(key).json")))
                    do { reports.append(try reportDecoder().decode(PredictionReport.self, from: data)) } catch {
                        throw WorkflowError.failed("\(r.folder)/\(key).json: not a prediction report (\(error)); run that shard again")
                    }
                }
            }
        }
        let studies = records.reduce(0) { $0 + $1.shard.reported.count + $1.shard.failed.count }
        guard rows.count == studies else {
            throw WorkflowError.failed("the shards' predictions.csv hold \(rows.count) rows for \(studies) studies: a shard folder was changed after it finished")
        }
        let csv = ([header ?? PredictionCSV.columns.joined(separator: ",")] + rows.sorted { $0.key < $1.key }.map(\.record)).map { $0 + "\n" }.joined()
        try PredictionFiles.write(csv, to: (output as NSString).appendingPathComponent("predictions.csv"))
        try PredictionFiles.write((["file_key,reason"] + unreadableRows).map { $0 + "\n" }.joined(),
                                  to: (output as NSString).appendingPathComponent("unreadable-files.csv"))
        let failed = records.flatMap(\.shard.failed)
        if first.shard.html {
            _ = try PredictionHTML.writeIndex(reports: reports, failed: failed.sorted { $0.studyKey < $1.studyKey }, outputFolder: output)
        }
        return Result(shards: count, reported: records.reduce(0) { $0 + $1.shard.reported.count }, failed: failed.count,
                      unreadableFiles: unreadableRows.count, files: files)
    }

    /// Reads the reports' snake_case keys back into their properties, acronyms included
    /// (`model_id` -> modelID, `sop_instance_uid` -> sopInstanceUID, `weights_sha256` ->
    /// weightsSHA256), which Foundation's `.convertFromSnakeCase` maps to modelId and misses.
    static func reportDecoder() -> JSONDecoder {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int?
            init(stringValue: String) { self.stringValue = stringValue }
            init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in
            let last = path[path.count - 1]
            if let i = last.intValue { return Key(intValue: i) }
            let parts = last.stringValue.split(separator: "_")
            var name = String(parts.first ?? "")
            for part in parts.dropFirst() {
                switch part {
                case "id": name += "ID"
                case "uid": name += "UID"
                case "sha256": name += "SHA256"
                default: name += part.prefix(1).uppercased() + part.dropFirst()
                }
            }
            return Key(stringValue: name)
        }
        return decoder
    }

    static func text(of folder: String, _ name: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: path) else { throw WorkflowError.failed("\(path): missing; run that shard again") }
        return String(decoding: data, as: UTF8.self)
    }

    /// The records of CSV text, each as written (quotes kept): split at line feeds outside
    /// RFC 4180 quotes, so a quoted reason with a line break stays one record.
    static func csvRecords(_ text: String) -> [String] {
        var records: [String] = [], current = "", quoted = false
        for c in text {
            if c == "\"" { quoted.toggle() }
            if c == "\n", !quoted { records.append(current); current = "" } else { current.append(c) }
        }
        if !current.isEmpty { records.append(current) }
        return records
    }

    /// Paths (relative, sorted) of the regular files under `folder`.
    static func regularFiles(under folder: String) throws -> [String] {
        guard let e = FileManager.default.enumerator(atPath: folder) else { throw WorkflowError.failed("\(folder): not a folder") }
        var out: [String] = []
        while let relative = e.nextObject() as? String {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(relative), isDirectory: &isFolder), !isFolder.boolValue {
                out.append(relative)
            }
        }
        return out.sorted()
    }
}
