import Foundation
import SonoKitCore
import XCTest

final class SonoKitCoreTests: XCTestCase {
    // MARK: SplitMix64: the reference stream of Vigna's splitmix64.c for seed 0
    // Guards the one generator every module draws from: a changed constant or shift would change
    // every split, initialisation and bootstrap interval ever recorded.
    func testSplitMix64MatchesTheReferenceStream() {
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(g.next(), 0x06C4_5D18_8009_454F)
    }

    // MARK: split(): a child stream seeded by the parent's next draw; state round-trips through Codable
    func testSplitAndStateRoundTrip() throws {
        var a = SplitMix64(seed: 42)
        var copy = a
        var child = a.split()
        var expected = SplitMix64(seed: copy.next())
        XCTAssertEqual(child.next(), expected.next())
        let restored = try JSONDecoder().decode(SplitMix64.self, from: try JSONEncoder().encode(a))
        XCTAssertEqual(restored, a)
        // nextUnitFloat is the top 24 bits / 2^24: in [0, 1).
        for _ in 0..<1000 { let u = a.nextUnitFloat(); XCTAssert(u >= 0 && u < 1) }
    }

    // MARK: SHA-256 hex: FIPS 180-2 test vector "abc"
    func testSHA256HexOfABC() {
        XCTAssertEqual(SHA256Hex.of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256Hex.hex([0x00, 0x0f, 0xff]), "000fff")
    }

    // MARK: Pseudonym: keyed = prefix + 16 hex of HMAC-SHA256(secret, domain NUL value); unkeyed = 12 hex of SHA-256
    // Literal values: a change here would re-key every catalog and every report folder.
    func testPseudonymFormats() {
        let p = Pseudonym(secret: Data(repeating: 7, count: 32))
        let key = p.keyed("patient", "PID-1", prefix: "P-")
        XCTAssertTrue(key.hasPrefix("P-"))
        XCTAssertEqual(key.count, 18)
        XCTAssertEqual(key, p.keyed("patient", "PID-1", prefix: "P-"), "deterministic for a secret")
        XCTAssertNotEqual(key, p.keyed("study", "PID-1", prefix: "P-"), "the domain separates equal values")
        XCTAssertNotEqual(key, Pseudonym(secret: Data(repeating: 8, count: 32)).keyed("patient", "PID-1", prefix: "P-"))
        XCTAssertEqual(Pseudonym.unkeyed("abc"), "ba7816bf8f01")
        XCTAssertEqual(Pseudonym.newSecret().count, 32)
    }

    // MARK: AtomicFile: the destination holds the new bytes, no temporary file is left behind
    func testAtomicWriteReplacesAndLeavesNoTemporary() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-core-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("sub/out.txt")
        try AtomicFile.write(Data("one".utf8), to: file)
        try AtomicFile.write(Data("two".utf8), to: file, permissions: 0o600)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path), ["out.txt"])
        let permissions = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        XCTAssertEqual(permissions, 0o600)
        XCTAssertThrowsError(try AtomicFile.write(Data(), to: URL(fileURLWithPath: "/proc/no-such-dir/x")))
    }

    // MARK: JSON convention: snake_case keys, sorted, pretty, slashes unescaped
    // MARK: OwnerOnly: files 0600 and folders 0700 whatever the umask; never following links
    func testOwnerOnlyModesIgnoreTheUmask() throws {
        let previous = umask(0o022)
        defer { umask(previous) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-owner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        func mode(_ path: String) throws -> Int { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o777 }
        try OwnerOnly.createFolder(folder.path)
        XCTAssertEqual(try mode(folder.path), 0o700)
        let empty = folder.appendingPathComponent("empty").path
        XCTAssertTrue(try OwnerOnly.createEmptyFile(empty))
        XCTAssertFalse(try OwnerOnly.createEmptyFile(empty), "an existing file is left alone")
        XCTAssertEqual(try mode(empty), 0o600)
        let secret = folder.appendingPathComponent("secret")
        try AtomicFile.write(Data("k".utf8), to: secret, permissions: 0o600)
        XCTAssertEqual(try mode(secret.path), 0o600)
        // restrict: a tree written with the default modes becomes 0600/0700; a link's target is untouched.
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-owner-target-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("x".utf8).write(to: outside)
        XCTAssertEqual(chmod(outside.path, 0o644), 0)
        let sub = folder.appendingPathComponent("html")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try Data("<p>".utf8).write(to: sub.appendingPathComponent("page.html"))
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("link").path, withDestinationPath: outside.path)
        try OwnerOnly.restrict(folder.path, recursive: true)
        XCTAssertEqual(try mode(sub.path), 0o700)
        XCTAssertEqual(try mode(sub.appendingPathComponent("page.html").path), 0o600)
        XCTAssertEqual(try mode(outside.path), 0o644)
    }

    func testJSONConvention() throws {
        struct Sample: Codable, Equatable { var zetaValue = 1; var alphaPath = "a/b" }
        let text = try SonoKitJSON.string(Sample())
        XCTAssertEqual(text, "{\n  \"alpha_path\" : \"a/b\",\n  \"zeta_value\" : 1\n}")
        XCTAssertEqual(try SonoKitJSON.decoder().decode(Sample.self, from: Data(text.utf8)), Sample())
        XCTAssertThrowsError(try SonoKitJSON.encoder().encode([Double.nan]))
    }
}

final class ClassificationTaskTests: XCTestCase {
    private struct Recorded: Decodable {
        var task: ClassificationTask
        enum CodingKeys: String, CodingKey { case task }
        init(from decoder: Decoder) throws {
            task = try ClassificationTask.decodeRecorded(try decoder.container(keyedBy: CodingKeys.self), forKey: .task)
        }
    }

    func testAFileWithoutATaskIsBinaryAndARecordedTaskIsKept() throws {
        XCTAssertEqual(try JSONDecoder().decode(Recorded.self, from: Data("{}".utf8)).task, .binary)
        XCTAssertEqual(try JSONDecoder().decode(Recorded.self, from: Data(#"{"task":"multiclass"}"#.utf8)).task, .multiclass)
        XCTAssertThrowsError(try JSONDecoder().decode(Recorded.self, from: Data(#"{"task":"regression"}"#.utf8)))
    }
}
