#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs `sonokit demo` on SampleStudies/.
# Extra arguments go to `sonokit demo` (e.g. -o DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product sonokit
.build/release/sonokit demo "$@"
