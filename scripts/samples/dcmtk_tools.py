"""Thin wrappers around the DCMTK command-line tools used to encode the sample files.

Every encoding in SampleStudies is produced by DCMTK itself (dcmcjpeg, dcmcjpls, dcmcrle, dcmconv,
img2dcm), so the compressed bitstreams are exactly what DCMTK writes; pydicom only writes the
native explicit-little-endian input they start from.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Transfer syntax UIDs by the short names used in the generator and README.
TRANSFER_SYNTAX = {
    "implicit-le": "1.2.840.10008.1.2",
    "explicit-le": "1.2.840.10008.1.2.1",
    "deflate": "1.2.840.10008.1.2.1.99",
    "big-endian": "1.2.840.10008.1.2.2",
    "jpeg-baseline": "1.2.840.10008.1.2.4.50",
    "jpeg-extended": "1.2.840.10008.1.2.4.51",
    "jpeg-lossless": "1.2.840.10008.1.2.4.57",
    "jpeg-lossless-sv1": "1.2.840.10008.1.2.4.70",
    "jpeg-ls-lossless": "1.2.840.10008.1.2.4.80",
    "jpeg-ls-near-lossless": "1.2.840.10008.1.2.4.81",
    "jpeg2000-lossless": "1.2.840.10008.1.2.4.90",
    "jpeg2000": "1.2.840.10008.1.2.4.91",
    "rle": "1.2.840.10008.1.2.5",
}


class ToolError(RuntimeError):
    pass


def run(args: list[str]) -> str:
    """Run a DCMTK tool; raise with its stderr if it fails. Returns stderr (warnings)."""
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise ToolError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stderr


# How each encoding is made from a native explicit-VR-little-endian file. "+un" keeps the SOP
# Instance UID for lossy encodings too (the default would invent a random one).
ENCODERS: dict[str, list[str]] = {
    "explicit-le": [],
    "implicit-le": ["dcmconv", "+ti"],
    "big-endian": ["dcmconv", "+tb"],
    "deflate": ["dcmconv", "+td"],
    "jpeg-baseline": ["dcmcjpeg", "+eb", "+un"],
    "jpeg-baseline-rgb": ["dcmcjpeg", "+eb", "+cr", "+un"],
    "jpeg-baseline-444": ["dcmcjpeg", "+eb", "+s4", "+un"],
    "jpeg-extended": ["dcmcjpeg", "+ee", "+un"],
    "jpeg-lossless": ["dcmcjpeg", "+el"],
    "jpeg-lossless-sv1": ["dcmcjpeg", "+e1"],
    "rle": ["dcmcrle"],
    "jpeg-ls-lossless": ["dcmcjpls", "+el"],
    "jpeg-ls-near-lossless": ["dcmcjpls", "+en", "+un"],
}


def encode(encoding: str, native: Path, out: Path) -> str:
    """Write `out` as `native` re-encoded with `encoding` (a key of ENCODERS)."""
    tool = ENCODERS[encoding]
    out.parent.mkdir(parents=True, exist_ok=True)
    if not tool:
        shutil.copyfile(native, out)
        return ""
    return run(tool + [str(native), str(out)])
