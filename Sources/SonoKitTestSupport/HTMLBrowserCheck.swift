import Foundation

/// Opens an HTML page in a real headless browser (Debian's `chromium`, installed by
/// scripts/setup.sh) and reports, for every `<img>` of the page, whether the browser could load
/// and decode it.
///
/// How: a copy of the page is written next to it (so relative picture paths resolve the same way)
/// with a small script appended that, once the window's `load` event has fired (every picture has
/// loaded or failed), writes a JSON list `[{src, ok, width, height}]` into an attribute of
/// `<body>`. `chromium --headless --dump-dom` prints the DOM after the load, and the list is read
/// back from it. A picture is loaded iff `img.complete && img.naturalWidth > 0`: a missing file, a
/// corrupt PNG or an SVG that does not parse all give naturalWidth 0. The page itself is never
/// changed, so reports carry no script.
public enum HTMLBrowserCheck {
    public struct ImageState: Decodable, Equatable, Sendable {
        public var src: String
        public var ok: Bool
        public var width: Int
        public var height: Int
    }

    public struct Result: Sendable {
        public var images: [ImageState]
        public var title: String?
        public var broken: [ImageState] { images.filter { !$0.ok } }
    }

    public enum Failure: Error, CustomStringConvertible {
        case noBrowser
        case browserFailed(status: Int32, stderr: String)
        case noResult(dom: String)

        public var description: String {
            switch self {
            case .noBrowser: return "chromium not found: install it with scripts/setup.sh (Debian package 'chromium')"
            case .browserFailed(let status, let stderr): return "chromium exited with \(status): \(stderr.suffix(2000))"
            case .noResult(let dom): return "the check script left no result in the DOM (did the page load?): \(dom.prefix(500))"
            }
        }
    }

    public static let marker = "data-sonokit-image-check"

    public static var browser: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Loads `page` in headless chromium and returns the state of each of its pictures.
    public static func check(page: URL) throws -> Result {
        guard let browser else { throw Failure.noBrowser }
        let html = try String(contentsOf: page, encoding: .utf8)
        let script = """
        <script>
        window.addEventListener('load', function () {
          var list = Array.prototype.map.call(document.images, function (img) {
            return { src: img.getAttribute('src').slice(0, 120), ok: img.complete && img.naturalWidth > 0,
                     width: img.naturalWidth, height: img.naturalHeight };
          });
          document.body.setAttribute('\(marker)', JSON.stringify(list));
        });
        </script>
        """
        guard let end = html.range(of: "</body>", options: .backwards) else { throw Failure.noResult(dom: "no </body> in \(page.path)") }
        let probe = page.deletingLastPathComponent().appendingPathComponent(".browser-check-\(UUID().uuidString).html")
        try (html.replacingCharacters(in: end, with: script + "\n</body>")).write(to: probe, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: probe) }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
                             "--user-data-dir=\(profile.path)", "--virtual-time-budget=10000", "--dump-dom", probe.absoluteString]
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = profile.path
        process.environment = environment
        // --virtual-time-budget is 10 s of page time; a browser alive after 2 minutes is hung.
        let output = try ChildProcess.run(process, timeout: 120)
        guard output.status == 0 else {
            throw Failure.browserFailed(status: output.status, stderr: output.stderr)
        }
        let dom = output.stdout
        // The attribute value is HTML-escaped JSON inside double quotes.
        guard let start = dom.range(of: "\(marker)=\"") else { throw Failure.noResult(dom: dom) }
        let rest = dom[start.upperBound...]
        guard let close = rest.firstIndex(of: "\"") else { throw Failure.noResult(dom: dom) }
        let json = String(rest[..<close]).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        let images = try JSONDecoder().decode([ImageState].self, from: Data(json.utf8))
        var title: String?
        if let t0 = dom.range(of: "<title>"), let t1 = dom.range(of: "</title>", range: t0.upperBound..<dom.endIndex) {
            title = String(dom[t0.upperBound..<t1.lowerBound])
        }
        return Result(images: images, title: title)
    }
}
