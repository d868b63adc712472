import Catalog
import Foundation
import Reports
import SonoKitTestSupport
import Workflows
import XCTest

/// `predict --shard I/N` and `predict --merge`: the shards of a run assembled into one folder
/// equal to an unsharded run's, file for file.
final class PredictShardTests: XCTestCase {
    /// The files under `folder` by relative path; JSON reports with their `created_at` (each run's
    /// own time) blanked, everything else byte for byte.
    static func files(under folder: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = try XCTUnwrap(FileManager.default.enumerator(atPath: folder))
        while let relative = e.nextObject() as? String {
            var isFolder: ObjCBool = false
            let path = (folder as NSString).appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            if relative.hasSuffix(".json") {
                let text = String(decoding: data, as: UTF8.self)
                data = Data(text.replacingOccurrences(of: #""created_at" : "[^"]*""#, with: #""created_at" : """#, options: .regularExpression).utf8)
            }
            out[relative] = data
        }
        return out
    }

    // MARK: 3 shards + merge = 1 unsharded run, file for file (reports, predictions.csv, HTML)
    // Guards: a study in no shard or in two, rows of predictions.csv out of the unsharded order,
    // shards keyed with different secrets (instance keys would differ), a lost index page.
    func testShardsMergeIntoTheUnshardedFolder() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("predict-shards-\(UUID().uuidString)").path
        let parts = work + "/parts"
        var perShard: [Int] = []
        for i in 0..<3 {
            var options = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: parts)
            options.shard = Shard(index: i, count: 3)
            options.html = true
            let result = try PredictWorkflow(options).run()
            perShard.append(result.reports.count + result.failed.count)
            XCTAssertTrue(FileManager.default.fileExists(atPath: parts + "/shard-\(i)-of-3/shard.json"))
        }
        // The unsharded run, into a folder holding the shards' secret (a folder's secret is reused).
        let whole = work + "/whole"
        try FileManager.default.createDirectory(atPath: whole, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: parts + "/.sonokit-key-secret", toPath: whole + "/.sonokit-key-secret")
        var plain = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: whole)
        plain.html = true
        let reference = try PredictWorkflow(plain).run()
        XCTAssertEqual(perShard.reduce(0, +), reference.reports.count + reference.failed.count)
        XCTAssertGreaterThan(reference.reports.count, 2)
        XCTAssertGreaterThanOrEqual(perShard.filter { $0 > 0 }.count, 2, "the studies all fell into one shard: the test would not see a merge")

