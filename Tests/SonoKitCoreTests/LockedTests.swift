import Foundation
import SonoKitCore
import XCTest

/// `Locked`: a read-modify-write through `withLock` is one step, so no increment of many threads
/// is lost (an unlocked `+= 1` on 8 threads loses some: a lock taken per read and per write would too).
final class LockedTests: XCTestCase {
    func testIncrementsFromEightThreadsAreAllCounted() {
        let counter = Locked(0)
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            Thread {
                for _ in 0..<20_000 { counter.withLock { $0 += 1 } }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(counter.withLock { $0 }, 160_000)
    }

    func testWithLockPassesErrorsAndResultsThrough() {
        struct Refused: Error {}
        let names = Locked<[String]>([])
        XCTAssertEqual(names.withLock { $0.append("a"); return $0.count }, 1)
        XCTAssertThrowsError(try names.withLock { (_: inout [String]) throws -> Void in throw Refused() })
        XCTAssertEqual(names.withLock { $0 }, ["a"])
    }
}
