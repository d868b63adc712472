import Foundation

/// Where things are in the repository, for tests (found from this source file's location).
public enum RepositoryPaths {
    /// The repository root (the folder holding Package.swift).
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// SampleStudies/, the synthetic export made by scripts/samples/.
    public static var sampleStudies: URL { root.appendingPathComponent("SampleStudies") }
}
