import DICOMNetwork
import XCTest

/// `--allow CALLING_AE@HOST`: which (calling AE title, peer address) pairs a listener accepts, and
/// the refusal it logs otherwise. Guards against a list that matches titles without addresses,
/// trims or folds case where PS3.5 does not, or misses an IPv4 peer reported as IPv4-mapped IPv6.
final class AllowListTests: XCTestCase {
    // MARK: Matching

    func testATitleIsAcceptedOnlyFromItsHostsAddresses() throws {
        let list = try AllowList(parsing: ["SCANNER1@10.0.0.7", "PACS@10.0.0.20", "PACS@10.0.0.21"])
        XCTAssertNil(list.refusal(callingAE: "SCANNER1", peerIP: "10.0.0.7"))
        XCTAssertNil(list.refusal(callingAE: "PACS", peerIP: "10.0.0.21"), "either of its entries")
        XCTAssertEqual(list.refusal(callingAE: "SCANNER1", peerIP: "10.0.0.8"),
                       "calling AE title allowed only from 10.0.0.7, not from this address")
        XCTAssertEqual(list.refusal(callingAE: "PACS", peerIP: "10.0.0.7"),
                       "calling AE title allowed only from 10.0.0.20, 10.0.0.21, not from this address")
        XCTAssertEqual(list.refusal(callingAE: "INTRUDER", peerIP: "10.0.0.7"), "calling AE title not on the allow-list")
    }

    func testTitlesAreCaseSensitiveAndOnlySpacesAreInsignificant() throws {
        let list = try AllowList(parsing: ["SCANNER1@10.0.0.7"])
        XCTAssertNil(list.refusal(callingAE: "SCANNER1  ", peerIP: "10.0.0.7"), "trailing spaces pad an AE value (PS3.5)")
        XCTAssertNil(list.refusal(callingAE: " SCANNER1", peerIP: "10.0.0.7"), "leading spaces are insignificant too")
        XCTAssertNotNil(list.refusal(callingAE: "scanner1", peerIP: "10.0.0.7"), "AE values are case-sensitive")
        XCTAssertNotNil(list.refusal(callingAE: "SCANNER", peerIP: "10.0.0.7"))
    }

    func testAnIPv4PeerSeenAsIPv4MappedIPv6Matches() throws {
        let list = try AllowList(parsing: ["SCANNER1@10.0.0.7", "V6@[::1]"])
        XCTAssertNil(list.refusal(callingAE: "SCANNER1", peerIP: "::ffff:10.0.0.7"))
        XCTAssertNil(list.refusal(callingAE: "V6", peerIP: "::1"), "a bracketed IPv6 host")
        XCTAssertNotNil(list.refusal(callingAE: "V6", peerIP: "127.0.0.1"))
    }

    func testANameIsResolvedToItsAddresses() throws {
        let list = try AllowList(parsing: ["LOCAL@localhost"])
        XCTAssertEqual(list.entries.first?.host, "localhost")
        XCTAssertTrue(list.entries.first?.addresses.contains("127.0.0.1") ?? false, "\(list.entries)")
        XCTAssertNil(list.refusal(callingAE: "LOCAL", peerIP: "127.0.0.1"))
    }

    // MARK: Errors name the text

    func testTextsThatCannotBeEntriesAreRefusedWithTheText() {
        for (text, reason) in [("NOHOST", "expected CALLING_AE@HOST"), ("SCANNER1@", "the host is empty"),
                               ("SCANNER1@no-such-host.invalid", "has no address"),
                               ("THIS_TITLE_IS_TOO_LONG@10.0.0.7", "longer than 16 characters")] {
            XCTAssertThrowsError(try AllowList(parsing: ["OK@10.0.0.1", text]), text) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("\(text): "), message)
                XCTAssertTrue(message.contains(reason), message)
            }
        }
    }
}
