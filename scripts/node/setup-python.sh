#!/usr/bin/env bash
# The Python of the DICOM node's tests: a venv with pynetdicom (PyPI; with pydicom), an SCU that
# shares no code with DCMTK, created on first use and quiet afterwards. Prints the venv's python on
# standard output (callers capture it).
#
#   scripts/node/setup-python.sh            # -> $HOME/.cache/sonokit/node-venv/bin/python
#   SONOKIT_NODE_VENV=/some/dir scripts/node/setup-python.sh
#
# scripts/test.sh runs it; the Listen* tests find the venv there (or through SONOKIT_NODE_PYTHON).
set -euo pipefail
venv="${SONOKIT_NODE_VENV:-$HOME/.cache/sonokit/node-venv}"
requirements=(pynetdicom==3.0.4 pydicom==3.0.2)
if ! "$venv/bin/python" -c "import pynetdicom, pydicom" >/dev/null 2>&1; then
  echo "setup-python: creating $venv with ${requirements[*]}" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}" >&2
fi
echo "$venv/bin/python"
