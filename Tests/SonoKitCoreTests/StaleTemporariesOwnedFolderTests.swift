#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SonoKitCore
import XCTest

/// `StaleTemporaries.remove(writers: .thisProcessOnly)`, the rule of a folder one process owns (a
/// DICOM node's reports and SRs): every temporary this process did not write goes, a live pid's,
/// another host's, a recent one and Foundation's `.atomic` ones included, in every subfolder;
/// this process's own temporaries and every other file stay. The shared rule (the default) keeps
/// all of those but the dead writer's.
final class StaleTemporariesOwnedFolderTests: XCTestCase {
    let uuid = "0F6A1C9E-7B2D-4E8A-9C3F-5D1B2A3C4E5F"

    func testAnOwnedFolderLosesEveryTemporaryButThisProcesssOwn() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stale-owned-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("html/S-1"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let host = StaleTemporaries.host
        let foreign = [".a.json.1@\(host).\(uuid).tmp",            // pid 1 runs: kept by the shared rule
                       ".b.json.77@elsewhere.\(uuid).tmp",          // another host, recent
                       ".c.json.42.\(uuid).tmp",                    // no host recorded, recent
                       ".tmp-42-last.safetensors",                  // old weights name
                       "html/S-1/.dat.nosync4DFF.a0d9Pw",           // Foundation's .atomic (PNGFile), as strace shows it
                       "html/S-1/.p.png.1@\(host).\(uuid).tmp"]
        let kept = [".d.json.\(getpid())@\(host).\(uuid).tmp",     // this process's: live
                    ".sonokit-key-secret", "S-1.json", "html/S-1/picture.png",
                    ".dat.nosync", ".dat.nosyncXYZ.a0d9Pw", ".dat.nosync4DFF"]  // not Foundation's pattern
        for name in foreign + kept { try Data("x".utf8).write(to: folder.appendingPathComponent(name)) }

        XCTAssertEqual(StaleTemporaries.remove(in: folder.path, recursive: true), [], "the shared rule: all recent and none of a dead pid here")
        XCTAssertEqual(Set(StaleTemporaries.remove(in: folder.path, recursive: true, writers: .thisProcessOnly)),
                       Set(foreign.map { folder.appendingPathComponent($0).path }))
        for name in kept { XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name) }
        XCTAssertEqual(StaleTemporaries.remove(in: folder.path, recursive: true, writers: .thisProcessOnly), [])
        XCTAssertTrue(StaleTemporaries.isFoundationTemporary(".dat.nosync4DFF.a0d9Pw"))
        XCTAssertFalse(StaleTemporaries.isFoundationTemporary(".dat.nosync4DFF.a0d9P"))
    }

    /// The temporary Foundation's `.atomic` write really makes on this system matches the
    /// pattern (so the rule keeps up with the toolchain): a write is slowed by a large payload and
    /// the folder is watched until its temporary shows up.
    func testFoundationsAtomicTemporaryIsRecognised() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stale-foundation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let seen = Locked(Set<String>())
        let writer = Thread {
            for i in 0..<8 {
                try? Data(repeating: 7, count: 32 << 20).write(to: folder.appendingPathComponent("p\(i).png"), options: .atomic)
            }
        }
        let done = Locked(false)
        let watcher = Thread {
            while !done.withLock({ $0 }) {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasPrefix(".") {
                    seen.withLock { _ = $0.insert(name) }
                }
            }
        }
        watcher.start()
        writer.main()
        done.withLock { $0 = true }
        let names = seen.withLock { $0 }
        XCTAssertFalse(names.isEmpty, "no temporary of an .atomic write was seen")
        for name in names { XCTAssertTrue(StaleTemporaries.isFoundationTemporary(name), name) }
    }
}
