#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole test suite. CI runs exactly this.
# Ends with one closing line, "XCTest: N passed, F failed", read from the xUnit report (the
# parallel runner prints only failures; SwiftPM's report counts skipped tests as passed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The ONNX export tests check exported models with ONNX's checker and ONNX Runtime (PyPI, in a venv).
scripts/onnx/setup-python.sh >/dev/null
# The DICOM node tests use pynetdicom as a second, independent SCU (PyPI, in a venv).
scripts/node/setup-python.sh >/dev/null
swift build --build-tests
report="$(mktemp -d)"
trap 'rm -rf "$report"' EXIT
swift test --skip-build --parallel --num-workers 2 --xunit-output "$report/xunit.xml"
tests=$(grep -o 'tests="[0-9]*"' "$report/xunit.xml" | head -1 | tr -dc 0-9)
failures=$(grep -o 'failures="[0-9]*"' "$report/xunit.xml" | head -1 | tr -dc 0-9)
errors=$(grep -o 'errors="[0-9]*"' "$report/xunit.xml" | head -1 | tr -dc 0-9)
echo "XCTest: $((tests - failures - errors)) passed, $((failures + errors)) failed"