        let merged = work + "/merged"
        let result = try PredictionMerge.run(output: merged, shardFolders: (0..<3).reversed().map { parts + "/shard-\($0)-of-3" })
        XCTAssertEqual(result.reported, reference.reports.count)
        let expected = try Self.files(under: whole), got = try Self.files(under: merged)
        XCTAssertEqual(Set(got.keys), Set(expected.keys))
        for (name, data) in expected { XCTAssertEqual(got[name], data, name) }
        XCTAssertNotNil(got["predictions.csv"])
        XCTAssertNotNil(got["html/index.html"])
    }

    // MARK: A requeued shard keeps the studies a killed run committed and scores only the others;
    // its folder ends equal, file for file, to an uninterrupted run's.
    // Guards: a resume that rescores everything (frames scored = all), one that keeps a report of
    // another model (a changed model_id survives), one that loses a study or a CSV row, and
    // commits that are not per group (nothing to keep after a kill).
    func testRequeuedShardScoresOnlyUncommittedStudies() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("predict-resume-\(UUID().uuidString)").path
        func options(_ output: String) -> PredictWorkflow.Options {
            var o = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: output)
            o.shard = Shard(index: 0, count: 2)
            o.html = true
            o.commitEvery = 2
            return o
        }
        let reference = try PredictWorkflow(options(work + "/reference")).run()
        XCTAssertEqual(reference.resumed, 0)
        XCTAssertGreaterThanOrEqual(reference.reports.count, 4, "too few studies in shard 0/2 to see a resume")
        let referenceFolder = work + "/reference/shard-0-of-2"
        let expected = try Self.files(under: referenceFolder)

        // The state a kill leaves after some groups: the later studies' reports, predictions.csv,
        // the index and shard.json not written yet (their pages may be).
        let resumed = work + "/resumed"
        try FileManager.default.copyItem(atPath: work + "/reference", toPath: resumed)
        let folder = resumed + "/shard-0-of-2"
        let keys = reference.reports.map(\.studyKey).sorted()
        let lost = Array(keys.suffix(keys.count / 2))
        for name in lost.map({ "\($0).json" }) + ["predictions.csv", "html/index.html", "shard.json"] {
            try FileManager.default.removeItem(atPath: folder + "/" + name)
        }
        // A kept report of another model is not kept: rescored.
        let foreign = keys[0]
        let text = try String(contentsOfFile: folder + "/\(foreign).json", encoding: .utf8)
        XCTAssertTrue(text.contains(reference.card.modelID))
        try text.replacingOccurrences(of: reference.card.modelID, with: "another-model").write(toFile: folder + "/\(foreign).json", atomically: true, encoding: .utf8)

        let again = try PredictWorkflow(options(resumed)).run()
        let rescored = Set(lost + [foreign])
        XCTAssertEqual(again.resumed, keys.count - rescored.count)
        XCTAssertEqual(again.reports.count, reference.reports.count)
        let rescoredFrames = reference.reports.filter { rescored.contains($0.studyKey) }.reduce(0) { $0 + $1.frames.count }
        XCTAssertEqual(again.frames, rescoredFrames, "the resumed run scored frames of kept studies")
        let got = try Self.files(under: folder)
        XCTAssertEqual(Set(got.keys), Set(expected.keys))
        for (name, data) in expected { XCTAssertEqual(got[name], data, name) }

        // Run once more: everything is kept, nothing scored.
        let third = try PredictWorkflow(options(resumed)).run()
        XCTAssertEqual(third.resumed, keys.count)
        XCTAssertEqual(third.frames, 0)
        XCTAssertEqual(try Self.files(under: folder), expected)
    }

    // MARK: A requeued shard keeps a recorded failure as failed (not scored again); --retry-failed
    // scores it again. The failing study: a JPEG file whose header says 1440 x 1920 (it holds
    // 640 x 480), with study/series/SOP UIDs of its own, the study owned by shard 0/2. Between the
    // runs the file is repaired (same UIDs, the true size): a study scored again is then reported,
    // one kept stays failed, so the two outcomes differ.
    // Guards: a rerun that scores recorded failures again (the repaired study would be reported),
    // --retry-failed that does nothing (it would stay failed), a record not removed once the study
    // is reported, and a merge that copies the shard's records into the merged folder.
    func testRequeuedShardKeepsRecordedFailuresUnlessRetried() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("predict-failed-\(UUID().uuidString)").path
        let export = work + "/export"
        try FileManager.default.createDirectory(atPath: export, withIntermediateDirectories: true)
        let samples = RepositoryPaths.sampleStudies
        for relative in ["site-b/anon-8ccd12/study-2/IMG0001.dcm", "site-b/anon-12ea09/study-1/IMG0002.dcm", "site-b/anon-1bd27d/study-1/IMG0001.dcm"] {
            try FileManager.default.copyItem(at: samples.appendingPathComponent(relative),
                                             to: URL(fileURLWithPath: export + "/" + relative.replacingOccurrences(of: "/", with: "-")))
        }
        let studyUID = try XCTUnwrap((1...100).map { "2.25.987654321\($0)" }.first { Shard(index: 0, count: 2).owns(key: $0) })
        let uids = ["(0020,000D)=\(studyUID)", "(0020,000E)=\(studyUID).1", "(0008,0018)=\(studyUID).1.1"]
        let jpeg = samples.appendingPathComponent("site-b/anon-12ea09/study-1/IMG0001.dcm")
        let bad = export + "/bad.dcm", repaired = work + "/repaired.dcm"
        try FileManager.default.copyItem(at: jpeg, to: URL(fileURLWithPath: bad))
        _ = try DCMTKTools.run("dcmodify", ["-nb", "-q"] + (uids + ["(0028,0010)=1440", "(0028,0011)=1920"]).flatMap { ["-i", $0] } + [bad])
        try FileManager.default.copyItem(at: jpeg, to: URL(fileURLWithPath: repaired))
        _ = try DCMTKTools.run("dcmodify", ["-nb", "-q"] + uids.flatMap { ["-i", $0] } + [repaired])

        func options(shard: Int = 0, retry: Bool = false) -> PredictWorkflow.Options {
            var o = PredictWorkflow.Options(runDirectory: f.run, inputs: [export], output: work + "/out")
            o.shard = Shard(index: shard, count: 2)
            o.retryFailed = retry
            return o
        }
        let first = try PredictWorkflow(options()).run()
        XCTAssertEqual(first.failed.count, 1, "the damaged study does not fail: \(first.failed)")
        let studyKey = try XCTUnwrap(first.failed.first?.studyKey)
        // Each reason names the instance by its key once ("I-...: frame 0 ..."), never its path.
        for reason in try XCTUnwrap(first.failed.first?.reasons) {
            let key = String(reason.prefix { $0 != ":" })
            XCTAssertTrue(key.hasPrefix("I-") && reason.components(separatedBy: key).count == 2 && !reason.contains(bad), reason)
        }
        let folder = work + "/out/shard-0-of-2"
        let record = folder + "/failed/\(studyKey).json"
        XCTAssertTrue(FileManager.default.fileExists(atPath: record))
        let csv = try String(contentsOfFile: folder + "/predictions.csv", encoding: .utf8)

        // Killed after the failure was recorded (shard.json and predictions.csv not written), the
        // file repaired meanwhile, run again: the failure is kept, nothing is scored.
        for name in ["predictions.csv", "shard.json"] { try FileManager.default.removeItem(atPath: folder + "/" + name) }
        try FileManager.default.removeItem(atPath: bad)
        try FileManager.default.copyItem(atPath: repaired, toPath: bad)
        var logged = ""
        let kept = try PredictWorkflow(options(), events: WorkflowEvents(log: { logged += $0 })).run()
        XCTAssertEqual(kept.resumedFailed, 1)
        XCTAssertEqual(kept.failed, first.failed)
        XCTAssertEqual(kept.frames, 0, "the resumed shard scored frames")
        XCTAssertTrue(logged.contains("1 of \(first.studies) studies failed in an earlier run of this shard, kept as failed"), logged)
        XCTAssertEqual(try String(contentsOfFile: folder + "/predictions.csv", encoding: .utf8), csv)

        // With --retry-failed the study is scored again, reported now, and its record removed.
        let retried = try PredictWorkflow(options(retry: true)).run()
        XCTAssertEqual(retried.resumedFailed, 0)
        XCTAssertEqual(retried.failed, [])
        XCTAssertTrue(retried.reports.contains { $0.studyKey == studyKey })
        XCTAssertGreaterThan(retried.frames, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: record))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/\(studyKey).json"))

        // A new shard folder with the damaged file: its record is not carried into a merge.
        try FileManager.default.removeItem(atPath: bad)
        try FileManager.default.copyItem(at: jpeg, to: URL(fileURLWithPath: bad))
        _ = try DCMTKTools.run("dcmodify", ["-nb", "-q"] + (uids + ["(0028,0010)=1440", "(0028,0011)=1920"]).flatMap { ["-i", $0] } + [bad])
        try FileManager.default.removeItem(atPath: folder)
        _ = try PredictWorkflow(options()).run()
        _ = try PredictWorkflow(options(shard: 1)).run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: record))
        let merged = work + "/merged"
        let result = try PredictionMerge.run(output: merged, shardFolders: [folder, work + "/out/shard-1-of-2"])
        XCTAssertEqual(result.failed, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: merged + "/failed"))
        XCTAssertTrue(try String(contentsOfFile: merged + "/predictions.csv", encoding: .utf8).contains(studyKey))
    }

    // MARK: --retry-failed without --shard is refused: only a shard records its failures
    func testRetryFailedNeedsAShard() throws {
        let f = try WorkflowsTests.fixture()
        var options = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: f.work.appendingPathComponent("retry-\(UUID().uuidString)").path)
        options.retryFailed = true
        XCTAssertThrowsError(try PredictWorkflow(options).run()) { error in
            XCTAssertTrue("\(error)".contains("--retry-failed applies to a shard"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: options.output))
    }

    // MARK: A shard folder keyed with another secret than OUT's is refused, not resumed (its
    // reports' keys are of another run); nothing in it is rewritten
    func testShardFolderOfAnotherSecretIsRefused() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("predict-secret-\(UUID().uuidString)").path
        var options = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: work)
        options.shard = Shard(index: 1, count: 2)
        _ = try PredictWorkflow(options).run()
        let copy = work + "/shard-1-of-2/.sonokit-key-secret"
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: copy))
        let csv = try Data(contentsOf: URL(fileURLWithPath: work + "/shard-1-of-2/predictions.csv"))
        XCTAssertThrowsError(try PredictWorkflow(options).run()) { error in
            XCTAssertTrue("\(error)".contains("shard-1-of-2 was keyed with another secret than"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work + "/shard-1-of-2/predictions.csv")), csv)
    }

    // MARK: Commit groups hold whole studies and at least `every` instances (the last may hold fewer)
    func testCommitGroupsKeepStudiesWhole() {
        func instance(_ study: String, _ i: Int) -> PredictionInstance {
            PredictionInstance(path: "\(study)/\(i)", sopClassUID: "1.2", sopInstanceUID: "\(study).\(i)", seriesInstanceUID: study + ".s",
                               studyInstanceUID: study, modality: "US", manufacturer: nil, numberOfFrames: 1)
        }
        let list = [instance("a", 1), instance("a", 2), instance("a", 3), instance("b", 1), instance("c", 1), instance("c", 2), instance("d", 1)]
        let groups = PredictWorkflow.commitGroups(list, every: 2)
        XCTAssertEqual(groups.map { $0.map(\.path) }, [["a/1", "a/2", "a/3"], ["b/1", "c/1", "c/2"], ["d/1"]])
        XCTAssertEqual(PredictWorkflow.commitGroups(list, every: 100).count, 1)
        XCTAssertEqual(PredictWorkflow.commitGroups(list, every: 1).count, 4)
        XCTAssertTrue(PredictWorkflow.commitGroups([], every: 2).isEmpty)
    }

    // MARK: The merge refuses a missing shard, a shard given twice, and a non-empty output
    func testMergeRefusesIncompleteShards() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("predict-merge-\(UUID().uuidString)").path
        for i in [0, 2] {
            var options = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: work + "/parts")
            options.shard = Shard(index: i, count: 3)
            _ = try PredictWorkflow(options).run()
        }
        let s0 = work + "/parts/shard-0-of-3", s2 = work + "/parts/shard-2-of-3"
        XCTAssertThrowsError(try PredictionMerge.run(output: work + "/m1", shardFolders: [s0, s2])) { error in
            XCTAssertTrue("\(error)".contains("shard(s) 1/3 missing"), "\(error)")
        }
        XCTAssertThrowsError(try PredictionMerge.run(output: work + "/m2", shardFolders: [s0, s2, s2])) { error in
            XCTAssertTrue("\(error)".contains("are both shard 2/3"), "\(error)")
        }
        XCTAssertThrowsError(try PredictionMerge.run(output: work + "/m3", shardFolders: [s0, s2, work + "/parts"])) { error in
            XCTAssertTrue("\(error)".contains("no shard.json"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/m1"))
    }
}
