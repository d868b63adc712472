import Foundation

/// Runs the built `sonokit` executable, as a user would, for end-to-end tests.
public enum SonoKitCommand {
    public typealias Result = ChildProcess.Output

    /// The `sonokit` binary next to the test bundle (SwiftPM builds both into the same folder).
    public static var executable: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        // On Linux the runner is the .xctest file itself; elsewhere it may sit inside a bundle.
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("sonokit").path),
              folder.path != "/" {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("sonokit")
    }

    /// Runs `sonokit arguments...` in `directory` and returns its exit status and output.
    public static func run(_ arguments: [String], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        return try ChildProcess.run(process)
    }
}
