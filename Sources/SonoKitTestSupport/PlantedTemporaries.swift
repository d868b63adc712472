import Foundation
import SonoKitCore

/// `AtomicFile` temporaries of chosen writers planted in a cache folder (`<folder>/<2 hex>/...`
/// and the folder itself), to check that a command opening the cache removes exactly the stale
/// ones (`StaleTemporaries`' rules) and nothing else.
///
/// Removable: a writer on this host that has exited (in a subfolder and at the top), and another
/// host's writer whose temporary is 2 days old. Kept: a live writer on this host (the test process
/// itself, which outlives the command it runs), another host's recent temporary (a node still
/// writing a shared folder), and an entry-like file that is no temporary.
public struct PlantedTemporaries {
    /// Relative paths a cleanup must remove, and those it must leave.
    public let removable: [String]
    public let kept: [String]
    public let folder: URL

    /// Plants the files in `folder` (created); `entryExtension` is the cache's (`frame`, `feat`).
    public static func plant(in folder: URL, entryExtension: String) throws -> PlantedTemporaries {
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier, host = StaleTemporaries.host
        func stem(_ c: Character) -> String { String(repeating: c, count: 62) }
        func temporary(_ sub: String, _ c: Character, _ writer: String) -> String {
            (sub.isEmpty ? "" : sub + "/") + ".\(stem(c)).\(entryExtension).\(writer).\(UUID().uuidString).tmp"
        }
        let removable = [temporary("0a", "1", "\(dead)@\(host)"), temporary("", "2", "\(dead)@\(host)"),
                         temporary("0b", "3", "77@node-elsewhere")]
        let kept = [temporary("0a", "4", "\(getpid())@\(host)"), temporary("0b", "5", "78@node-elsewhere"),
                    "0b/\(stem("6")).\(entryExtension)"]
        let old = Date().addingTimeInterval(-2 * 24 * 3600)
        for name in removable + kept {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("partial".utf8).write(to: url)
        }
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: folder.appendingPathComponent(removable[2]).path)
        return PlantedTemporaries(removable: removable, kept: kept, folder: folder)
    }

    /// The planted files still on disk, relative paths, sorted (after a correct cleanup: `kept`).
    public var remaining: [String] {
        (removable + kept).filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }.sorted()
    }
}
