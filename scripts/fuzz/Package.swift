// swift-tools-version:6.0
// libFuzzer targets over SonoKit's untrusted-input parsers, kept out of the root package so that
// the normal build and tests never see them. Built and run by ../fuzz.sh (see the README there):
//   swift build -c debug --sanitize=fuzzer --sanitize=address ...
// FuzzDicomReader: DICOM bytes -> DicomFile (header, metadata, ultrasound regions) -> every frame decoded.
// FuzzManifestParser: manifest bytes -> ManifestParser.parse.
import PackageDescription

let package = Package(
    name: "SonoKitFuzz",
    dependencies: [.package(name: "SonoKit", path: "../..")],
    targets: [
        .executableTarget(name: "FuzzDicomReader", dependencies: [.product(name: "DICOM", package: "SonoKit")]),
        .executableTarget(name: "FuzzManifestParser", dependencies: [.product(name: "Manifest", package: "SonoKit")]),
    ],
    swiftLanguageModes: [.v5]
)
