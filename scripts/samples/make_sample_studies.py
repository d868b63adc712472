#!/usr/bin/env python3
"""Generate SonoKit's SampleStudies/: synthetic ultrasound DICOM studies, deterministic from a seed.

    python3 scripts/samples/make_sample_studies.py --seed 20261125 --out SampleStudies

What is made (see scripts/samples/README.md for the table of files):
- 30 synthetic patients, 40 studies (10 patients have two), one US series of 1-3 instances per
  study; 20 studies are "malignant" (a solid hypoechoic mass with posterior shadowing in every
  image), 20 "benign" (no mass; anechoic cysts with posterior enhancement, vessels and a diaphragm
  occur in both classes so that "any dark blob" is not the answer).
- Sector fans (convex and phased probes) with speckle, burned-in text, a depth ruler, a grey bar,
  coloured UI text; single frames and cine loops; SequenceOfUltrasoundRegions on most files (one
  tissue region; a grey-bar region or a second tissue region with different spacing in a few).
- Encodings produced by DCMTK's own tools from native files written by pydicom.
- Two synthetic sites with two export layouts: SITEA/ is a DICOMDIR file set (names without
  extension, DICOMDIR at the top of the output), site-b/ is a folder tree with .dcm names.
- A Basic Text SR and a Key Object Selection document (indexed, never decoded).
- labels.csv: study_uid,label,patient_id,site.
- labels-multiclass.csv: the same studies in three ordered classes that the pictures differ by
  (`multiclass_label`): benign (no mass), small-mass (the malignant mass's longest diameter
  2·max(a, b) <= 2 cm, the T1 limit of breast-cancer staging) and large-mass (> 2 cm); declared in
  its header comment as a multi-class, ordinal task. `--labels-only` rewrites the two label files
  from the seed's plan without rendering anything (the pictures do not change).

Determinism: every random choice comes from numpy Generators seeded from --seed, UIDs are
2.25.<128-bit integer from SHA-256(seed, kind, index)>, dates are fixed, and the one random UID a
DCMTK tool writes (the DICOMDIR's MediaStorageSOPInstanceUID) is replaced. Running twice gives
byte-identical files on the same machine (same DCMTK, numpy, Pillow).
"""
from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import hashlib
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bmode import PROBES, FanGeometry, random_scene, render_frames  # noqa: E402
from dcmtk_tools import TRANSFER_SYNTAX, encode, run  # noqa: E402

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"

GIVEN_NAMES = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA",
               "JULIETT", "KILO", "LIMA", "MIKE", "NOVEMBER", "OSCAR", "PAPA", "QUEBEC", "ROMEO",
               "SIERRA", "TANGO", "UNIFORM", "VICTOR", "WHISKEY", "XRAY", "YANKEE", "ZULU",
               "AURORA", "BOREAS", "CIRRUS", "DRIZZLE"]

MODELS_BY_SITE = {"SITEA": ["SK-Sono 100", "SK-Sono 200 Pro"], "SITEB": ["SK-Sono 200 Pro", "SK-Pocket P1"]}
PROBES_BY_MODEL = {"SK-Sono 100": ["C5-2"], "SK-Sono 200 Pro": ["C6-1", "P4-2"], "SK-Pocket P1": ["C5-2", "P4-2"]}
SERIAL_BY_MODEL = {"SK-Sono 100": "SKS100-0042", "SK-Sono 200 Pro": "SKS200-0917", "SK-Pocket P1": "SKP1-3301"}

WHITE, GREEN, YELLOW, CYAN, GREY = (236, 236, 236), (90, 222, 96), (244, 214, 64), (96, 200, 236), (170, 170, 170)


# MARK: Deterministic identifiers

class Ids:
    def __init__(self, seed: int):
        self.seed = seed

    def uid(self, kind: str, *index) -> str:
        """2.25.<int>: the integer is the first 128 bits of SHA-256(seed/kind/index) (PS3.5 B.2)."""
        h = hashlib.sha256(f"{self.seed}/{kind}/{'/'.join(map(str, index))}".encode()).digest()
        return "2.25." + str(int.from_bytes(h[:16], "big") or 1)

    def token(self, kind: str, *index, n=6) -> str:
        return hashlib.sha256(f"{self.seed}/{kind}/{'/'.join(map(str, index))}".encode()).hexdigest()[:n]


# MARK: The plan: patients, studies, instances, encodings

@dataclass
class Spec:
    """How one instance is stored."""
    encoding: str            # key of dcmtk_tools.ENCODERS or "img2dcm-jpeg"
    colour: str              # rgb | rgb-planar | ybr-full | mono2 | mono2-16 | mono1
    size: tuple              # (width, height)
    frames: int = 1
    dual: bool = False       # two tissue regions (two fans, different spacing)
    grey_bar_region: bool = False
    regions: bool = True


