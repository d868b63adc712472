#!/usr/bin/env python3
"""Check that every image in SampleStudies/ decodes, every frame, with DCMTK's own converters.

    python3 scripts/samples/verify_samples.py SampleStudies [--png-dir DIR]

Debian's DCMTK 3.6.7 splits the converters by codec: dcm2pnm decodes native and RLE only,
dcmj2pnm adds JPEG (baseline, extended, lossless), dcml2pnm adds JPEG-LS. The right one is chosen
from the transfer syntax. Non-image objects (SR, KO) and DICOMDIR are listed and skipped.
With --png-dir, frame 1 of every image is kept as PNG for looking at.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pydicom

JPEG_LS = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}


def converter(ts: str) -> str:
    if ts in JPEG_LS:
        return "dcml2pnm"
    if ts.startswith("1.2.840.10008.1.2.4."):
        return "dcmj2pnm"
    return "dcm2pnm"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--png-dir", type=Path)
    args = ap.parse_args()
    failures, images, frames_total, skipped = 0, 0, 0, []
    for path in sorted(p for p in args.root.rglob("*") if p.is_file()):
        rel = path.relative_to(args.root)
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except pydicom.errors.InvalidDicomError:
            skipped.append(f"{rel} (not DICOM)")
            continue
        if "PixelData" not in pydicom.dcmread(path, specific_tags=["PixelData"]) or path.name == "DICOMDIR":
            skipped.append(f"{rel} ({ds.get('Modality', 'DICOMDIR')}, no pixel data)")
            continue
        ts = str(ds.file_meta.TransferSyntaxUID)
        n = int(ds.get("NumberOfFrames", 1) or 1)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "frame"
            p = subprocess.run([converter(ts), "+Fa", "+on", "-il", str(path), str(out)], capture_output=True, text=True)
            made = sorted(Path(tmp).glob("frame*.png"))
            ok = p.returncode == 0 and len(made) == n and not p.stderr.strip()
            if args.png_dir and made:
                args.png_dir.mkdir(parents=True, exist_ok=True)
                name = str(rel).replace("/", "_")
                (args.png_dir / f"{name}.png").write_bytes(made[0].read_bytes())
        images += 1
        frames_total += n
        if not ok:
            failures += 1
            print(f"FAIL {rel}: {converter(ts)} rc={p.returncode}, {len(made)}/{n} frames\n{p.stderr}")
    for s in skipped:
        print(f"skipped {s}")
    print(f"{images} images, {frames_total} frames decoded by DCMTK, {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
