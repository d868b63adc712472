#!/usr/bin/env python3
"""The reference pipeline for `sonokit-bench preprocess`: what a user would write with pydicom,
Pillow and numpy, run on the same frames and crop boxes SonoKit uses.

Per instance: pydicom.dcmread -> .pixel_array (pydicom decodes every frame and converts YBR to RGB)
-> for grayscale, apply_voi_lut (file window or VOI LUT) then min/max to 8 bits, MONOCHROME1
inverted, replicated to 3 channels -> for each selected frame: crop (numpy slice) ->
PIL ImageOps.pad(size x size, BILINEAR, black) -> float32 -> caffe (RGB->BGR, minus ImageNet
means; what keras.applications.vgg16.preprocess_input does).

    python3 scripts/bench/preprocess_reference.py --worklist work.json --processes 2 --repeats 3

The work list (written by `sonokit-bench preprocess`) is JSON:
  {"size": 224, "items": [{"path": "...", "frames": [0, 3], "crop": [x, y, width, height]}, ...]}
Prints one line: RESULT {"frames": N, "seconds": best wall time, "processes": P, ...}.
Imports and process start-up are outside the timed region (a pool is warmed up first).
"""
import argparse
import json
import multiprocessing as mp
import time

import numpy as np
import PIL
import pydicom
from PIL import Image, ImageOps
from pydicom.pixels import apply_voi_lut

CAFFE_MEANS_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
SIZE = 224


def to_rgb8(ds, arr):
    """8-bit RGB frames (F, H, W, 3) from pydicom's pixel_array."""
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if ds.SamplesPerPixel == 3:
        rgb = arr if frames > 1 else arr[None]
        return rgb.astype(np.uint8, copy=False)
    gray = arr if frames > 1 else arr[None]
    out = []
    for f in gray:
        v = apply_voi_lut(f, ds).astype(np.float32)
        lo, hi = float(v.min()), float(v.max())
        v = (v - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(v)
        if ds.PhotometricInterpretation == "MONOCHROME1":
            v = 255.0 - v
        g = np.clip(np.rint(v), 0, 255).astype(np.uint8)
        out.append(np.repeat(g[..., None], 3, axis=-1))
    return np.stack(out)


STAGES = {"decode": 0.0, "preprocess": 0.0}


def process(item):
    t0 = time.perf_counter()
    ds = pydicom.dcmread(item["path"])
    rgb = to_rgb8(ds, ds.pixel_array)
    t1 = time.perf_counter()
    x, y, w, h = item["crop"]
    n = 0
    for f in item["frames"]:
        crop = np.ascontiguousarray(rgb[f, y:y + h, x:x + w])
        im = ImageOps.pad(Image.fromarray(crop, "RGB"), (SIZE, SIZE), Image.BILINEAR, color=(0, 0, 0))
        t = np.asarray(im, dtype=np.float32)[..., ::-1] - CAFFE_MEANS_BGR
        assert t.shape == (SIZE, SIZE, 3)
        n += 1
    STAGES["decode"] += t1 - t0
    STAGES["preprocess"] += time.perf_counter() - t1
    return n


def init(size):
    global SIZE
    SIZE = size


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worklist", required=True)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with open(args.worklist) as f:
        work = json.load(f)
    items = work["items"]
    init(work.get("size", 224))
    best = float("inf")
    frames = 0
    stages = None
    if args.processes == 1:
        process(items[0])  # warm caches and lazy imports
        for _ in range(max(1, args.repeats)):
            STAGES["decode"] = STAGES["preprocess"] = 0.0
            t0 = time.perf_counter()
            frames = sum(process(it) for it in items)
            elapsed = time.perf_counter() - t0
            if elapsed < best:
                best = elapsed
                stages = {k: round(1000 * v / max(1, frames), 3) for k, v in STAGES.items()}
    else:
        with mp.get_context("fork").Pool(args.processes, initializer=init, initargs=(work.get("size", 224),)) as pool:
            pool.map(process, items[: args.processes])  # warm-up
            for _ in range(max(1, args.repeats)):
                t0 = time.perf_counter()
                frames = sum(pool.map(process, items, chunksize=1))
                best = min(best, time.perf_counter() - t0)
    print("RESULT " + json.dumps({"frames": frames, "seconds": best, "processes": args.processes, "ms_per_frame": stages,
                                  "versions": f"pydicom {pydicom.__version__} / pillow {PIL.__version__} / numpy {np.__version__}"}),
          flush=True)


if __name__ == "__main__":
    main()