def encoding_specs(rng) -> list[Spec]:
    """The fixed multiset of instance encodings (57 instances); shuffled onto the instances."""
    L, M, S, C = (640, 480), (480, 360), (400, 300), (320, 240)
    specs = []
    specs += [Spec("jpeg-baseline", "rgb", L) for _ in range(13)]
    specs += [Spec("jpeg-baseline", "rgb", L, dual=True), Spec("jpeg-baseline", "rgb", L, grey_bar_region=True)]
    specs += [Spec("img2dcm-jpeg", "rgb", L) for _ in range(3)]
    specs += [Spec("jpeg-baseline-rgb", "rgb", L), Spec("jpeg-baseline-444", "rgb", L)]
    specs += [Spec("explicit-le", "rgb", S), Spec("explicit-le", "rgb", S, grey_bar_region=True),
              Spec("explicit-le", "rgb", S, dual=True)]
    specs += [Spec("explicit-le", "rgb-planar", S), Spec("explicit-le", "rgb-planar", S)]
    specs += [Spec("implicit-le", "rgb", S), Spec("big-endian", "rgb", S), Spec("deflate", "rgb", M)]
    specs += [Spec("rle", "rgb", M), Spec("rle", "rgb", M, grey_bar_region=True), Spec("rle", "rgb-planar", M),
              Spec("rle", "ybr-full", M)]
    specs += [Spec("jpeg-ls-lossless", "rgb", M) for _ in range(3)]
    specs += [Spec("jpeg-ls-near-lossless", "rgb", M), Spec("jpeg-lossless-sv1", "rgb", M),
              Spec("jpeg-lossless", "rgb", M)]
    # Greyscale single frames.
    specs += [Spec("explicit-le", "mono2", M) for _ in range(3)]
    specs += [Spec("explicit-le", "mono2-16", M), Spec("jpeg-ls-lossless", "mono2-16", M),
              Spec("jpeg-extended", "mono2-16", M), Spec("rle", "mono2", M), Spec("jpeg-baseline", "mono2", M),
              Spec("explicit-le", "mono1", M)]
    # Cine loops.
    specs += [Spec("jpeg-baseline", "rgb", C, frames=int(rng.integers(8, 17))) for _ in range(5)]
    specs += [Spec("explicit-le", "rgb", (256, 192), frames=8), Spec("rle", "rgb", (256, 192), frames=8),
              Spec("jpeg-ls-lossless", "rgb", (256, 192), frames=8), Spec("explicit-le", "mono2", C, frames=8),
              Spec("jpeg-lossless-sv1", "mono2", C, frames=8)]
    # Files without SequenceOfUltrasoundRegions: a few ordinary ones, never the region showcases.
    plain = [i for i, s in enumerate(specs) if not (s.dual or s.grey_bar_region)]
    for i in rng.choice(plain, size=8, replace=False):
        specs[int(i)].regions = False
    order = rng.permutation(len(specs))
    return [specs[int(i)] for i in order]


@dataclass
class Patient:
    index: int
    patient_id: str
    name: str
    birth_date: str
    sex: str
    site: str
    folder: str


@dataclass
class Study:
    index: int
    patient: Patient
    label: str
    date: dt.date
    time: str
    model: str
    probe: str
    uid: str
    series_uid: str
    accession: str
    lesion: dict | None
    instances: list = field(default_factory=list)


