#!/usr/bin/env bash
# The C++ shim (Sources/CDCMTK) and the reader's tests under AddressSanitizer and
# UndefinedBehaviorSanitizer, in one instrumented build (.build-sanitizers/): AddressSanitizer on
# Swift, C and C++; UndefinedBehaviorSanitizer on C and C++ (swiftc has no -sanitize=undefined;
# Swift's own overflow and bounds checks are on in this debug build). Its handlers come from the
# AddressSanitizer runtime, the only one the Swift toolchain links (so no vptr/function checks,
# which need the C++ runtime part). Usage:
#
#     scripts/sanitizers.sh [TEST-FILTER]
#
# The default filter: the reader (DICOMTests: DCMTK shim, libjpeg-turbo path, SR writer), and the
# cheap suites over C libraries or hot Swift loops: Catalog (SQLite), Imaging (libpng), Preprocess,
# Manifest, Synthesis (DICOM written through DCMTK), Evaluation, SonoKitCore. About 1 minute of
# tests after the build.
#
# A memory error (out-of-bounds, use-after-free, double free) or undefined behaviour (overflow of
# a signed integer, misaligned or null pointer, shift out of range, invalid enum/bool) ends the
# test run with the sanitizer's report and a failure. Leaks are not checked here (the Swift
# runtime's and Foundation's one-time allocations would be reported); the fuzz targets check them.
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-DICOMTests|CatalogTests|ImagingTests|PreprocessTests|ManifestTests|SynthesisTests|EvaluationTests|SonoKitCoreTests}"
flags=(--scratch-path .build-sanitizers --sanitize=address
       -Xcc -fsanitize=undefined -Xcc -fno-sanitize=vptr,function -Xcc -fno-sanitize-recover=undefined)
start=$SECONDS
swift build --build-tests "${flags[@]}"
echo "sanitizers: built with AddressSanitizer and UndefinedBehaviorSanitizer in $((SECONDS - start)) s"
start=$SECONDS
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    swift test --skip-build "${flags[@]}" --filter "$filter"
echo "sanitizers: $filter passed under AddressSanitizer and UndefinedBehaviorSanitizer in $((SECONDS - start)) s"
