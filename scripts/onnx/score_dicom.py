#!/usr/bin/env python3
"""Scores one DICOM file with a model exported by `sonokit export --format onnx`, in Python with
ONNX Runtime, reproducing SonoKit's input from the model's own metadata (the README example).

    python score_dicom.py MODEL.onnx FILE.dcm [--sonokit PATH] [--work DIR]

1. Reads the model's metadata_props with ONNX Runtime: the preprocessing (sonokit.preprocess_canonical,
   whose SHA-256 must be sonokit.preprocess_canonical_sha256; a warning when that is not the run's
   sonokit.preprocess_hash), the normalisation formula, the input layout,
   the positive class, the threshold and the study aggregation rule.
2. Runs `sonokit preview FILE` with exactly those preprocessing options: its *-input.png files are
   the 8-bit frames the network sees (crop, resampling and frame choice done by SonoKit).
3. Normalises them with sonokit.normalization_formula (input = (pixel / divide_by - mean) / std, per
   channel in channel_order), lays them out as the model's input says, runs ONNX Runtime and
   aggregates the frames' probabilities by the model's rule.
Prints one JSON object: the frames' probabilities, the aggregate, the threshold and the decision.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from PIL import Image


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("dicom")
    ap.add_argument("--sonokit", default="sonokit", help="the sonokit executable (default: on PATH)")
    ap.add_argument("--work", help="folder for the preview pictures (default: a temporary folder)")
    args = ap.parse_args()

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    canonical = meta["sonokit.preprocess_canonical"]
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    if digest != meta["sonokit.preprocess_canonical_sha256"]:
        raise SystemExit("the model's preprocessing metadata does not match its hash")
    if digest != meta["sonokit.preprocess_hash"]:
        print("warning: the run was trained with another preprocessing algorithm version "
              f"({meta['sonokit.preprocess_hash'][:12]}, now {digest[:12]}): frames may differ from the training frames",
              file=sys.stderr)
    pre = json.loads(canonical)
    formula = json.loads(meta["sonokit.normalization_formula"])

    # 2. SonoKit's own preprocessing, with the model's options.
    work = args.work or tempfile.mkdtemp(prefix="sonokit-onnx-example-")
    preview = os.path.join(work, "preview")
    command = [args.sonokit, "preview", args.dicom, "-o", preview,
               "--frames", pre["frames"], "--crop", pre["crop"], "--aspect", pre["aspect"],
               "--interpolation", pre["interpolation"], "--normalize", pre["normalize"], "--size", str(pre["size"])]
    if pre["window"] is not None:
        command += ["--window", f'{pre["window"]["center"]},{pre["window"]["width"]}']
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    pictures = glob.glob(os.path.join(preview, "*", "*-input.png"))
    pictures.sort(key=lambda p: int(re.search(r"-f(\d+)-input\.png$", p).group(1)))
    if not pictures:
        raise SystemExit(f"sonokit preview selected no frame of {args.dicom}")

    # 3. Normalise, lay out, score.
    rgb = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) for p in pictures])  # (N, H, W, 3) RGB
    x = rgb[..., ::-1] if formula["channel_order"] == "BGR" else rgb
    x = (x / np.float32(formula["divide_by"]) - np.asarray(formula["mean"], np.float32)) / np.asarray(formula["std"], np.float32)
    x = x.astype(np.float32)
    if meta["sonokit.input_layout"] == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    (p,) = session.run(["probability"], {"input": np.ascontiguousarray(x)})
    frames = [float(v) for v in p[:, 0]]

    rule = meta["sonokit.aggregation"]
    if rule == "mean":
        aggregate = float(np.mean(frames))
    elif rule == "max":
        aggregate = max(frames)
    else:  # vote or vote=tau: the fraction of frames at or above the frame threshold
        tau = 0.5 if rule == "vote" else float(rule.split("=")[1])
        aggregate = sum(v >= tau for v in frames) / len(frames)
    threshold = float(meta["sonokit.threshold"]) if meta["sonokit.threshold"] else None
    classes = json.loads(meta["sonokit.classes"])
    positive = meta["sonokit.positive_class"]
    negative = next((c for c in classes if c != positive), None)
    print(json.dumps({
        "frames": [{"frame": int(re.search(r"-f(\d+)-input\.png$", f).group(1)), "probability": v} for f, v in zip(pictures, frames)],
        "aggregation": rule, "probability": aggregate, "threshold": threshold,
        "label": None if threshold is None else (positive if aggregate >= threshold else negative),
    }))


if __name__ == "__main__":
    main()
