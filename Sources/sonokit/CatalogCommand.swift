import ArgumentParser
import SonoKitCLI
import Catalog
import Foundation
import SonoKitCore
import Workflows

/// `sonokit catalog`: look into and combine catalogs.
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Summarise catalogs, list their problems, merge shard catalogs.",
        subcommands: [Summary.self, Problems.self, Merge.self]
    )

    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Totals of a catalog: files, instances, frames, studies, patients, problems by kind.",
            discussion: "Example:\n  sonokit catalog summary --catalog work/catalog.sqlite"
        )
        @Option(help: "The catalog file.") var catalog: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let store = try openExisting(catalog)
            let summary = try store.summary()
            if json { print(try SonoKitJSON.string(summary)) } else {
                print(IngestText.catalogLines(summary: summary, problems: [], catalogPath: catalog).joined(separator: "\n"))
            }
        }
    }

    struct Problems: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every file that could not be indexed, with the reason.",
            discussion: "Example:\n  sonokit catalog problems --catalog work/catalog.sqlite --json"
        )
        @Option(help: "The catalog file.") var catalog: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let problems = try openExisting(catalog).problems()
            if json { print(try SonoKitJSON.string(problems)) } else {
                for p in problems { print("\(p.kind)\t\(p.message)") }
            }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge shard catalogs (from ingest --shard I/N) into one.",
            discussion: """
            Pseudonymous keys are recomputed with the output catalog's secret.

            Example:
              sonokit catalog merge work/catalog.sqlite shard0.sqlite shard1.sqlite shard2.sqlite shard3.sqlite
            """
        )
        @Argument(help: "The output catalog (created when missing).") var output: String
        @Argument(help: "The catalogs to merge into it.") var inputs: [String]

        func run() throws {
            let target = try Catalog(path: output)
            for input in inputs {
                let outcome = try target.merge(from: try openExisting(input))
                print("\(input): \(outcome.instances) instances, \(outcome.duplicates) duplicates, \(outcome.files) file records, \(outcome.problems) problems merged")
            }
            let s = try target.summary()
            print("\(output): \(s.dicomInstances) instances, \(s.frames) frames, \(s.studies) studies, \(s.patients) patients")
        }
    }
}

/// Opens a catalog that must already exist (reading commands never create an empty one).
func openExisting(_ path: String) throws -> Catalog {
    try workflow { try openExistingCatalog(path) }
}
