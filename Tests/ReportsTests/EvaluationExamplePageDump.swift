import Foundation
import XCTest
@testable import Reports

/// Writes the synthetic example eval folder (evaluation.html and its files) to
/// $SONOKIT_WRITE_EXAMPLE_PAGE when that variable is set, to look at the page in a browser.
/// Skipped otherwise.
final class EvaluationExamplePageDump: XCTestCase {
    func testWriteExamplePageWhenAsked() throws {
        guard let path = ProcessInfo.processInfo.environment["SONOKIT_WRITE_EXAMPLE_PAGE"] else {
            throw XCTSkip("set SONOKIT_WRITE_EXAMPLE_PAGE=folder to write the example page")
        }
        try EvaluationSampleOutput.output(directory: URL(fileURLWithPath: path)).write()
    }
}