def plan(seed: int, ids: Ids):
    rng = np.random.default_rng([seed, 1])
    n_patients, n_studies = 30, 40
    patients = []
    sites = ["SITEA"] * 15 + ["SITEB"] * 15
    rng.shuffle(sites)
    for i in range(n_patients):
        birth = dt.date(1938, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 55)))
        site = sites[i]
        token = ids.token("patient-folder", i).upper()
        folder = f"P{token[:6]}" if site == "SITEA" else f"anon-{token[:6].lower()}"
        patients.append(Patient(i, f"SKP{i + 1:04d}", f"SYNTH^{GIVEN_NAMES[i]}", birth.strftime("%Y%m%d"),
                                ["F", "M", "O"][int(rng.integers(0, 3))], site, folder))
    owners = list(range(n_patients)) + [int(i) for i in rng.choice(n_patients, size=n_studies - n_patients,
                                                                     replace=False)]
    # Labels alternate within each site (random order), so that the site is not a proxy for the class.
    labels = [""] * n_studies
    first = "malignant"
    for site in ("SITEA", "SITEB"):
        members = [s for s, p in enumerate(owners) if patients[p].site == site]
        for k, s in enumerate(rng.permutation(members)):
            labels[int(s)] = first if k % 2 == 0 else ("benign" if first == "malignant" else "malignant")
        if len(members) % 2 == 1:
            first = "benign" if first == "malignant" else "malignant"
    # Instances per study, dealt alternately to the two classes so both get the same number of
    # images (no "more images = malignant" shortcut).
    counts_sorted = [3] * 4 + [2] * 9 + [1] * 27
    by_label = {"malignant": [], "benign": []}
    for i, c in enumerate(counts_sorted):
        by_label["malignant" if i % 2 == 0 else "benign"].append(c)
    for v in by_label.values():
        rng.shuffle(v)
    counts = [by_label[lab].pop() for lab in labels]
    # Device model alternates within (site, class) so that model is not a proxy for the class.
    model_turn = {(site, lab): int(rng.integers(0, 2)) for site in MODELS_BY_SITE for lab in by_label}
    studies = []
    first_date = {}
    for s, (p, label) in enumerate(zip(owners, labels)):
        pat = patients[p]
        if p in first_date:
            date = first_date[p] + dt.timedelta(days=int(rng.integers(60, 400)))
        else:
            date = dt.date(2024, 1, 8) + dt.timedelta(days=int(rng.integers(0, 300)))
            first_date[p] = date
        turn = model_turn[(pat.site, label)]
        model_turn[(pat.site, label)] += 1
        model = MODELS_BY_SITE[pat.site][turn % 2]
        probe = PROBES_BY_MODEL[model][int(rng.integers(0, len(PROBES_BY_MODEL[model])))]
        lesion = None
        if label == "malignant":
            a = float(rng.uniform(0.45, 1.7))
            lesion = dict(a=a, b=a * float(rng.uniform(0.6, 1.3)), irregularity=float(rng.uniform(0.02, 0.14)),
                          contrast=float(rng.uniform(0.12, 0.45)), shadow=float(rng.uniform(0.4, 0.85)),
                          halo=bool(rng.random() < 0.3))
        studies.append(Study(s, pat, label, date, f"{int(rng.integers(8, 18)):02d}{int(rng.integers(0, 60)):02d}00",
                             model, probe, ids.uid("study", s), ids.uid("series", s), f"SKA{s + 1:05d}", lesion))
        studies[-1].n_instances = counts[s]
    # Encodings are stratified by class: specs sorted by kind are dealt to the class whose share of
    # its slots is smaller, so every encoding, colour model and cine/single appears in both classes
    # as evenly as the counts allow.
    specs = encoding_specs(rng)
    assert sum(counts) == len(specs), (sum(counts), len(specs))
    slots = {lab: [(st, j) for st in studies if st.label == lab for j in range(st.n_instances)] for lab in by_label}
    for v in slots.values():
        order = rng.permutation(len(v))
        v[:] = [v[int(i)] for i in order]
    capacity = {lab: len(v) for lab, v in slots.items()}
    assigned = {}
    for spec in sorted(specs, key=lambda sp: (sp.regions, sp.frames > 1, sp.colour, sp.encoding, sp.size, sp.dual,
                                              sp.grey_bar_region, sp.regions)):
        lab = min(slots, key=lambda l: ((capacity[l] - len(slots[l])) / capacity[l], l) if slots[l] else (2, l))
        st, j = slots[lab].pop()
        assigned[(st.index, j)] = spec
    for st in studies:
        st.instances = [assigned[(st.index, j)] for j in range(st.n_instances)]
    return patients, studies


# MARK: Burned-in annotations

FONT = ImageFont.load_default_imagefont()   # Pillow's built-in bitmap font: crisp, no anti-aliasing


