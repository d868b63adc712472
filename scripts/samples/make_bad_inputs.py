#!/usr/bin/env python3
"""Write the bad-input fixtures for the DICOM reader tests (deterministic, each file < 100 KB).

    python3 scripts/samples/make_bad_inputs.py --out Tests/DICOMTests/Fixtures/bad

Every file starts from the same small, valid synthetic ultrasound image (a 160x120 RGB sector fan
rendered by bmode.py, written by pydicom) and breaks exactly one thing. The README.md in the output
folder lists the files and the error the reader must give for each.
"""
from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bmode import PROBES, FanGeometry, random_scene, render_frames  # noqa: E402
from dcmtk_tools import TRANSFER_SYNTAX, run  # noqa: E402

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
SEED = 20261125
W, H = 160, 120


def uid(n: int) -> str:
    # Fixed UIDs under 2.25 (decimal of a fixed 128-bit pattern + n): readable and deterministic.
    return f"2.25.{0x5E0C17BAD0000000000000000000000 + n}"


def small_fan(frames=1) -> np.ndarray:
    rng = np.random.default_rng([SEED, 99])
    probe = PROBES["C5-2"]
    g = FanGeometry.fit(probe, 10.0, (0, 0, W, H), (4, 4, 4, 4))
    scene = random_scene(rng, probe, 10.0, None, cyst=True, cine=frames > 1)
    imgs, _ = render_frames(g, scene, frames, H, W)
    grey = np.stack([np.rint(np.clip(i, 0, 255)).astype(np.uint8) for i in imgs])
    return np.repeat(grey[..., None], 3, axis=3)   # [frames, H, W, 3]


def base_dataset(n: int, rgb: np.ndarray) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
    frames = rgb.shape[0]
    ds.SOPClassUID = US_MULTIFRAME if frames > 1 else US_IMAGE
    ds.SOPInstanceUID = uid(n)
    ds.StudyDate = ds.ContentDate = "20250101"
    ds.StudyTime = ds.ContentTime = "120000"
    ds.AccessionNumber = "SKBAD0001"
    ds.Modality = "US"
    ds.Manufacturer = "SonoKit Synthetic"
    ds.ReferringPhysicianName = ""
    ds.PatientName = "SYNTH^BADINPUT"
    ds.PatientID = "SKPBAD01"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = uid(1000)
    ds.SeriesInstanceUID = uid(2000)
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = n
    ds.BurnedInAnnotation = "NO"
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = H, W
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
        ds.FrameTime = "40.0"
        ds.FrameIncrementPointer = 0x00181063
    ds.PixelData = rgb.tobytes()
    return ds


def save(ds: Dataset, path: Path, ts=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ts
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    if "PixelData" in ds:
        ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)


def pixel_data_offset(raw: bytes) -> int:
    """Byte offset of the value of the top-level (7FE0,0010) element in an explicit-LE file."""
    tag = b"\xe0\x7f\x10\x00"
    pos = raw.rfind(tag)
    assert pos > 0
    # tag (4) + VR "OB" (2) + reserved (2) + 32-bit length (4)
    return pos + 12


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("Tests/DICOMTests/Fixtures/bad"))
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for p in out.glob("*.dcm"):
        p.unlink()
    rgb = small_fan()

    with tempfile.TemporaryDirectory() as tmp:
        good = Path(tmp) / "good.dcm"
        save(base_dataset(1, rgb), good)
        raw = good.read_bytes()
        pix = pixel_data_offset(raw)

        # Native file cut in the middle of the pixel data (half of it is there).
        (out / "truncated.dcm").write_bytes(raw[:pix + (len(raw) - pix) // 2])

        # Cut inside the header, in the middle of the SOPInstanceUID value (an element whose
        # length says more bytes follow than the file has), far before the pixel data.
        sop = raw.find(uid(1).encode(), raw.find(uid(1).encode()) + 1)   # the data set's, not the meta's
        (out / "truncated-header.dcm").write_bytes(raw[:sop + 10])

        # A JPEG baseline file cut in the middle of its only fragment.
        jpeg = Path(tmp) / "jpeg.dcm"
        run(["dcmcjpeg", "+eb", "+un", str(good), str(jpeg)])
        jraw = jpeg.read_bytes()
        frag = jraw.rfind(b"\xff\xd8\xff")
        (out / "truncated-jpeg.dcm").write_bytes(jraw[:frag + (len(jraw) - frag) // 2])

    (out / "not-dicom.dcm").write_text(
        "This is a plain text file with a .dcm name.\n"
        "Exports often contain such files (notes, checksums, viewer leftovers).\n")

    # A US image object whose (7FE0,0010) element is missing.
    ds = base_dataset(2, rgb)
    del ds.PixelData
    save(ds, out / "no-pixel-data.dcm")

    # JPEG 2000 Lossless (1.2.840.10008.1.2.4.90): a real reversible-wavelet codestream written by
    # Pillow/OpenJPEG, no multi-component transform, so the photometric interpretation stays RGB.
    buf = io.BytesIO()
    Image.fromarray(rgb[0]).save(buf, format="JPEG2000", no_jp2=True, irreversible=False, mct=0)
    codestream = buf.getvalue()
    back = np.asarray(Image.open(io.BytesIO(codestream)).convert("RGB"))
    assert np.array_equal(back, rgb[0]), "JPEG 2000 round trip is not lossless"
    ds = base_dataset(3, rgb)
    ds.PixelData = encapsulate([codestream])
    ds.LossyImageCompression = "00"
    save(ds, out / "jpeg2000.dcm", ts=TRANSFER_SYNTAX["jpeg2000-lossless"])

    # Native pixel data holding only the first half of the rows.
    ds = base_dataset(4, rgb)
    ds.PixelData = rgb[0, : H // 2].tobytes()
    save(ds, out / "short-pixel-data.dcm")

    # Rows = 0 (pixel data still there).
    ds = base_dataset(5, rgb)
    ds.Rows = 0
    save(ds, out / "zero-rows.dcm")

    # Multi-frame object with NumberOfFrames = 0 (pixel data of one frame still there).
    ds = base_dataset(6, small_fan(frames=2))
    ds.NumberOfFrames = 0
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]   # one frame's worth keeps the file small
    save(ds, out / "zero-frames.dcm")

    for p in sorted(out.glob("*.dcm")):
        size = p.stat().st_size
        assert size < 100_000, (p, size)
        print(f"{p.name:24s} {size:7d} bytes")


if __name__ == "__main__":
    main()
