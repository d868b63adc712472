#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SonoKitCore
import XCTest

/// `StaleTemporaries`: which leftovers of `AtomicFile` are removed (a dead writer on this host, or
/// older than the age limit) and which never are (a live writer's, another host's recent one, any
/// file that is not an AtomicFile temporary).
final class StaleTemporariesTests: XCTestCase {
    let uuid = "0F6A1C9E-7B2D-4E8A-9C3F-5D1B2A3C4E5F"

    func testTemporaryNamesRecordThisProcessAndHost() throws {
        let url = AtomicFile.temporaryURL(for: URL(fileURLWithPath: "/x/report.v2.json"))
        XCTAssertEqual(url.deletingLastPathComponent().path, "/x")
        XCTAssertTrue(url.lastPathComponent.hasPrefix(".report.v2.json.\(getpid())@\(StaleTemporaries.host)."), url.lastPathComponent)
        XCTAssertEqual(StaleTemporaries.writer(ofTemporary: url.lastPathComponent), .init(pid: getpid(), host: StaleTemporaries.host))
        XCTAssertFalse(StaleTemporaries.host.contains("."))
    }

    func testNamesAreParsedOnlyWhenTheyAreAtomicFileTemporaries() {
        typealias W = StaleTemporaries.Writer
        let cases: [(String, W?)] = [
            (".a.b.json.42@node07.\(uuid).tmp", W(pid: 42, host: "node07")),
            (".last.safetensors.42@node07.\(uuid).tmp.json", W(pid: 42, host: "node07")),   // a weights writer's sidecar
            (".a.json.42.\(uuid).tmp", W(pid: 42, host: nil)),                              // before the host was recorded
            (".tmp-42-last.safetensors", W(pid: 42, host: nil)),                           // old weights temporaries
            (".a.json.42@.\(uuid).tmp", nil), (".a.json.0@h.\(uuid).tmp", nil), (".a.json.x@h.\(uuid).tmp", nil),
            (".42@h.\(uuid).tmp", nil), (".a.42@h.not-a-uuid.tmp", nil), ("a.42@h.\(uuid).tmp", nil),
            (".sonokit-key-secret", nil), (".incoming-1.part", nil), (".tmp-x-a", nil), (".tmp-42-", nil), ("x.tmp", nil),
        ]
        for (name, expected) in cases { XCTAssertEqual(StaleTemporaries.writer(ofTemporary: name), expected, name) }
    }

    func testRemovesDeadWritersAndOldFilesButNeverLiveOrForeignRecentOnes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let dead = try Self.exitedProcessID(), host = StaleTemporaries.host
        let old = Date().addingTimeInterval(-2 * 24 * 3600)
        func make(_ name: String, modified: Date? = nil) throws { try Self.plant(name, in: folder, modified: modified) }
        let removable = [".a.json.\(dead)@\(host).\(uuid).tmp", ".w.safetensors.\(dead)@\(host).\(uuid).tmp.json",
                         ".b.json.77@elsewhere.\(uuid).tmp", ".c.json.\(dead).\(uuid).tmp", ".tmp-\(dead)-best.safetensors"]
        let kept = [".d.json.\(getpid())@\(host).\(uuid).tmp",     // this process: live
                    ".e.json.1@\(host).\(uuid).tmp",                 // pid 1 runs
                    ".f.json.77@elsewhere.\(uuid).tmp",              // another host, recent
                    ".g.json.\(dead).\(uuid).tmp",                   // no host recorded, recent
                    ".sonokit-key-secret", "report.json"]            // not temporaries, however old
        try make(removable[0]); try make(removable[1])
        for name in removable.dropFirst(2) { try make(name, modified: old) }
        try make(kept[0]); try make(kept[1]); try make(kept[2]); try make(kept[3])
        try make(kept[4], modified: old); try make(kept[5], modified: old)
        try make("sub/.h.png.\(dead)@\(host).\(uuid).tmp")

        XCTAssertEqual(StaleTemporaries.remove(in: folder.path, recursive: false).map { ($0 as NSString).lastPathComponent }.sorted(),
                       removable.sorted())
        for name in kept { XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("sub/.h.png.\(dead)@\(host).\(uuid).tmp").path),
                      "not recursive: the subfolder is left")
        XCTAssertEqual(StaleTemporaries.remove(in: folder.path, recursive: true), [folder.appendingPathComponent("sub/.h.png.\(dead)@\(host).\(uuid).tmp").path])
        // A live writer's old temporary goes only by the age rule.
        XCTAssertEqual(StaleTemporaries.remove(in: folder.path, recursive: true, now: Date().addingTimeInterval(3 * 24 * 3600)).count, 4)
        XCTAssertEqual(StaleTemporaries.remove(in: folder.appendingPathComponent("missing").path, recursive: true), [])
    }

    // MARK: A cache's layout (`<folder>/<2 hex>/<entry>`): the folder and its subfolders, never
    // deeper. Guards: a cleanup that reads only the top folder (the caches' temporaries sit in the
    // subfolders), or one that forgets the rules there (removing a live writer's temporary).
    func testFolderAndSubfoldersAreCleanedOneLevelDeepWithTheSameRules() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stale-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for sub in ["ab", "cd", "ab/deeper"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let dead = try Self.exitedProcessID(), host = StaleTemporaries.host
        let old = Date().addingTimeInterval(-2 * 24 * 3600)
        func make(_ name: String, modified: Date? = nil) throws { try Self.plant(name, in: folder, modified: modified) }
        let removable = [".top.frame.\(dead)@\(host).\(uuid).tmp", "ab/.0123.frame.\(dead)@\(host).\(uuid).tmp",
                         "cd/.4567.feat.77@elsewhere.\(uuid).tmp"]
        let kept = ["ab/.89ab.frame.\(getpid())@\(host).\(uuid).tmp",   // this process: live
                    "cd/.cdef.feat.77@elsewhere.\(uuid).tmp",             // another host, recent
                    "ab/0123.frame", "cd/.notes",                          // an entry, a hidden file that is no temporary
                    "ab/deeper/.x.frame.\(dead)@\(host).\(uuid).tmp"]     // two levels down: not a cache's
        try make(removable[0]); try make(removable[1]); try make(removable[2], modified: old)
        for name in kept { try make(name) }
        try make("cd/.notes", modified: old)
        XCTAssertEqual(StaleTemporaries.remove(inFolderAndSubfolders: folder.path).sorted(),
                       removable.map { folder.appendingPathComponent($0).path }.sorted())
        for name in kept { XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name) }
        XCTAssertEqual(StaleTemporaries.remove(inFolderAndSubfolders: folder.path), [], "a second pass finds nothing")
        XCTAssertEqual(StaleTemporaries.remove(inFolderAndSubfolders: folder.appendingPathComponent("missing").path), [])
    }

    // MARK: Helpers

    /// The pid of a process that ran and is gone (a dead writer).
    static func exitedProcessID() throws -> pid_t {
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        return finished.processIdentifier
    }

    /// A small file at `name` (relative to `folder`), last modified at `modified` when given.
    static func plant(_ name: String, in folder: URL, modified: Date? = nil) throws {
        let url = folder.appendingPathComponent(name)
        try Data("partial".utf8).write(to: url)
        if let modified { try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: url.path) }
    }
}