def draw_ui(img: Image.Image, geoms, st: Study, spec: Spec, frame: int, ui: dict):
    """Text, depth ruler, focus marker, orientation marker and grey bar; returns the grey bar box."""
    dr = ImageDraw.Draw(img)
    w, h = img.size
    g0 = geoms[0]
    dr.text((4, 2), f"SONOKIT DEMO  {st.probe}  {g0.depth_cm:g}cm", font=FONT, fill=WHITE)
    dr.text((4, 14), f"B  GN {ui['gain']}  DR {ui['dr']}  {PROBES[st.probe].freq_mhz:g}MHz", font=FONT, fill=GREEN)
    mi = f"MI {ui['mi']:.1f} TIS {ui['tis']:.1f}"
    dr.text((w - 6 - FONT.getbbox(mi)[2], 2), mi, font=FONT, fill=YELLOW)
    model = st.model.upper()
    dr.text((w - 6 - FONT.getbbox(model)[2], h - 13), model, font=FONT, fill=GREY)
    counter = f"F {frame + 1:02d}/{spec.frames:02d}" if spec.frames > 1 else "FRZ"
    dr.text((4, h - 13), counter, font=FONT, fill=WHITE)
    for g in geoms:
        # Depth ruler: a tick per cm, long ticks with labels every 5 cm (2 cm for shallow depths).
        x = int(round(g.fan_right_x)) + 5
        major = 5 if g.depth_cm > 6 else 2
        y_top, y_bot = g.depth_to_y(0), g.depth_to_y(g.depth_cm)
        dr.line([(x, int(y_top)), (x, int(y_bot))], fill=GREY)
        for d in range(0, int(g.depth_cm) + 1):
            y = int(round(g.depth_to_y(d)))
            long = d % major == 0
            dr.line([(x, y), (x + (6 if long else 3), y)], fill=WHITE)
            if long and d > 0:
                dr.text((x + 8, y - 5), str(d), font=FONT, fill=WHITE)
        # Focus marker (yellow triangle left of the ruler).
        yf = g.depth_to_y(ui["focus"] * g.depth_cm)
        dr.polygon([(x - 1, yf), (x - 6, yf - 3), (x - 6, yf + 3)], fill=YELLOW)
        # Probe orientation marker next to the fan's upper-left corner.
        r0 = g.probe.r0_cm
        cx = g.apex_x - r0 * g.px_per_cm * math.sin(g.probe.half_angle) - 8
        cy = g.apex_y + r0 * g.px_per_cm * math.cos(g.probe.half_angle) + 2
        dr.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=CYAN)
    # Grey bar: 0..255 ramp, left edge.
    bar_h = min(128, h - 70)
    x0, y0 = 5, 32
    for i in range(bar_h):
        v = int(round(255 * (1 - i / (bar_h - 1))))
        dr.line([(x0, y0 + i), (x0 + 7, y0 + i)], fill=(v, v, v))
    return (x0, y0, x0 + 7, y0 + bar_h - 1)


