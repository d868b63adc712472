import CNN
import DICOM
import Foundation
import Imaging
import SonoKitCore
import SonoKitTestSupport
import Training
import XCTest

/// Crash safety proven at every commit point, not at a sampled moment: `SONOKIT_CRASH_AT=N`
/// (SonoKitCore's `CrashPoint`) makes the real `sonokit` kill itself with SIGKILL just before its
/// Nth durable step (a rename of `AtomicFile`, a catalog commit). Each test runs a command with
/// N = 1, 2, ... until a run finishes without being killed, so every state a crash can leave is
/// visited once; after each kill it checks what the user would then see or do.
final class KillPointTests: XCTestCase {
    /// What one run with a crash point did.
    struct KilledRun {
        let killed: Bool
        let status: Int32
        let stderr: String
    }

    /// `sonokit arguments...` with `SONOKIT_CRASH_AT=point` (nil: unset).
    static func run(_ arguments: [String], crashAt point: Int?) throws -> KilledRun {
        let process = Process()
        process.executableURL = SonoKitCommand.executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment[CrashPoint.variable] = point.map(String.init)
        process.environment = environment
        let output = try ChildProcess.run(process)
        let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        if killed, let point {
            XCTAssertTrue(output.stderr.contains("sonokit: crash point \(point) ("), "a kill that is not the crash point's: \(output.stderr)")
        }
        return KilledRun(killed: killed, status: process.terminationStatus, stderr: output.stderr)
    }

    /// Runs `arguments` killed at N = 1, 2, ... until one run completes; `afterKill(N)` checks
    /// the state each kill left, `label(N, label)` receives what point N was (the file name
    /// `AtomicFile` was about to rename into place, or the catalog commit). Returns the number of
    /// commit points the command passed.
    static func everyPoint(_ arguments: (Int) -> [String], label: ((Int, String) -> Void)? = nil,
                           afterKill: (Int) throws -> Void) throws -> Int {
        var point = 1
        while true {
            let r = try run(arguments(point), crashAt: point)
            guard r.killed else {
                XCTAssertEqual(r.status, 0, "the run armed at point \(point) neither died there nor succeeded: \(r.stderr)")
                return point - 1
            }
            if let label, let named = Self.label(of: point, in: r.stderr) { label(point, named) }
            try afterKill(point)
            point += 1
            if point > 1_000 { XCTFail("more than 1,000 commit points; is the crash point counted twice?"); return point }
        }
    }

