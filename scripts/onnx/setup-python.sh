#!/usr/bin/env bash
# The Python that checks exported ONNX models: a venv with ONNX's checker and ONNX Runtime (PyPI
# `onnx`, `onnxruntime`; numpy and pillow for the README example), created on first use and quiet
# afterwards. Prints the venv's python on standard output (callers capture it).
#
#   scripts/onnx/setup-python.sh            # -> $HOME/.cache/sonokit/onnx-venv/bin/python
#   SONOKIT_ONNX_VENV=/some/dir scripts/onnx/setup-python.sh
#
# `sonokit export --check` and the ModelExport tests find it there (or through SONOKIT_PYTHON).
# Versions pinned: the ones the exporter was tested with (opsets 13...21).
set -euo pipefail
venv="${SONOKIT_ONNX_VENV:-$HOME/.cache/sonokit/onnx-venv}"
requirements=(onnx==1.23.2 onnxruntime==1.32.0 numpy pillow)
if ! "$venv/bin/python" -c "import onnx, onnxruntime, numpy, PIL" >/dev/null 2>&1; then
  echo "setup-python: creating $venv with ${requirements[*]}" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}" >&2
fi
echo "$venv/bin/python"
