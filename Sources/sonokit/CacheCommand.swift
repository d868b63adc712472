import ArgumentParser
import Foundation
import SonoKitCLI
import Workflows

/// `sonokit cache`: feature caches written on separate disks, joined into one.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Merge feature caches written in separate folders.",
        subcommands: [Merge.self]
    )

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the feature-cache entries of SRC folders that DEST lacks into DEST.",
            discussion: """
            For `sonokit features --shard I/N` tasks that wrote their own --feature-cache folders (node-local disks) \
            instead of one shared folder. Every entry is checked first: an entry of the same key with different bytes \
            in two folders, a damaged entry or a file that is not an entry stops the merge with the file(s) named and \
            DEST unchanged. Entries are copied whole and renamed into place, so a merge that is killed and run again \
            copies only what is missing (a second run copies nothing). Hidden temporary files of killed writers are skipped \
            in the sources; in DEST, those whose writer is gone are removed after the merge.

            Example:
              sonokit cache merge work/feature-cache node1/feature-cache node2/feature-cache
            """
        )
        @Argument(help: ArgumentHelp("The feature cache to merge into (created when missing).", valueName: "dest")) var destination: String
        @Argument(help: ArgumentHelp("The feature caches to copy from.", valueName: "src")) var sources: [String] = []

        func validate() throws {
            if sources.isEmpty { throw ValidationError("give at least one source folder after DEST: sonokit cache merge DEST SRC...") }
        }

        func run() throws {
            let start = Date()
            let o = try workflow { try FeaturesWorkflow.mergeCaches(into: destination, from: sources, events: .terminal()) }
            print("cache merge: \(o.sourceEntries) entries in \(sources.count) source folder(s): \(o.copied) copied, "
                  + "\(o.alreadyPresent) already in \(destination), \(o.duplicates) in more than one source (identical), "
                  + "\(o.temporaryFilesSkipped) temporary files skipped; \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        }
    }
}
