import XCTest
@testable import Synthesis

final class SyntheticDrawsTests: XCTestCase {
    func testSameSeedAndPathGiveTheSameStreamAndOtherPathsDiffer() {
        var a = SyntheticDraws(seed: 7, path: [1, 2]), b = SyntheticDraws(seed: 7, path: [1, 2])
        var c = SyntheticDraws(seed: 7, path: [1, 3]), d = SyntheticDraws(seed: 8, path: [1, 2])
        let sa = (0..<16).map { _ in a.unit() }
        XCTAssertEqual(sa, (0..<16).map { _ in b.unit() })
        XCTAssertNotEqual(sa, (0..<16).map { _ in c.unit() })
        XCTAssertNotEqual(sa, (0..<16).map { _ in d.unit() })
    }

    /// Moments of 200,000 draws against their exact values, with tolerances of about 5 standard
    /// errors: a wrong transform (e.g. a missing square root or 2π) fails by far more.
    func testUniformAndNormalHaveTheRightMoments() {
        var draws = SyntheticDraws(seed: 20261207)
        let n = 200_000
        var su = 0.0, su2 = 0.0, sn = 0.0, sn2 = 0.0, sn4 = 0.0, beyond2 = 0
        for _ in 0..<n {
            let u = draws.uniform(2, 5)
            XCTAssert(u >= 2 && u < 5)
            su += u; su2 += u * u
            let z = draws.normal()
            sn += z; sn2 += z * z; sn4 += z * z * z * z
            if abs(z) > 2 { beyond2 += 1 }
        }
        let nd = Double(n)
        XCTAssertEqual(su / nd, 3.5, accuracy: 0.01)
        XCTAssertEqual(su2 / nd - (su / nd) * (su / nd), 0.75, accuracy: 0.01)
        XCTAssertEqual(sn / nd, 0, accuracy: 0.012)
        XCTAssertEqual(sn2 / nd, 1, accuracy: 0.02)
        XCTAssertEqual(sn4 / nd, 3, accuracy: 0.1)
        XCTAssertEqual(Double(beyond2) / nd, 0.0455, accuracy: 0.003)
    }

    func testIntegersAreUniformAndPermutationsArePermutations() {
        var draws = SyntheticDraws(seed: 3)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[draws.integer(below: 6)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 500) }
        var seen = Set<Int>()
        for _ in 0..<2_000 { seen.insert(draws.integer(in: -2...2)) }
        XCTAssertEqual(seen, [-2, -1, 0, 1, 2])
        let p = draws.permutation(50)
        XCTAssertEqual(p.sorted(), Array(0..<50))
        XCTAssertNotEqual(p, Array(0..<50))
        // Every position of a 3-permutation is equally likely (6 orders, 6,000 draws each ~1,000).
        var orders: [[Int]: Int] = [:]
        for _ in 0..<6_000 { orders[draws.permutation(3), default: 0] += 1 }
        XCTAssertEqual(orders.count, 6)
        for (_, c) in orders { XCTAssertEqual(Double(c), 1_000, accuracy: 150) }
    }
}
