#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole test suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build --parallel --num-workers 2