    /// The label of `sonokit: crash point N (label)` in a killed run's stderr.
    static func label(of point: Int, in stderr: String) -> String? {
        let prefix = "sonokit: crash point \(point) ("
        guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }), line.hasSuffix(")") else { return nil }
        return String(line.dropFirst(prefix.count).dropLast())
    }

    /// The hidden files under `folder` that are not AtomicFile temporaries (a writer whose
    /// leftovers `StaleTemporaries` would never recognise, such as Foundation's `.dat.nosync*`).
    static func foreignHiddenFiles(in folder: URL) -> [String] {
        (FileManager.default.subpaths(atPath: folder.path) ?? []).filter {
            let name = ($0 as NSString).lastPathComponent
            return name.hasPrefix(".") && StaleTemporaries.writer(ofTemporary: name) == nil
        }.sorted()
    }

    // MARK: - ingest

    /// Every table of a catalog, one line per row, sorted. The pseudonymous keys are HMACs with the
    /// catalog's random secret, so they are replaced by what they stand for (a study by its UID, a
    /// patient by the UIDs of its studies) and the secret by its length; everything else is compared as stored.
    static func dump(catalog: String) throws -> [String] {
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            patients = {k: 'patient of ' + u for k, u in db.execute(
                "SELECT patient_key, group_concat(study_instance_uid, ' ') FROM "
                "(SELECT patient_key, study_instance_uid FROM studies ORDER BY study_instance_uid) GROUP BY patient_key")}
            studies = {k: 'study ' + u for k, u in db.execute("SELECT study_key, study_instance_uid FROM studies")}
            lines = []
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
                cursor = db.execute('SELECT * FROM "%s"' % table)
                columns = [d[0] for d in cursor.description]
                for row in cursor:
                    d = dict(zip(columns, row))
                    if table == 'meta' and d['key'] == 'secret': d['value'] = 'a secret of %d bytes' % len(d['value'])
                    if 'patient_key' in d: d['patient_key'] = patients.get(d['patient_key'], 'a patient without studies')
                    if 'study_key' in d: d['study_key'] = studies[d['study_key']]
                    lines.append(table + ' ' + repr(sorted(d.items())))
            print('\\n'.join(sorted(lines)))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, catalog]
        let output = try ChildProcess.run(process)
        guard output.status == 0 else { throw EvaluateCommandTests.CommandError(message: "dump of \(catalog): \(output.stderr)") }
        return output.stdout.split(separator: "\n").map(String.init)
    }

    /// `ingest` of SampleStudies in batches of 8 files, killed before each commit (the schema
    /// migrations, the secret, every batch): running `ingest` again ends with a catalog equal row for
    /// row to an uninterrupted ingest.
    func testIngestKilledAtEveryCommitThenRerunEqualsTheUninterruptedCatalog() throws {
        let work = try Self.workFolder("ingest")
        defer { try? FileManager.default.removeItem(at: work) }
        func ingest(_ catalog: String) -> [String] {
            ["ingest", RepositoryPaths.sampleStudies.path, "--catalog", catalog, "--batch-size", "8", "--jobs", "2"]
        }
        let reference = work.appendingPathComponent("reference.sqlite").path
        XCTAssertEqual(try Self.run(ingest(reference), crashAt: nil).status, 0)
        let expected = try Self.dump(catalog: reference)
        XCTAssertGreaterThan(expected.count, 100)
        let batches = (try FileManager.default.subpathsOfDirectory(atPath: RepositoryPaths.sampleStudies.path).filter {
            var isFolder: ObjCBool = false
            FileManager.default.fileExists(atPath: RepositoryPaths.sampleStudies.appendingPathComponent($0).path, isDirectory: &isFolder)
            return !isFolder.boolValue
        }.count + 7) / 8

        let points = try Self.everyPoint({ ingest(work.appendingPathComponent("killed-\($0).sqlite").path) }) { point in
            let catalog = work.appendingPathComponent("killed-\(point).sqlite").path
            let rerun = try Self.run(ingest(catalog), crashAt: nil)
            XCTAssertEqual(rerun.status, 0, "ingest after a kill at point \(point): \(rerun.stderr)")
            let got = try Self.dump(catalog: catalog)
            XCTAssertTrue(got == expected, "the catalog after a kill at point \(point) and a rerun differs from the uninterrupted one: "
                          + "\(Set(got).symmetricDifference(expected).sorted().prefix(3))")
        }
        // The migrations and the secret, then one commit per batch.
        XCTAssertGreaterThanOrEqual(points, batches + 1)
        print("ingest: killed and resumed at each of \(points) commit points")
    }

    // MARK: - train

    /// `train` (small network, 32x32, 2 epochs, a checkpoint every 2 batches) killed before each
    /// write of its run folder (input copies, config, every checkpoint file, history, best weights,
    /// model card): `train --resume` (or the same command, when the kill came before config.json)
    /// ends with the uninterrupted run's weights, bit for bit, and the same history.
    func testTrainKilledAtEveryWriteThenResumeEqualsTheUninterruptedWeights() throws {
        let p = try TrainCommandFixture.prepared.get()
        let work = try Self.workFolder("train")
        defer { try? FileManager.default.removeItem(at: work) }
        // The frame cache is shared and filled by the reference run, so the points counted are the run folder's writes.
        let common = ["train", p.labels, "--catalog", p.catalogPath, "--classes", "benign,malignant", "--positive", "malignant",
                      "--no-pixel-check", "--splits", p.splitsPath, "--model", "small", "--size", "32", "--frames", "uniform:2",
                      "--normalize", "unit", "--epochs", "2", "--batch", "16", "--checkpoint-every", "2", "--head-units", "16",
                      "--augment", "flip,speckle", "--seed", "11", "--frame-cache", work.appendingPathComponent("frames").path]
        let reference = work.appendingPathComponent("reference")
        let done = try Self.run(common + ["-o", reference.path], crashAt: nil)
        XCTAssertEqual(done.status, 0, done.stderr)
        let weights = ["checkpoints/last.safetensors", "checkpoints/best.safetensors"]

        var leftTemporaries = 0
        var labels: [String] = []
        let points = try Self.everyPoint({ common + ["-o", work.appendingPathComponent("killed-\($0)").path] }, label: { labels.append($1) }) { point in
            let killed = work.appendingPathComponent("killed-\(point)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: RunDirectory(killed.path).modelCard.path), "point \(point)")
            if !Self.temporaries(in: killed).isEmpty { leftTemporaries += 1 }
            XCTAssertEqual(Self.foreignHiddenFiles(in: killed), [], "a kill at point \(point) left temporaries StaleTemporaries cannot recognise")
            let started = FileManager.default.fileExists(atPath: RunDirectory(killed.path).config.path)
            let resumed = try Self.run(common + (started ? ["--resume", killed.path] : ["-o", killed.path]), crashAt: nil)
            XCTAssertEqual(resumed.status, 0, "resume after a kill at point \(point): \(resumed.stderr)")
            for name in weights {
                XCTAssertEqual(try Data(contentsOf: reference.appendingPathComponent(name)), try Data(contentsOf: killed.appendingPathComponent(name)),
                               "\(name) after a kill at point \(point)")
            }
            try Self.assertSameCheckpointState(reference, killed, after: "a kill at point \(point)")
            XCTAssertEqual(try Self.historyWithoutTimes(reference), try Self.historyWithoutTimes(killed), "history.csv after a kill at point \(point)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: RunDirectory(killed.path).modelCard.path), "point \(point)")
            XCTAssertEqual(Self.temporaries(in: killed), [], "the killed run's temporary files are removed by the resumed one (point \(point))")
            try? FileManager.default.removeItem(at: killed)
        }
        // Input copies and config (3), then per checkpoint 4 renames, per epoch history and best
        // weights, at the end best weights and the model card: far more than 10.
        XCTAssertGreaterThan(points, 10)
        // Each kill comes just before a rename, so (nearly) every point leaves the renamed file's temporary.
        XCTAssertGreaterThan(leftTemporaries, points / 2, "kills left temporaries at \(leftTemporaries) of \(points) points")
        // Every file of the run folder becomes visible at a crash point of its own (AtomicFile's
        // rename), the weights and their sidecars included, and never a temporary renamed twice.
        for name in ["manifest.csv", "splits.csv", "config.json", "last.state.safetensors", "last.safetensors.json", "last.safetensors",
                     "last.state.json", "history.csv", "best.safetensors.json", "best.safetensors", "model-card.json"] {
            XCTAssertTrue(labels.contains(name), "no crash point before \(name) is renamed into place: \(Set(labels).sorted())")
        }
        XCTAssertEqual(labels.filter { $0.hasPrefix(".") }, [], "a temporary renamed into another temporary")
        // Resuming with another seed is refused, naming it.
        let refused = try Self.run(common.map { $0 == "11" ? "12" : $0 } + ["--resume", reference.path], crashAt: nil)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("seed"), refused.stderr)
        print("train: killed and resumed at each of \(points) write points")
    }

    /// The last checkpoint's tensors (model and optimiser) equal bit for bit, and its training state
    /// equal but for wall-clock times (`epochSeconds`, each history row's `seconds`).
    static func assertSameCheckpointState(_ a: URL, _ b: URL, after what: String) throws {
        let (ta, ma) = try SafeTensors.read(RunDirectory(a.path).lastOptimizer)
        let (tb, mb) = try SafeTensors.read(RunDirectory(b.path).lastOptimizer)
        XCTAssertEqual(ta.keys.sorted(), tb.keys.sorted(), "checkpoint tensors after \(what)")
        for (name, x) in ta {
            guard let y = tb[name] else { continue }
            XCTAssertTrue(x.shape == y.shape && x.scalars.map(\.bitPattern) == y.scalars.map(\.bitPattern),
                          "checkpoint tensor \(name) after \(what)")
        }
        func withoutTimes(_ json: String?) throws -> NSDictionary {
            func strip(_ value: Any) -> Any {
                if let d = value as? [String: Any] {
                    return d.filter { $0.key != "epochSeconds" && $0.key != "seconds" }.mapValues(strip)
                }
                if let a = value as? [Any] { return a.map(strip) }
                return value
            }
            let object = try JSONSerialization.jsonObject(with: Data((json ?? "").utf8))
            return strip(object) as? NSDictionary ?? [:]
        }
        XCTAssertEqual(try withoutTimes(ma["state"]), try withoutTimes(mb["state"]), "checkpoint state after \(what)")
        XCTAssertGreaterThan(try withoutTimes(ma["state"]).count, 3)
    }

    /// history.csv without its last column (seconds, wall-clock time).
    static func historyWithoutTimes(_ run: URL) throws -> [String] {
        try String(contentsOf: RunDirectory(run.path).history, encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") }
    }

    // MARK: - evaluate and predict

    /// `evaluate` and `predict --html --sr` killed before each file they write: every file then
    /// visible parses (JSON, CSV, HTML, SVG, PNG, DICOM); only hidden temporary files may be partial.
    func testEvaluateAndPredictKilledAtEveryWriteLeaveOnlyCompleteFiles() throws {
        let p = try TrainCommandFixture.prepared.get()
        let work = try Self.workFolder("outputs")
        defer { try? FileManager.default.removeItem(at: work) }
        let run = work.appendingPathComponent("run")
        let trained = try Self.run(["train", p.labels, "--catalog", p.catalogPath, "--classes", "benign,malignant", "--positive", "malignant",
                                    "--no-pixel-check", "--splits", p.splitsPath, "--model", "small", "--size", "32", "--frames", "uniform:2",
                                    "--normalize", "unit", "--epochs", "1", "--seed", "3", "-o", run.path], crashAt: nil)
        XCTAssertEqual(trained.status, 0, trained.stderr)

        let evaluate = { (point: Int) in
            ["evaluate", run.path, "--split", "test", "--catalog", p.catalogPath, "--bootstrap", "50", "--no-pixel-check",
             "-o", work.appendingPathComponent("eval-\(point)").path]
        }
        let evaluatePoints = try Self.everyPoint(evaluate) { point in
            try Self.assertEveryVisibleFileParses(in: work.appendingPathComponent("eval-\(point)"), after: "evaluate killed at point \(point)")
        }
        XCTAssertGreaterThan(evaluatePoints, 3)

        // One patient, two studies, four instances: a study JSON, HTML, pictures and SR each, and the CSVs.
        let study = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P4C821C").path
        let predict = { (point: Int) in ["predict", run.path, study, "-o", work.appendingPathComponent("predict-\(point)").path, "--html", "--sr"] }
        let predictPoints = try Self.everyPoint(predict) { point in
            try Self.assertEveryVisibleFileParses(in: work.appendingPathComponent("predict-\(point)"), after: "predict killed at point \(point)")
        }
        XCTAssertGreaterThan(predictPoints, 3)
        // The uninterrupted runs' folders pass the same check (and so the check does read them).
        try Self.assertEveryVisibleFileParses(in: work.appendingPathComponent("eval-\(evaluatePoints + 1)"), after: "evaluate")
        try Self.assertEveryVisibleFileParses(in: work.appendingPathComponent("predict-\(predictPoints + 1)"), after: "predict")
        print("evaluate: \(evaluatePoints) write points; predict: \(predictPoints) write points; every visible file complete after each kill")
    }

    /// `predict --shard 0/2` killed before each file it writes (the shard's secret copy, the
    /// unreadable-files list, each study's report, predictions.csv, shard.json), then run again
    /// (a requeued Slurm task): the rerun keeps the reports committed before the kill, scores
    /// only the other studies (its printed counts), and the folder ends equal file for file to an
    /// uninterrupted run's (report creation times aside).
    func testPredictShardKilledAtEveryWriteResumesOnlyTheMissingStudies() throws {
        let p = try TrainCommandFixture.prepared.get()
        let work = try Self.workFolder("predict-resume")
        defer { try? FileManager.default.removeItem(at: work) }
        let run = work.appendingPathComponent("run")
        let trained = try Self.run(["train", p.labels, "--catalog", p.catalogPath, "--classes", "benign,malignant", "--positive", "malignant",
                                    "--no-pixel-check", "--splits", p.splitsPath, "--model", "small", "--size", "32", "--frames", "uniform:2",
                                    "--normalize", "unit", "--epochs", "1", "--seed", "3", "-o", run.path], crashAt: nil)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        func predict(_ output: URL) -> [String] { ["predict", run.path, p.catalogPath, "-o", output.path, "--shard", "0/2"] }
        let reference = work.appendingPathComponent("reference")
        let done = try SonoKitCommand.run(predict(reference))
        XCTAssertEqual(done.status, 0, done.stderr)
        let shard = "shard-0-of-2"
        let expected = try PredictShardFiles.files(under: reference.appendingPathComponent(shard).path)
        let studies = expected.keys.filter { $0.hasSuffix(".json") && $0 != "shard.json" }.count
        XCTAssertGreaterThanOrEqual(studies, 3)
        let allFrames = try XCTUnwrap(Self.framesScored(done.stdout))
        // Frames per study, from the reference reports (what a rerun must score for the studies it lacks).
        var framesOf: [String: Int] = [:]
        for (name, data) in expected where name.hasSuffix(".json") && name != "shard.json" {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            framesOf[name] = (object["frames"] as? [Any])?.count
        }
        XCTAssertEqual(framesOf.values.reduce(0, +), allFrames)

        var keptSome = false
        let points = try Self.everyPoint({ point in
            let output = work.appendingPathComponent("killed-\(point)")
            // The reference's secret, so that keys (and so file names and reports) can be compared.
            try? FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try? FileManager.default.copyItem(at: reference.appendingPathComponent(".sonokit-key-secret"), to: output.appendingPathComponent(".sonokit-key-secret"))
            return predict(output)
        }) { point in
            let output = work.appendingPathComponent("killed-\(point)")
            let folder = output.appendingPathComponent(shard)
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("shard.json").path), "point \(point)")
            let committed = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            let rerun = try SonoKitCommand.run(predict(output))
            XCTAssertEqual(rerun.status, 0, "predict after a kill at point \(point): \(rerun.stderr)")
            let scored = try XCTUnwrap(Self.framesScored(rerun.stdout), rerun.stdout)
            XCTAssertEqual(scored, allFrames - committed.reduce(0) { $0 + (framesOf[$1] ?? 0) },
                           "after a kill at point \(point) with \(committed.count) reports committed the rerun scored \(scored) frames: \(rerun.stdout)")
            if !committed.isEmpty {
                keptSome = true
                XCTAssertTrue(rerun.stdout.contains("resumed: \(committed.count) studies kept from an earlier run of this shard"), "point \(point): \(rerun.stdout)")
            }
            let got = try PredictShardFiles.files(under: folder.path)
            XCTAssertEqual(Set(got.keys), Set(expected.keys), "point \(point)")
            for (name, data) in expected { XCTAssertEqual(got[name], data, "\(name) after a kill at point \(point) and a rerun") }
            XCTAssertEqual(Self.temporaries(in: output), [], "the killed run's temporary files are removed by the rerun (point \(point))")
            try? FileManager.default.removeItem(at: output)
        }
        XCTAssertTrue(keptSome, "no kill left a committed report: the test saw no resume")
        XCTAssertGreaterThanOrEqual(points, studies + 3)
        print("predict --shard: killed and resumed at each of \(points) write points")
    }

    // MARK: - preview

    /// `preview` killed before each file it writes (every PNG, each study's contact sheet and
    /// preview.json): every PNG is a crash point (written through AtomicFile, not Foundation's
    /// `.atomic`), every visible file then parses, every hidden file is an AtomicFile temporary,
    /// and a rerun into the same folder removes them and ends equal, file for file, to an
    /// uninterrupted preview.
    func testPreviewKilledAtEveryWriteLeavesRecognisedTemporariesThatARerunRemoves() throws {
        let work = try Self.workFolder("preview")
        defer { try? FileManager.default.removeItem(at: work) }
        let study = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P4C821C").path
        let preview = { (output: URL) in ["preview", study, "-o", output.path, "--frames", "uniform:2", "--size", "32"] }
        let reference = work.appendingPathComponent("reference")
        XCTAssertEqual(try Self.run(preview(reference), crashAt: nil).status, 0)
        let expected = try PredictShardFiles.files(under: reference.path)
        XCTAssertGreaterThan(expected.keys.filter { $0.hasSuffix(".png") }.count, 4)

        var labels: [String] = []
        var leftTemporaries = 0
        let points = try Self.everyPoint({ preview(work.appendingPathComponent("killed-\($0)")) }, label: { labels.append($1) }) { point in
            let killed = work.appendingPathComponent("killed-\(point)")
            try Self.assertEveryVisibleFileParses(in: killed, after: "preview killed at point \(point)")
            XCTAssertEqual(Self.foreignHiddenFiles(in: killed), [], "point \(point)")
            if !Self.temporaries(in: killed).isEmpty { leftTemporaries += 1 }
            let rerun = try Self.run(preview(killed), crashAt: nil)
            XCTAssertEqual(rerun.status, 0, "preview after a kill at point \(point): \(rerun.stderr)")
            XCTAssertEqual(Self.temporaries(in: killed), [], "the killed preview's temporaries are removed by the rerun (point \(point))")
            XCTAssertEqual(try PredictShardFiles.files(under: killed.path), expected, "point \(point)")
            try? FileManager.default.removeItem(at: killed)
        }
        XCTAssertEqual(points, expected.count, "one crash point per file written")
        XCTAssertEqual(leftTemporaries, points, "every kill (just before a rename) leaves that file's temporary")
        XCTAssertTrue(labels.contains { $0.hasSuffix("-source.png") } && labels.contains { $0.hasSuffix("-input.png") }
                      && labels.contains("contact-sheet.png") && labels.contains("preview.json"), "\(labels)")
        print("preview: killed and rerun at each of \(points) write points")
    }

    /// The AtomicFile temporaries (see `StaleTemporaries`) anywhere under `folder`, relative paths.
    static func temporaries(in folder: URL) -> [String] {
        (FileManager.default.subpaths(atPath: folder.path) ?? [])
            .filter { StaleTemporaries.writer(ofTemporary: ($0 as NSString).lastPathComponent) != nil }.sorted()
    }

    /// N of `predict: ... N frames in ...` (frames scored by that run).
    static func framesScored(_ stdout: String) -> Int? {
        guard let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("predict: ") && $0.contains(" frames in ") }),
              let range = line.range(of: #"; (\d+) frames in"#, options: .regularExpression) else { return nil }
        return Int(line[range].dropFirst(2).prefix { $0.isNumber })
    }

    /// Every non-hidden file under `folder` is complete: JSON parses, CSV and HTML/SVG end where
    /// their format ends, PNG and DICOM files decode. A file of another kind fails the test (so a
    /// new output cannot escape the check).
    static func assertEveryVisibleFileParses(in folder: URL, after what: String) throws {
        guard let names = FileManager.default.enumerator(atPath: folder.path) else { return }
        for case let name as String in names {
            let url = folder.appendingPathComponent(name)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue,
                  !url.lastPathComponent.hasPrefix(".") else { continue }
            let data = try Data(contentsOf: url)
            let text = String(decoding: data, as: UTF8.self)
            switch url.pathExtension {
            case "json":
                XCTAssertNoThrow(try JSONSerialization.jsonObject(with: data), "\(name) after \(what)")
            case "csv":
                XCTAssertTrue(text.hasSuffix("\n") && text.split(separator: "\n").count >= 1, "\(name) after \(what)")
            case "html":
                XCTAssertTrue(text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("</html>"), "\(name) after \(what)")
            case "svg":
                XCTAssertTrue(text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("</svg>"), "\(name) after \(what)")
            case "png":
                XCTAssertNoThrow(try PNGFile.read(url.path), "\(name) after \(what)")
            case "dcm":
                XCTAssertNoThrow(try DicomFile(path: url.path), "\(name) after \(what)")
            default:
                XCTFail("\(name) after \(what): a file this test does not know how to check")
            }
        }
    }

    static func workFolder(_ name: String) throws -> URL {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-killpoints-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        return work
    }
}

/// The files of a prediction folder by relative path, reports' `created_at` (each run's own
/// time) blanked, everything else byte for byte; a killed writer's hidden `.tmp` files (which
/// no reader takes for an output) left out.
enum PredictShardFiles {
    static func files(under folder: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        guard let e = FileManager.default.enumerator(atPath: folder) else { return out }
        while let relative = e.nextObject() as? String {
            var isFolder: ObjCBool = false
            let path = (folder as NSString).appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix("."), name.hasSuffix(".tmp") { continue }
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            if relative.hasSuffix(".json") {
                let text = String(decoding: data, as: UTF8.self)
                data = Data(text.replacingOccurrences(of: #""created_at" : "[^"]*""#, with: #""created_at" : """#, options: .regularExpression).utf8)
            }
            out[relative] = data
        }
        return out
    }
}