def render_instance(st: Study, spec: Spec, inst_rng):
    """Frames of one instance: (rgb uint8 [n,h,w,3], grey float [n,h,w], fan geometries, grey bar box)."""
    w, h = spec.size
    probe = PROBES[st.probe]
    pads = (22, 30, 34, 16)
    depth_choices = [8, 10, 12, 14, 16] if probe.kind == "convex" else [10, 12, 14, 16]
    if spec.dual:
        depths = sorted(inst_rng.choice([6, 8, 10, 12, 14], size=2, replace=False).tolist())
        geoms = [FanGeometry.fit(probe, float(depths[0]), (0, 0, w // 2, h), pads),
                 FanGeometry.fit(probe, float(depths[1]), (w // 2, 0, w - w // 2, h), (8, 30, 34, 16))]
    else:
        geoms = [FanGeometry.fit(probe, float(inst_rng.choice(depth_choices)), (0, 0, w, h), pads)]
    cyst = bool(inst_rng.random() < 0.25)
    grey = [np.zeros((h, w)) for _ in range(spec.frames)]
    for g in geoms:
        scene = random_scene(inst_rng, probe, g.depth_cm, st.lesion, cyst, cine=spec.frames > 1)
        frames, mask = render_frames(g, scene, spec.frames, h, w)
        for k in range(spec.frames):
            grey[k][mask] = frames[k][mask]
    ui = dict(gain=int(inst_rng.integers(40, 70)), dr=int(inst_rng.choice([50, 55, 60, 66])),
              mi=float(inst_rng.uniform(0.6, 1.4)), tis=float(inst_rng.uniform(0.2, 1.0)),
              focus=float(inst_rng.uniform(0.35, 0.65)))
    rgb, grey_out = [], []
    bar = None
    for k in range(spec.frames):
        bmode = np.clip(grey[k], 0, 255)
        img = Image.fromarray(np.rint(bmode).astype(np.uint8)).convert("RGB")
        overlay = Image.new("RGB", (w, h), (0, 0, 0))
        bar = draw_ui(overlay, geoms, st, spec, k, ui)
        ov = np.asarray(overlay)
        drawn = ov.any(axis=2)
        arr = np.asarray(img).copy()
        arr[drawn] = ov[drawn]
        rgb.append(arr)
        # Float grey (for 12-bit output): B-mode at full precision, UI as its luminance.
        lum = 0.299 * ov[..., 0] + 0.587 * ov[..., 1] + 0.114 * ov[..., 2]
        grey_out.append(np.where(drawn, lum, bmode))
    return np.stack(rgb), np.stack(grey_out), geoms, bar


# MARK: DICOM datasets

def region_item(x0, y0, x1, y1, spatial, data_type, flags, units, delta, ref=None):
    it = Dataset()
    it.RegionSpatialFormat = spatial
    it.RegionDataType = data_type
    it.RegionFlags = flags
    it.RegionLocationMinX0, it.RegionLocationMinY0 = x0, y0
    it.RegionLocationMaxX1, it.RegionLocationMaxY1 = x1, y1
    if ref is not None:
        it.ReferencePixelX0, it.ReferencePixelY0 = ref
        it.ReferencePixelPhysicalValueX = 0.0
        it.ReferencePixelPhysicalValueY = 0.0
    it.PhysicalUnitsXDirection = units
    it.PhysicalUnitsYDirection = units
    it.PhysicalDeltaX = delta
    it.PhysicalDeltaY = delta
    return it


def ultrasound_regions(geoms, spec: Spec, bar, h, w):
    items = []
    for g in geoms:
        x0, y0, x1, y1 = g.bounding_box(h, w)
        delta = float(f"{1.0 / g.px_per_cm:.6g}")
        # Tissue, 2D; RegionFlags bit 1 = scaling protection. Reference pixel = the fan apex.
        items.append(region_item(x0, y0, x1, y1, 1, 1, 2, 3, delta,
                                 ref=(int(round(g.apex_x)) - x0, int(round(g.apex_y)) - y0)))
    if spec.grey_bar_region:
        bx0, by0, bx1, by1 = bar
        items.append(region_item(bx0, by0, bx1, by1, 5, 0x0D, 0, 0, 0.0))   # graphics, grey bar
    return Sequence(items)


def dicom_date(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def common_header(ds: Dataset, st: Study):
    p = st.patient
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = dicom_date(st.date)
    ds.StudyTime = ds.SeriesTime = st.time
    ds.AccessionNumber = st.accession
    ds.Manufacturer = "SonoKit Synthetic"
    ds.InstitutionName = f"SonoKit Synthetic {'Site A' if p.site == 'SITEA' else 'Site B'}"
    ds.ReferringPhysicianName = "SYNTH^REFERRER"
    ds.StudyDescription = "US ABDOMEN (SYNTHETIC)"
    ds.PatientName = p.name
    ds.PatientID = p.patient_id
    ds.PatientBirthDate = p.birth_date
    ds.PatientSex = p.sex
    ds.StudyInstanceUID = st.uid
    ds.StudyID = f"{st.index + 1}"


def image_dataset(st: Study, spec: Spec, number: int, sop_uid: str, rgb, grey, geoms, bar) -> Dataset:
    n, h, w = grey.shape
    ds = Dataset()
    common_header(ds, st)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
    ds.SOPClassUID = US_MULTIFRAME if n > 1 else US_IMAGE
    ds.SOPInstanceUID = sop_uid
    ds.ContentTime = f"{st.time[:4]}{10 + number:02d}"
    ds.Modality = "US"
    ds.StationName = f"SKSIM{1 if st.patient.site == 'SITEA' else 2}"
    ds.SeriesDescription = "B-MODE CINE" if n > 1 else "B-MODE"
    ds.ManufacturerModelName = st.model
    ds.BodyPartExamined = "ABDOMEN"
    ds.DeviceSerialNumber = SERIAL_BY_MODEL[st.model]
    ds.SoftwareVersions = "sonokit-samples 1"
    ds.TransducerData = [st.probe]
    ds.SeriesInstanceUID = st.series_uid
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    ds.BurnedInAnnotation = "YES"
    ds.LossyImageCompression = "00"
    ds.Rows, ds.Columns = h, w
    if n > 1:
        fps = [20, 25, 30][number % 3]
        ds.NumberOfFrames = n
        ds.FrameTime = f"{1000.0 / fps:.4f}"
        ds.CineRate = fps
        ds.RecommendedDisplayFrameRate = fps
        ds.FrameIncrementPointer = 0x00181063
    if spec.regions:
        ds.SequenceOfUltrasoundRegions = ultrasound_regions(geoms, spec, bar, h, w)
    colour = spec.colour
    if colour in ("rgb", "rgb-planar", "ybr-full"):
        ds.SamplesPerPixel = 3
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelRepresentation = 0
        data = rgb
        ds.PhotometricInterpretation = "RGB"
        if colour == "ybr-full":
            from pydicom.pixels import convert_color_space
            data = np.stack([convert_color_space(f, "RGB", "YBR_FULL") for f in rgb])
            ds.PhotometricInterpretation = "YBR_FULL"
        if colour == "rgb-planar":
            ds.PlanarConfiguration = 1
            data = np.ascontiguousarray(data.transpose(0, 3, 1, 2))   # frame, plane, row, column
        else:
            ds.PlanarConfiguration = 0
        ds.PixelData = data.astype(np.uint8).tobytes()
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME1" if colour == "mono1" else "MONOCHROME2"
        ds.PixelRepresentation = 0
        g8 = np.rint(np.clip(grey, 0, 255)).astype(np.uint8)
        if colour == "mono2-16":
            # 12 stored bits at 16x the 8-bit scale; rescale to an arbitrary linear unit so that the
            # Modality LUT matters; the first window covers the tissue range, the second everything.
            ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
            stored = np.rint(np.clip(grey, 0, 255) * 16).astype(np.uint16)
            ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-128", "0.25", "US"
            ds.WindowCenter = ["380", "382"]
            ds.WindowWidth = ["760", "1024"]
            ds.WindowCenterWidthExplanation = ["TISSUE", "FULL"]
            ds.PixelData = stored.astype("<u2").tobytes()
        else:
            ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
            if colour == "mono1":
                g8 = (255 - g8).astype(np.uint8)     # stored inverted; the display inverts back
                ds.WindowCenter, ds.WindowWidth = "128", "256"
            else:
                wc, ww = [("128", "256"), ("110", "200"), ("120", "230")][number % 3]
                ds.WindowCenter, ds.WindowWidth = wc, ww
                ds.VOILUTFunction = "LINEAR"
            ds.PixelData = g8.tobytes()
    return ds


def write_native(ds: Dataset, path: Path):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    if "PixelData" in ds:
        ds["PixelData"].VR = "OW" if ds.BitsAllocated == 16 else "OB"
    ds.save_as(path, enforce_file_format=True)


def jpeg_via_img2dcm(ds: Dataset, rgb: np.ndarray, work: Path, out: Path):
    """JPEG baseline the way many devices do it: a JFIF file (Pillow, 4:2:2) wrapped by img2dcm,
    with the US header taken from a template dataset (`-df`), then the SOP class set back to US."""
    jpg = work / "frame.jpg"
    Image.fromarray(rgb[0]).save(jpg, format="JPEG", quality=88, subsampling=1, optimize=False)
    tmpl = copy.deepcopy(ds)
    for kw in ("PixelData", "Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation",
               "PlanarConfiguration", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
               "LossyImageCompression"):
        if kw in tmpl:
            del tmpl[kw]
    write_native(tmpl, work / "template.dcm")
    raw = work / "img2dcm.dcm"
    run(["img2dcm", "-i", "JPEG", "-df", str(work / "template.dcm"), "--no-checks", str(jpg), str(raw)])
    run(["dcmodify", "-nb", "-imt", "-m", f"SOPClassUID={US_IMAGE}", "-m", f"SOPInstanceUID={ds.SOPInstanceUID}",
         "-ea", "(0008,0064)", "-ea", "(0018,1012)", "-ea", "(0018,1014)", "-ea", "(0008,0012)",
         "-ea", "(0008,0013)", str(raw)])
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw, out)


# MARK: Non-image objects

def text_sr(st: Study, ids: Ids, referenced) -> Dataset:
    ds = Dataset()
    common_header(ds, st)
    ds.SOPClassUID = BASIC_TEXT_SR
    ds.SOPInstanceUID = ids.uid("sr", st.index)
    ds.Modality = "SR"
    ds.ContentTime = st.time
    ds.SeriesInstanceUID = ids.uid("sr-series", st.index)
    ds.SeriesNumber = 99
    ds.SeriesDescription = "REPORT"
    ds.InstanceNumber = 1
    ds.Manufacturer = "SonoKit Synthetic"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
    ds.PerformedProcedureCodeSequence = Sequence([])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([_evidence(st, referenced)])
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = Sequence([_code("121071", "DCM", "Finding")])
    item.TextValue = "Synthetic report written by the SonoKit sample generator. No clinical content."
    ds.ContentSequence = Sequence([item])
    return ds


def key_object(st: Study, ids: Ids, referenced) -> Dataset:
    ds = Dataset()
    common_header(ds, st)
    ds.SOPClassUID = KEY_OBJECT_SELECTION
    ds.SOPInstanceUID = ids.uid("ko", st.index)
    ds.Modality = "KO"
    ds.ContentTime = st.time
    ds.SeriesInstanceUID = ids.uid("ko-series", st.index)
    ds.SeriesNumber = 98
    ds.InstanceNumber = 1
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("113000", "DCM", "Of Interest")])
    ds.ContinuityOfContent = "SEPARATE"
    tpl = Dataset()
    tpl.MappingResource = "DCMR"
    tpl.TemplateIdentifier = "2010"
    ds.ContentTemplateSequence = Sequence([tpl])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([_evidence(st, referenced)])
    items = []
    for sop_class, sop_uid in referenced:
        it = Dataset()
        it.RelationshipType = "CONTAINS"
        it.ValueType = "IMAGE"
        ref = Dataset()
        ref.ReferencedSOPClassUID = sop_class
        ref.ReferencedSOPInstanceUID = sop_uid
        it.ReferencedSOPSequence = Sequence([ref])
        items.append(it)
    ds.ContentSequence = Sequence(items)
    return ds


def _code(value, scheme, meaning):
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def _evidence(st: Study, referenced):
    study = Dataset()
    study.StudyInstanceUID = st.uid
    series = Dataset()
    series.SeriesInstanceUID = st.series_uid
    refs = []
    for sop_class, sop_uid in referenced:
        r = Dataset()
        r.ReferencedSOPClassUID, r.ReferencedSOPInstanceUID = sop_class, sop_uid
        refs.append(r)
    series.ReferencedSOPSequence = Sequence(refs)
    study.ReferencedSeriesSequence = Sequence([series])
    return study


# MARK: DICOMDIR

def make_dicomdir(out: Path, ids: Ids):
    """DICOMDIR for the SITEA file set, at the top of the output.

    dcmmkdir would put a fresh random UID into the file meta (MediaStorageSOPInstanceUID), so an
    empty DICOMDIR with a deterministic UID is written first and dcmmkdir appends (+A) the records;
    appending keeps the existing file meta. The general-purpose profile lists only uncompressed
    transfer syntaxes, hence -Nxc (real exports carry JPEG in such file sets all the time)."""
    path = out / "DICOMDIR"
    ds = Dataset()
    ds.FileSetID = "SONOKITSAMPLE"
    ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
    ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
    ds.FileSetConsistencyFlag = 0
    ds.DirectoryRecordSequence = Sequence([])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    meta.MediaStorageSOPInstanceUID = ids.uid("dicomdir")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.save_as(path, enforce_file_format=True)
    cwd = os.getcwd()
    try:
        os.chdir(out)   # file IDs in the records are relative to the DICOMDIR
        run(["dcmmkdir", "+A", "+r", "-Pgp", "-Nxc", "+I", "-nb", "+D", "DICOMDIR", "SITEA"])
    finally:
        os.chdir(cwd)


# MARK: Main

def instance_path(out: Path, st: Study, number: int) -> Path:
    p = st.patient
    k = [s.index for s in STUDIES if s.patient is p].index(st.index) + 1
    if p.site == "SITEA":
        return out / "SITEA" / p.folder / f"S{k}" / f"IM{number:06d}"
    return out / "site-b" / p.folder / f"study-{k}" / f"IMG{number:04d}.dcm"


STUDIES: list[Study] = []


MULTICLASS_CLASSES = ["benign", "small-mass", "large-mass"]
MASS_SIZE_LIMIT_CM = 2.0


def multiclass_label(st: Study) -> str:
    """The study's class in the three-class labelling: benign (no mass), small-mass (longest
    diameter 2·max(a, b) of the study's mass <= 2 cm) or large-mass (> 2 cm). Every instance of a
    study draws its mass from the study's a and b within ±15 % (bmode.random_scene), so a study's
    pictures show its class."""
    if st.lesion is None:
        return "benign"
    diameter = 2 * max(st.lesion["a"], st.lesion["b"])
    return "small-mass" if diameter <= MASS_SIZE_LIMIT_CM else "large-mass"


def write_labels(out: Path, studies):
    """labels.csv (the binary labelling) and labels-multiclass.csv (three ordered classes)."""
    ordered = sorted(studies, key=lambda s: (s.patient.patient_id, s.date))
    with open(out / "labels.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["study_uid", "label", "patient_id", "site"])
        for st in ordered:
            wr.writerow([st.uid, st.label, st.patient.patient_id, st.patient.site])
    with open(out / "labels-multiclass.csv", "w", newline="") as f:
        f.write(f"# classes: {','.join(MULTICLASS_CLASSES)}; task: multiclass; ordinal: yes\n")
        f.write(f"# benign: no mass; small-mass: longest diameter <= {MASS_SIZE_LIMIT_CM:g} cm; large-mass: > {MASS_SIZE_LIMIT_CM:g} cm\n")
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["study_uid", "label", "patient_id", "site"])
        for st in ordered:
            wr.writerow([st.uid, multiclass_label(st), st.patient.patient_id, st.patient.site])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--out", type=Path, default=Path("SampleStudies"))
    ap.add_argument("--table", type=Path, help="also write a Markdown table of the files here")
    ap.add_argument("--labels-only", action="store_true",
                    help="only rewrite labels.csv and labels-multiclass.csv in an existing --out (from the seed's plan)")
    args = ap.parse_args()
    ids = Ids(args.seed)
    patients, studies = plan(args.seed, ids)
    STUDIES[:] = studies
    out: Path = args.out
    if args.labels_only:
        write_labels(out, studies)
        fix_mtimes(out)
        print(f"labels of {len(studies)} studies written to {out}")
        return
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="sonokit-samples-") as tmp:
        work = Path(tmp)
        for st in studies:
            for j, spec in enumerate(st.instances):
                number = j + 1
                inst_rng = np.random.default_rng([args.seed, 2, st.index, j])
                rgb, grey, geoms, bar = render_instance(st, spec, inst_rng)
                sop_uid = ids.uid("instance", st.index, j)
                ds = image_dataset(st, spec, number, sop_uid, rgb, grey, geoms, bar)
                path = instance_path(out, st, number)
                path.parent.mkdir(parents=True, exist_ok=True)
                if spec.encoding == "img2dcm-jpeg":
                    jpeg_via_img2dcm(ds, rgb, work, path)
                else:
                    native = work / "native.dcm"
                    write_native(ds, native)
                    warnings = encode(spec.encoding, native, path)
                    if warnings.strip():
                        print(f"{path.relative_to(out)}: {warnings.strip()}", file=sys.stderr)
                st_ds = pydicom.dcmread(path, stop_before_pixels=True)
                rows.append(dict(file=str(path.relative_to(out)), encoding=spec.encoding,
                                 ts=st_ds.file_meta.TransferSyntaxUID,
                                 pi=st_ds.PhotometricInterpretation
                                 + (f" PC{st_ds.PlanarConfiguration}" if "PlanarConfiguration" in st_ds else "")
                                 + (f" {st_ds.BitsStored}/{st_ds.BitsAllocated}-bit" if st_ds.BitsStored != 8 else ""),
                                 size=f"{spec.size[0]}x{spec.size[1]}", frames=spec.frames,
                                 regions=(len(st_ds.SequenceOfUltrasoundRegions)
                                          if "SequenceOfUltrasoundRegions" in st_ds else 0),
                                 label=st.label, model=st.model, bytes=path.stat().st_size))
                st.sop = getattr(st, "sop", []) + [(ds.SOPClassUID, sop_uid)]
        # Non-image objects: a text SR in the first site-B study with two images, a KO in the
        # first SITEA study with two images.
        sr_study = next(s for s in studies if s.patient.site == "SITEB" and len(s.instances) >= 2)
        ko_study = next(s for s in studies if s.patient.site == "SITEA" and len(s.instances) >= 2)
        sr_path = instance_path(out, sr_study, 1).with_name("SR0001.dcm")
        write_native(text_sr(sr_study, ids, sr_study.sop), sr_path)
        ko_path = instance_path(out, ko_study, 1).with_name("KO000001")
        write_native(key_object(ko_study, ids, ko_study.sop[:1]), ko_path)
        for p, kind in ((sr_path, "basic-text-sr"), (ko_path, "key-object-selection")):
            rows.append(dict(file=str(p.relative_to(out)), encoding=kind, ts=TRANSFER_SYNTAX["explicit-le"],
                             pi="-", size="-", frames=0, regions=0, label="-", model="-", bytes=p.stat().st_size))
    make_dicomdir(out, ids)
    write_labels(out, studies)
    fix_mtimes(out)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(rows)} objects in {len(studies)} studies of {len(patients)} patients, {total / 1e6:.2f} MB")
    if args.table:
        write_table(rows, args.table)


def fix_mtimes(out: Path):
    """Same mtime for every file so that archives and rsync see identical trees."""
    stamp = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc).timestamp()
    for p in sorted(out.rglob("*")):
        os.utime(p, (stamp, stamp))


def write_table(rows, path: Path):
    names = {v: k for k, v in TRANSFER_SYNTAX.items()}
    lines = ["| file | encoding (transfer syntax) | photometric | size | frames | regions | class | model | bytes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        enc = r["encoding"] if r["encoding"] in ("img2dcm-jpeg", "basic-text-sr", "key-object-selection") \
            else names.get(r["ts"], r["ts"])
        if r["encoding"] in ("jpeg-baseline-rgb", "jpeg-baseline-444"):
            enc = r["encoding"]
        lines.append(f"| {r['file']} | {enc} ({r['ts']}) | {r['pi']} | {r['size']} | {r['frames']} | "
                     f"{r['regions'] or 'no'} | {r['label']} | {r['model']} | {r['bytes']} |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
