#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SonoKitTestSupport
import XCTest

/// `sonokit listen` against a second, independent SCU: pynetdicom (PyPI, pure Python; no DCMTK
/// code), in the venv of scripts/node/setup-python.sh (scripts/test.sh creates it; this test runs
/// the script itself when the venv is missing). C-ECHO and C-STORE answered Success, a SOP class
/// we do not take (CT Image Storage) and a transfer syntax we do not decode (JPEG 2000) refused at
/// association time and logged, what arrived stored and indexed.
final class ListenPynetdicomTests: XCTestCase, ListenTesting {
    /// The venv's python: SONOKIT_NODE_PYTHON, else what scripts/node/setup-python.sh prints.
    func python() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SONOKIT_NODE_PYTHON"], !path.isEmpty { return path }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", "600", RepositoryPaths.root.appendingPathComponent("scripts/node/setup-python.sh").path]
        let result = try ChildProcess.run(process)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let scu = """
        import json, sys
        from pydicom import dcmread
        from pynetdicom import AE
        from pynetdicom.sop_class import CTImageStorage, SecondaryCaptureImageStorage, Verification
        port, files = int(sys.argv[1]), sys.argv[2:]
        datasets = [dcmread(f) for f in files]
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(Verification)
        for sop_class, syntax in sorted({(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID) for ds in datasets}):
            ae.add_requested_context(sop_class, syntax)
        ae.add_requested_context(CTImageStorage)
        ae.add_requested_context(SecondaryCaptureImageStorage, "1.2.840.10008.1.2.4.90")  # JPEG 2000 lossless only
        assoc = ae.associate("127.0.0.1", port, ae_title="SONOKIT")
        out = {"established": assoc.is_established}
        if assoc.is_established:
            out["rejected"] = sorted({str(c.abstract_syntax) for c in assoc.rejected_contexts})
            out["echo"] = getattr(assoc.send_c_echo(), "Status", None)
            out["store"] = [getattr(assoc.send_c_store(ds), "Status", None) for ds in datasets]
            assoc.release()
        print(json.dumps(out))
        """

    func testPynetdicomEchoesAndStoresAndIsRefusedASOPClassWeDoNotTake() throws {
        let python = try python()
        let folder = try temporaryFolder()
        let store = folder.appendingPathComponent("store"), catalog = folder.appendingPathComponent("node.sqlite")
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path, "--allow", "PYNETDICOM@127.0.0.1"])
        // Three files in three different transfer syntaxes.
        var files: [URL] = [], syntaxes: Set<String> = []
        for file in try Self.imageFiles() where syntaxes.count < 3 {
            if syntaxes.insert(try Part10(file).transferSyntax).inserted { files.append(file) }
        }
        XCTAssertEqual(files.count, 3)
        let script = folder.appendingPathComponent("scu.py")
        try Self.scu.write(to: script, atomically: true, encoding: .utf8)
        let run = try tool(python, [script.path, "\(listener.port)"] + files.map(\.path))
        XCTAssertEqual(run.status, 0, run.output)
        let json = try XCTUnwrap(run.output.split(separator: "\n").last { $0.hasPrefix("{") }, run.output)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(answer["established"] as? Bool, true, run.output)
        XCTAssertEqual(answer["echo"] as? Int, 0, run.output)
        XCTAssertEqual(answer["store"] as? [Int], [0, 0, 0], run.output)
        XCTAssertEqual(answer["rejected"] as? [String], ["1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.7"],
                       "CT Image Storage, and Secondary Capture in JPEG 2000 only, are refused: \(run.output)")
        XCTAssertEqual(listener.stop(), 0)
        XCTAssertTrue(listener.log.contains("association from PYNETDICOM@127.0.0.1"), listener.log)
        XCTAssertTrue(listener.log.contains("stopped: 3 instances stored"), listener.log)
        XCTAssertTrue(listener.log.contains("presentation contexts refused to PYNETDICOM@127.0.0.1: CTImageStorage: SOP class not accepted; "
                                            + "SecondaryCaptureImageStorage: transfer syntax not accepted (JPEG2000LosslessOnly)"), listener.log)
        let stored = storedFiles(in: store)
        XCTAssertEqual(Set(try stored.map { try Part10($0).sopInstanceUID }), Set(try files.map { try Part10($0).sopInstanceUID }))
        XCTAssertEqual(Set(try stored.map { try Part10($0).transferSyntax }), syntaxes, "each in the syntax it was sent in")
        XCTAssertEqual(try count("instances", in: catalog), 3)
    }
}
