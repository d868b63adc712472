import Foundation

/// Opens HTML pages in a real browser (Debian's `chromium`, headless) and reports which images
/// failed to load: what a person opening the report would see, not what our writer believes.
///
/// How: a copy of the page, in the same folder (so relative links resolve the same way), gets
/// a script that runs after the `load` event and lists every `<img>` that is not complete or
/// has no natural width (missing file, undecodable PNG); `chromium --headless --dump-dom`
/// prints the DOM after loading, and the list is read back from it.
public enum HeadlessBrowser {
    public struct PageCheck: Equatable {
        /// Number of `<img>` elements on the page.
        public let images: Int
        /// The `src` of every image that did not load.
        public let broken: [String]
    }

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// The browser executable, or nil when none is installed.
    public static var executable: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let marker = "sonokit-browser-check"

    /// Loads `page` (an HTML file) and returns how many images it has and which did not load.
    public static func check(page: URL) throws -> PageCheck {
        guard let browser = executable else { throw Failure(description: "no chromium installed (scripts/setup.sh installs it)") }
        let html = try String(contentsOf: page, encoding: .utf8)
        let probe = """
        <script>
        window.addEventListener('load', function () {
          var images = Array.prototype.slice.call(document.images);
          var broken = images.filter(function (i) { return !i.complete || i.naturalWidth === 0; })
                             .map(function (i) { return i.getAttribute('src'); });
          var out = document.createElement('pre');
          out.id = '\(marker)';
          out.textContent = JSON.stringify({images: images.length, broken: broken});
          document.body.appendChild(out);
        });
        </script>
        """
        guard let end = html.range(of: "</body>", options: .backwards) else {
            throw Failure(description: "\(page.path): no </body>")
        }
        let copy = page.deletingLastPathComponent().appendingPathComponent(".\(marker)-\(UUID().uuidString).html")
        try (html.replacingCharacters(in: end, with: probe + "</body>")).write(to: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: copy) }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--user-data-dir=\(profile.path)", "--allow-file-access-from-files",
                             "--virtual-time-budget=10000", "--dump-dom", copy.absoluteString]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        final class Collected: @unchecked Sendable { var data = Data() }
        let errors = Collected()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errors.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        group.wait()
        process.waitUntilExit()
        guard let open = dom.range(of: "<pre id=\"\(marker)\">"), let close = dom.range(of: "</pre>", range: open.upperBound..<dom.endIndex) else {
            throw Failure(description: "\(page.path): the browser did not finish loading the page (status \(process.terminationStatus)): "
                          + String(decoding: errors.data, as: UTF8.self).suffix(600))
        }
        let json = String(dom[open.upperBound..<close.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let count = object["images"] as? Int, let broken = object["broken"] as? [Any] else {
            throw Failure(description: "\(page.path): unexpected browser check output \(json)")
        }
        return PageCheck(images: count, broken: broken.map { "\($0)" })
    }
}
