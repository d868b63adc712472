#!/usr/bin/env python3
"""Checks a model written by `sonokit export --format onnx` with ONNX's own tools.

    python check_onnx.py MODEL.onnx CASE_DIR

CASE_DIR holds what SonoKit computed:
  inputs.f32     the preprocessed frames, float32 little endian, in the model's input layout
  expected.json  {"shape": [N, ...], "probabilities": [N values from SonoKit's predict],
                  "tolerance": 1e-5, "metadata": {key: value, ...}}

Checks, in order (the first failure exits 1 with a sentence on stderr):
  1. onnx.checker.check_model(model, full_check=True)   (structure, opset, strict shape inference)
  2. metadata_props equal expected.json's metadata, key for key
  3. the preprocessing round-trips: SHA-256 of sonokit.preprocess_canonical is
     sonokit.preprocess_canonical_sha256; sonokit.preprocess parses as JSON with the same size and
     normalisation as sonokit.input_size and sonokit.normalization (whether that hash is also the
     run's sonokit.preprocess_hash is reported, not required: a run trained by a SonoKit with
     another preprocessing algorithm version differs there, and the export says so)
  4. ONNX Runtime (CPU) on the inputs: output (N, 1), max |p_onnxruntime - p_sonokit| <= tolerance
Prints one JSON line: {"max_abs_difference", "frames", "onnx", "onnxruntime", "opset", "ir_version",
"preprocess_hash_matches"}.
The same text is embedded in Sources/ModelExport/ONNXCheck.swift (a test keeps them equal).
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def fail(message):
    print(f"check_onnx: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail("usage: check_onnx.py MODEL.onnx CASE_DIR")
    model_path, case = sys.argv[1], sys.argv[2]
    with open(os.path.join(case, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    model = onnx.load(model_path)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # the checker's own exception types differ between versions
        fail(f"onnx.checker.check_model: {e}")

    metadata = {p.key: p.value for p in model.metadata_props}
    for key, value in expected["metadata"].items():
        if metadata.get(key) != value:
            fail(f"metadata {key}: {metadata.get(key)!r}, expected {value!r}")
    extra = sorted(set(metadata) - set(expected["metadata"]))
    if extra:
        fail(f"metadata keys not expected: {extra}")
    canonical = metadata["sonokit.preprocess_canonical"]
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    if digest != metadata["sonokit.preprocess_canonical_sha256"]:
        fail("SHA-256 of sonokit.preprocess_canonical differs from sonokit.preprocess_canonical_sha256")
    pre = json.loads(metadata["sonokit.preprocess"])
    if str(pre["size"]) != metadata["sonokit.input_size"] or pre["normalize"] != metadata["sonokit.normalization"]:
        fail(f"sonokit.preprocess {pre} disagrees with sonokit.input_size / sonokit.normalization")

    shape = expected["shape"]
    x = np.fromfile(os.path.join(case, "inputs.f32"), dtype="<f4").reshape(shape)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != ["input"] or [o.name for o in outputs] != ["probability"]:
        fail(f"tensors {[i.name for i in inputs]} -> {[o.name for o in outputs]}, expected ['input'] -> ['probability']")
    (p,) = session.run(["probability"], {"input": x})
    classes = int(expected.get("outputs", 1))
    if p.shape != (shape[0], classes):
        fail(f"output shape {p.shape}, expected ({shape[0]}, {classes})")
    want = np.asarray(expected["probabilities"], dtype=np.float64).reshape(shape[0], classes)
    diff = float(np.max(np.abs(p.astype(np.float64) - want))) if want.size else 0.0
    if not diff <= expected["tolerance"]:
        fail(f"ONNX Runtime's probabilities differ from SonoKit's by up to {diff:.3g} (tolerance {expected['tolerance']})")
    print(json.dumps({"max_abs_difference": diff, "frames": int(shape[0]), "onnx": onnx.__version__,
                      "onnxruntime": ort.__version__, "opset": model.opset_import[0].version,
                      "ir_version": model.ir_version,
                      "preprocess_hash_matches": digest == metadata["sonokit.preprocess_hash"]}))


if __name__ == "__main__":
    main()
