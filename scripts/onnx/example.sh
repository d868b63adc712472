#!/usr/bin/env bash
# The README example: export a trained run to ONNX, then score one DICOM file in Python with ONNX
# Runtime, the input reproduced from the model's metadata (scripts/onnx/score_dicom.py).
#
#   scripts/onnx/example.sh RUN_DIR FILE.dcm OUT_DIR [SONOKIT]
#
# SONOKIT is the sonokit executable (default: sonokit on PATH). Prints score_dicom.py's JSON.
# CLITests.ExportCommandTests runs it and compares the probabilities with `sonokit predict`'s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
run="$1" dicom="$2" out="$3" sonokit="${4:-sonokit}"
python="$("$here/setup-python.sh")"
mkdir -p "$out"
"$sonokit" export "$run" --format onnx -o "$out/model.onnx" >&2
"$python" "$here/score_dicom.py" "$out/model.onnx" "$dicom" --sonokit "$sonokit" --work "$out"
