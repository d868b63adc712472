import DICOMNetwork
import Foundation
import SonoKitTestSupport
import XCTest

/// The Storage SCU against DCMTK's own `storescp` (an implementation nobody here wrote): what
/// arrives must be the sent dataset byte for byte, refusals must be reported per file.
final class StorageSCUTests: XCTestCase {
    // MARK: AE@HOST:PORT

    func testPeerParsing() throws {
        let peer = try DicomPeer(parsing: "PACS@10.0.0.5:104")
        XCTAssertEqual(peer, try DicomPeer(aeTitle: "PACS", host: "10.0.0.5", port: 104))
        XCTAssertEqual(try DicomPeer(parsing: "SCP@[::1]:11112").host, "::1")
        XCTAssertEqual(try DicomPeer(parsing: "SCP@[::1]:11112").description, "SCP@[::1]:11112")
        XCTAssertEqual(try DicomPeer(parsing: " MY AE @host:1").aeTitle, "MY AE", "leading/trailing spaces are not significant (PS3.5 AE)")
        for bad in ["PACS@host", "PACS:104", "@host:104", "PACS@:104", "PACS@host:0", "PACS@host:65536", "PACS@host:x",
                    "SEVENTEEN_CHARS_X@host:104", "A\\B@host:104"] {
            XCTAssertThrowsError(try DicomPeer(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".hasPrefix(bad), "the error names the text: \(error)")
            }
        }
    }

    // MARK: C-ECHO

    func testEchoIsAnsweredByStorescp() throws {
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF"])
        defer { scp.stop() }
        try StorageSCU.echo(try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: scp.port), settings: try .init(timeoutSeconds: 10))
    }

    func testEchoFailsWhenTheAssociationIsRejectedOrNobodyListens() throws {
        let scp = try ReferencePeer("storescp", ["--refuse"])
        defer { scp.stop() }
        let settings = try StorageSCU.Settings(timeoutSeconds: 10)
        XCTAssertThrowsError(try StorageSCU.echo(try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: scp.port), settings: settings)) { error in
            XCTAssertTrue("\(error)".contains("REF@127.0.0.1:\(scp.port)"), "\(error)")
            XCTAssertTrue("\(error)".localizedCaseInsensitiveContains("reject"), "the rejection is reported: \(error)")
        }
        let closed = try ReferencePeer.freePort()
        XCTAssertThrowsError(try StorageSCU.echo(try DicomPeer(aeTitle: "NOBODY", host: "127.0.0.1", port: closed), settings: settings)) { error in
            XCTAssertTrue("\(error)".contains("NOBODY@127.0.0.1:\(closed)"), "\(error)")
        }
    }

    // MARK: C-STORE

    /// Every DICOM file of SampleStudies (all its encodings: JPEG baseline/extended/lossless,
    /// JPEG-LS, RLE, deflate, big and little endian, implicit), except the DICOMDIR.
    static func sampleFiles() throws -> [URL] {
        let enumerator = FileManager.default.enumerator(at: RepositoryPaths.sampleStudies, includingPropertiesForKeys: nil)!
        return enumerator.compactMap { $0 as? URL }
            .filter { $0.lastPathComponent != "DICOMDIR" && (try? Part10($0)) != nil }
            .sorted { $0.path < $1.path }
    }

    func testSentDatasetsArriveByteIdenticalAtStorescp() throws {
        let received = try temporaryFolder()
        // Every transfer syntax of the sample accepted; +B: write the dataset exactly as received.
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF", "+B", "-od", received.path]
                                    + StorescpConfiguration.arguments(writingInto: try temporaryFolder()))
        defer { scp.stop() }
        let files = try Self.sampleFiles()
        XCTAssertGreaterThan(Set(try files.map { try Part10($0).transferSyntax }).count, 8, "the sample covers many transfer syntaxes")
        let outcomes = try StorageSCU.store(files.map(\.path), to: try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: scp.port),
                                            settings: try .init(timeoutSeconds: 30))
        XCTAssertEqual(outcomes.map(\.path), files.map(\.path))
        for outcome in outcomes { XCTAssertEqual(outcome.status, 0x0000, "\(outcome.path): \(outcome.message ?? "")") }
        scp.stop()
        let arrived = try FileManager.default.contentsOfDirectory(at: received, includingPropertiesForKeys: nil).map { try Part10($0) }
        XCTAssertEqual(arrived.count, files.count, "one file per instance sent")
        let byUID = Dictionary(arrived.map { ($0.sopInstanceUID, $0) }, uniquingKeysWith: { a, _ in a })
        for file in files {
            let sent = try Part10(file)
            guard let got = byUID[sent.sopInstanceUID] else { XCTFail("\(file.path) did not arrive"); continue }
            XCTAssertEqual(got.transferSyntax, sent.transferSyntax, "\(file.path): no transcoding")
            XCTAssertTrue(got.dataset == sent.dataset, "\(file.path): the dataset differs (\(got.dataset.count) against \(sent.dataset.count) bytes)")
        }
    }

    func testRefusedSyntaxesAndNonDICOMFilesAreReportedPerFileWhileTheOthersGo() throws {
        let received = try temporaryFolder()
        // storescp's default accepts only the uncompressed transfer syntaxes.
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF", "-od", received.path])
        defer { scp.stop() }
        let files = try Self.sampleFiles()
        let uncompressed: Set<String> = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"]
        let expected = try files.filter { uncompressed.contains(try Part10($0).transferSyntax) }
        XCTAssertFalse(expected.isEmpty)
        XCTAssertLessThan(expected.count, files.count)
        let notDICOM = RepositoryPaths.sampleStudies.appendingPathComponent("labels.csv").path
        let outcomes = try StorageSCU.store([notDICOM] + files.map(\.path), to: try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: scp.port),
                                            settings: try .init(timeoutSeconds: 30))
        XCTAssertNil(outcomes[0].status)
        XCTAssertTrue(outcomes[0].message?.contains("not a DICOM Part 10 file") == true, outcomes[0].message ?? "")
        for outcome in outcomes.dropFirst() {
            if expected.map(\.path).contains(outcome.path) {
                XCTAssertEqual(outcome.status, 0, outcome.path)
            } else {
                XCTAssertNil(outcome.status, outcome.path)
                XCTAssertTrue(outcome.message?.contains("did not accept") == true, outcome.message ?? "")
            }
        }
        scp.stop()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: received.path).count, expected.count)
    }

    func testStoreThrowsNamingThePeerWhenNobodyListens() throws {
        let closed = try ReferencePeer.freePort()
        let file = try XCTUnwrap(try Self.sampleFiles().first)
        XCTAssertThrowsError(try StorageSCU.store([file.path], to: try DicomPeer(aeTitle: "NOBODY", host: "127.0.0.1", port: closed),
                                                  settings: try .init(timeoutSeconds: 5))) { error in
            let failure = error as? StorageSCU.StoreFailure
            XCTAssertNotNil(failure)
            XCTAssertTrue("\(error)".contains("NOBODY@127.0.0.1:\(closed)"), "\(error)")
            XCTAssertNil(failure?.partial.first?.status)
        }
    }

    private func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-scu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
