"""Synthetic B-mode ultrasound rendering for SonoKit's SampleStudies.

The physics is deliberately simple but follows how a scanner forms an image, so that the pictures
have the statistics a network sees in real exports:

1. Tissue is an *echogenicity map* e(x, z) in physical units (cm): skin, subcutaneous fat with
   septa, muscle with striations, a bright capsule line, parenchyma with a smooth texture, vessels
   (anechoic tubes with bright walls), optionally a diaphragm, a cyst (anechoic, posterior
   enhancement) and - positive class only - a solid hypoechoic lesion with irregular margins and
   posterior acoustic shadowing.
2. The map is sampled on the *polar* grid of the probe (depth samples x beam lines) and multiplied
   by a complex circular Gaussian scatterer field that is fixed in tissue coordinates (so the
   speckle moves with the tissue in a cine loop).
3. A separable Gaussian point-spread function (axial x lateral, in samples and beam lines) is
   applied; the envelope |.| of a sum of many random phasors is Rayleigh distributed, which is
   fully developed speckle. Shadowing/enhancement multiply everything behind the structure along
   the beam, which is why shadows fan out in a sector image.
4. Depth-dependent gain: net attenuation after TGC, a focal-zone bump, a near-field dip, edge
   apodisation, then additive thermal noise and log compression to a dynamic range DR (dB).
5. Scan conversion: every Cartesian pixel inside the fan samples the log image bilinearly.

Everything is driven by a numpy Generator, so the output is a pure function of the seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


# MARK: Probe and fan geometry

@dataclass(frozen=True)
class Probe:
    name: str          # label burned into the image, e.g. "C5-2"
    kind: str          # "convex" or "phased"
    r0_cm: float       # radius of the probe face (distance apex -> skin on the centre line)
    half_angle: float  # half of the sector opening, radians
    freq_mhz: float


PROBES = {
    "C5-2": Probe("C5-2", "convex", 4.5, math.radians(34), 3.5),
    "C6-1": Probe("C6-1", "convex", 5.5, math.radians(30), 3.0),
    "P4-2": Probe("P4-2", "phased", 0.25, math.radians(41), 2.5),
}


@dataclass
class FanGeometry:
    """Where a sector fan sits in the image.

    The fan is the set of pixels whose distance from the apex is in [r0, r0 + depth] cm and whose
    angle from the vertical is within +-half_angle. The apex lies above the fan (for convex probes
    above the image). `px_per_cm` is isotropic, so PhysicalDeltaX = PhysicalDeltaY = 1/px_per_cm.
    """
    probe: Probe
    depth_cm: float
    px_per_cm: float
    apex_x: float
    apex_y: float
    viewport: tuple[int, int, int, int]  # x0, y0, width, height in the full image

    @property
    def r_max(self) -> float:
        return self.probe.r0_cm + self.depth_cm

    @staticmethod
    def fit(probe: Probe, depth_cm: float, viewport, pads) -> "FanGeometry":
        """Largest fan that fits the viewport minus pads (left, top, right, bottom)."""
        x0, y0, w, h = viewport
        pl, pt, pr, pb = pads
        avail_w, avail_h = w - pl - pr, h - pt - pb
        r0, half = probe.r0_cm, probe.half_angle
        rmax = r0 + depth_cm
        s_h = avail_h / (rmax - r0 * math.cos(half))
        s_w = avail_w / (2 * rmax * math.sin(half))
        s = min(s_h, s_w)
        apex_x = x0 + pl + avail_w / 2.0
        apex_y = y0 + pt + 1 - s * r0 * math.cos(half)
        return FanGeometry(probe, depth_cm, s, apex_x, apex_y, viewport)

    def pixel_polar(self, height: int, width: int):
        """(r_cm, theta) of every pixel centre of the full image."""
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        dx = (xs - self.apex_x) / self.px_per_cm
        dy = (ys - self.apex_y) / self.px_per_cm
        return np.hypot(dx, dy), np.arctan2(dx, dy)

    def mask(self, height: int, width: int) -> np.ndarray:
        r, th = self.pixel_polar(height, width)
        x0, y0, w, h = self.viewport
        inside = (r >= self.probe.r0_cm) & (r <= self.r_max) & (np.abs(th) <= self.probe.half_angle)
        vp = np.zeros_like(inside)
        vp[y0:y0 + h, x0:x0 + w] = True
        return inside & vp

    def bounding_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Inclusive (minX, minY, maxX, maxY) of the fan's pixels."""
        m = self.mask(height, width)
        ys, xs = np.nonzero(m)
        return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())

    def depth_to_y(self, d_cm: float) -> float:
        """Image row of depth d below the skin on the centre line."""
        return self.apex_y + (self.probe.r0_cm + d_cm) * self.px_per_cm

    @property
    def fan_right_x(self) -> float:
        return self.apex_x + self.r_max * self.px_per_cm * math.sin(self.probe.half_angle)

    @property
    def fan_left_x(self) -> float:
        return self.apex_x - self.r_max * self.px_per_cm * math.sin(self.probe.half_angle)


# MARK: Smooth random fields in physical coordinates

class Field2D:
    """A random field on a regular grid over [-ext_x, ext_x] x [-1, ext_z] cm, sampled bilinearly
    (smooth texture) or by nearest neighbour (white scatterers that keep their identity under
    translation)."""

    def __init__(self, values: np.ndarray, cell: float, ext_x: float):
        self.v = values
        self.cell = cell
        self.ext_x = ext_x

    @staticmethod
    def gaussian(rng, cell, ext_x, ext_z, complex_valued=False):
        nx = int(2 * ext_x / cell) + 3
        nz = int((ext_z + 1.0) / cell) + 3
        if complex_valued:
            v = (rng.standard_normal((nz, nx)) + 1j * rng.standard_normal((nz, nx))) / math.sqrt(2)
        else:
            v = rng.standard_normal((nz, nx))
        return Field2D(v, cell, ext_x)

    def _coords(self, x, z):
        u = (x + self.ext_x) / self.cell
        w = (z + 1.0) / self.cell
        nz, nx = self.v.shape
        return np.clip(u, 0, nx - 1.001), np.clip(w, 0, nz - 1.001)

    def bilinear(self, x, z):
        u, w = self._coords(x, z)
        iu, iw = np.floor(u).astype(np.int64), np.floor(w).astype(np.int64)
        fu, fw = u - iu, w - iw
        v = self.v
        return ((1 - fw) * ((1 - fu) * v[iw, iu] + fu * v[iw, iu + 1])
                + fw * ((1 - fu) * v[iw + 1, iu] + fu * v[iw + 1, iu + 1]))

    def nearest(self, x, z):
        u, w = self._coords(x, z)
        return self.v[np.rint(w).astype(np.int64), np.rint(u).astype(np.int64)]


# MARK: Tissue scene

@dataclass
class Lesion:
    """Solid hypoechoic mass: ellipse with a wavy (irregular) margin, posterior shadowing."""
    cx: float
    cz: float
    a: float          # lateral semi-axis, cm
    b: float          # axial semi-axis, cm
    angle: float      # rotation, radians
    contrast: float   # interior echogenicity relative to parenchyma
    shadow: float     # 0..1 fraction of echo removed behind the mass
    halo: bool        # thin echogenic rim
    harmonics: list = field(default_factory=list)  # (k, amplitude, phase)

    def inside(self, x, z, grow=0.0):
        dx, dz = x - self.cx, z - self.cz
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        u = (dx * ca + dz * sa) / (self.a + grow)
        v = (-dx * sa + dz * ca) / (self.b + grow)
        rho = np.hypot(u, v)
        phi = np.arctan2(v, u)
        edge = 1.0
        for k, amp, ph in self.harmonics:
            edge = edge + amp * np.sin(k * phi + ph)
        return rho <= edge


@dataclass
class Blob:
    """Ellipse used for vessels and cysts."""
    cx: float
    cz: float
    a: float
    b: float
    angle: float
    wall: float = 0.0   # bright wall thickness (cm), 0 = none

    def rho(self, x, z):
        dx, dz = x - self.cx, z - self.cz
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        u = (dx * ca + dz * sa) / self.a
        v = (-dx * sa + dz * ca) / self.b
        return np.hypot(u, v)


@dataclass
class Scene:
    """Everything random about one view of tissue; `render` turns it into frames."""
    skin: float
    fat_bottom: float
    fat_wave: tuple
    septa: list
    muscle_bottom: float
    muscle_wave: tuple
    striation_period: float
    striation_tilt: float
    capsule: float
    parenchyma_level: float
    texture_amp: float
    vessels: list
    cyst: Blob | None
    diaphragm: tuple | None     # (z0, curvature)
    lesion: Lesion | None
    atten_db_per_cm: float
    focus_cm: float
    dyn_range_db: float
    target_grey: float
    noise_floor: float
    motion: tuple                # (amp_x, amp_z, phase, decorrelation)
    seed: int


def _wave(rng, amp):
    return (float(rng.uniform(0.3, 1.0) * amp), float(rng.uniform(1.5, 5.0)), float(rng.uniform(0, 2 * math.pi)))


def _wave_at(x, w):
    a, lam, ph = w
    return a * np.sin(2 * math.pi * x / lam + ph)


def random_scene(rng, probe: Probe, depth_cm: float, lesion_spec: dict | None, cyst: bool,
                 cine: bool) -> Scene:
    """Draw a random tissue scene that fits a fan of the given probe and depth.

    lesion_spec (positive class) gives size/contrast/shadow ranges already drawn at study level;
    the position is drawn here so every view of a study shows the mass somewhere else.
    """
    skin = float(rng.uniform(0.12, 0.22))
    fat_bottom = skin + float(rng.uniform(0.5, 1.6)) * depth_cm / 12.0
    muscle_bottom = fat_bottom + float(rng.uniform(0.5, 1.3)) * depth_cm / 12.0
    capsule = muscle_bottom + float(rng.uniform(0.05, 0.25))
    septa = [(float(rng.uniform(skin + 0.1, fat_bottom - 0.05)), float(rng.uniform(-0.08, 0.08)),
              _wave(rng, 0.08)) for _ in range(int(rng.integers(1, 4)))]
    half = probe.half_angle
    r0 = probe.r0_cm

    def lateral_limit(z, margin):
        return max(0.3, (r0 + z) * math.sin(half) * margin)

    vessels = []
    for _ in range(int(rng.integers(1, 5))):
        z = float(rng.uniform(capsule + 0.8, depth_cm * 0.92))
        x = float(rng.uniform(-1, 1)) * lateral_limit(z, 0.8)
        if rng.random() < 0.35:   # tube cut lengthwise
            a, b = float(rng.uniform(1.0, 3.0)), float(rng.uniform(0.12, 0.3))
        else:                     # cross-section
            a = float(rng.uniform(0.15, 0.55))
            b = a * float(rng.uniform(0.7, 1.1))
        vessels.append(Blob(x, z, a, b, float(rng.uniform(-0.6, 0.6)),
                            wall=float(rng.uniform(0.04, 0.08)) if rng.random() < 0.5 else 0.0))
    cyst_blob = None
    if cyst:
        z = float(rng.uniform(capsule + 1.0, depth_cm * 0.7))
        a = float(rng.uniform(0.3, 0.8))
        cyst_blob = Blob(float(rng.uniform(-1, 1)) * lateral_limit(z, 0.6), z, a,
                         a * float(rng.uniform(0.75, 1.0)), float(rng.uniform(-0.4, 0.4)))
    diaphragm = None
    if rng.random() < 0.45:
        diaphragm = (float(rng.uniform(depth_cm * 0.72, depth_cm * 0.9)), float(rng.uniform(-0.05, 0.03)))
    lesion = None
    if lesion_spec is not None:
        a = lesion_spec["a"] * float(rng.uniform(0.85, 1.15))
        b = lesion_spec["b"] * float(rng.uniform(0.85, 1.15))
        z = float(rng.uniform(capsule + b + 0.4, max(capsule + b + 0.5, depth_cm * 0.62)))
        x = float(rng.uniform(-1, 1)) * lateral_limit(z, 0.55)
        # Gentle lobulation (k = 2..5) plus a fine angular jaggedness (k = 9..12).
        harmonics = [(k, float(rng.uniform(0, lesion_spec["irregularity"])) * 2 / k,
                      float(rng.uniform(0, 2 * math.pi))) for k in range(2, 6)]
        harmonics += [(k, float(rng.uniform(0.0, 0.035)), float(rng.uniform(0, 2 * math.pi))) for k in range(9, 13)]
        lesion = Lesion(x, z, a, b, float(rng.uniform(-0.5, 0.5)), lesion_spec["contrast"] *
                        float(rng.uniform(0.85, 1.15)), lesion_spec["shadow"] * float(rng.uniform(0.85, 1.1)),
                        lesion_spec["halo"], harmonics)
        # A cyst must not sit on the mass.
        if cyst_blob is not None and math.hypot(cyst_blob.cx - x, cyst_blob.cz - z) < a + cyst_blob.a + 0.5:
            cyst_blob = None
    motion = (float(rng.uniform(0.05, 0.2)), float(rng.uniform(0.1, 0.35)), float(rng.uniform(0, 2 * math.pi)),
              float(rng.uniform(0.08, 0.25))) if cine else (0.0, 0.0, 0.0, 0.0)
    return Scene(skin=skin, fat_bottom=fat_bottom, fat_wave=_wave(rng, 0.15), septa=septa,
                 muscle_bottom=muscle_bottom, muscle_wave=_wave(rng, 0.2),
                 striation_period=float(rng.uniform(0.12, 0.25)), striation_tilt=float(rng.uniform(-0.25, 0.25)),
                 capsule=capsule, parenchyma_level=float(rng.uniform(0.85, 1.15)),
                 texture_amp=float(rng.uniform(0.12, 0.3)), vessels=vessels, cyst=cyst_blob,
                 diaphragm=diaphragm, lesion=lesion, atten_db_per_cm=float(rng.uniform(0.3, 1.6)),
                 focus_cm=float(rng.uniform(0.35, 0.65)) * depth_cm, dyn_range_db=float(rng.choice([50, 55, 60, 66])),
                 target_grey=float(rng.uniform(88, 128)), noise_floor=float(rng.uniform(0.01, 0.04)),
                 motion=motion, seed=int(rng.integers(0, 2**31 - 1)))


# MARK: Rendering

def _gauss_kernel(sigma):
    n = max(1, int(math.ceil(3 * sigma)))
    t = np.arange(-n, n + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _convolve_axis(a, kernel, axis):
    n = len(kernel) // 2
    pad = [(0, 0)] * a.ndim
    pad[axis] = (n, n)
    p = np.pad(a, pad, mode="reflect")
    out = np.zeros_like(a)
    length = a.shape[axis]
    for i, w in enumerate(kernel):
        sl = [slice(None)] * a.ndim
        sl[axis] = slice(i, i + length)
        out += w * p[tuple(sl)]
    return out


def _smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _echogenicity(sc: Scene, x, z, d, tex1, tex2):
    """Amplitude reflectivity of tissue at lateral x, depth z (Cartesian) and d (along the beam)."""
    e = sc.parenchyma_level * (1 + sc.texture_amp * np.clip(tex1.bilinear(x, z), -2.5, 2.5)
                               + 0.08 * tex2.bilinear(x, z))
    fat_b = sc.fat_bottom + _wave_at(x, sc.fat_wave)
    mus_b = sc.muscle_bottom + _wave_at(x, sc.muscle_wave)
    cap_b = mus_b + (sc.capsule - sc.muscle_bottom)
    fat = 0.38 * (1 + 0.25 * tex2.bilinear(x * 1.7, z * 1.7))
    for (c, slope, w) in sc.septa:
        fat = np.where(np.abs(d - (c + slope * x + _wave_at(x, w))) < 0.035, 1.5, fat)
    stri = 0.55 + 0.6 * np.maximum(0.0, np.sin(2 * math.pi * (d + sc.striation_tilt * x) / sc.striation_period)) ** 6
    e = np.where(d < cap_b + 0.07, 2.3, e)            # capsule (overwritten above by muscle/fat/skin)
    e = np.where(d < cap_b, 0.3, e)                   # thin dark gap under the muscle
    e = np.where(d < mus_b, stri, e)
    e = np.where(d < fat_b, fat, e)
    e = np.where(d < sc.skin, 1.9, e)
    deep = d > cap_b + 0.07
    if sc.diaphragm is not None:
        z0, curv = sc.diaphragm
        zd = z0 + curv * x * x
        e = np.where(deep & (np.abs(z - zd) < 0.09), 2.6, e)
        e = np.where(deep & (z >= zd + 0.09), 0.55 * e, e)
    for v in sc.vessels:
        rho = v.rho(x, z)
        if v.wall > 0:
            wall = (rho >= 1.0) & (rho < 1.0 + v.wall / min(v.a, v.b))
            e = np.where(deep & wall, 2.2, e)
        e = np.where(deep & (rho < 1.0), 0.03, e)
    if sc.cyst is not None:
        e = np.where(deep & (sc.cyst.rho(x, z) < 1.0), 0.0, e)
    if sc.lesion is not None:
        les = sc.lesion
        if les.halo:
            e = np.where(deep & les.inside(x, z, grow=0.08), 1.9, e)
        inside = deep & les.inside(x, z)
        e = np.where(inside, les.contrast * sc.parenchyma_level * (1 + 0.35 * tex2.bilinear(x * 2.3, z * 2.3)), e)
    return np.maximum(e, 0.0)


def _behind_profile(mask_polar):
    """Per beam line: (weight in [0, 1], index of the far edge). The weight grows with the chord
    length through the structure, so the shadow fades towards the structure's flanks."""
    n_r, n_t = mask_polar.shape
    chord = mask_polar.sum(axis=0).astype(np.float64)
    far = np.where(chord > 0, n_r - 1 - np.argmax(mask_polar[::-1, :], axis=0), n_r)
    weight = np.clip(chord / max(1.0, 0.6 * chord.max()), 0, 1) if chord.max() > 0 else chord
    return _convolve_axis(weight, _gauss_kernel(1.5), 0), far


def render_frames(geom: FanGeometry, sc: Scene, n_frames: int, height: int, width: int):
    """Render n_frames B-mode frames of the fan as float grey levels in [0, 255] on the full image
    (0 outside the fan)."""
    probe = geom.probe
    rng = np.random.default_rng(sc.seed)
    r0, half, depth = probe.r0_cm, probe.half_angle, geom.depth_cm
    dd = 0.02
    n_r = int(round(depth / dd))
    n_t = int(np.clip(2 * half * (r0 + depth / 2) / 0.05, 128, 320))
    d = (np.arange(n_r) + 0.5) * dd
    th = -half + (np.arange(n_t) + 0.5) * (2 * half / n_t)
    R = (r0 + d)[:, None]
    TH = th[None, :]
    X0 = R * np.sin(TH)
    Z0 = R * np.cos(TH) - r0
    D0 = np.broadcast_to(d[:, None], X0.shape)
    ext_x = (r0 + depth) * math.sin(half) + 1.0
    scat = Field2D.gaussian(rng, 0.012, ext_x, depth + 1.0, complex_valued=True)
    tex1 = Field2D.gaussian(rng, 0.55, ext_x, depth + 1.0)
    tex2 = Field2D.gaussian(rng, 0.16, ext_x, depth + 1.0)
    k_ax = _gauss_kernel(1.3)
    k_lat = _gauss_kernel(0.9)
    # Depth gain after TGC: net loss, focal bump, near-field dip; lateral apodisation at the edges.
    gain_db = (-sc.atten_db_per_cm * d + 4.0 * np.exp(-((d - sc.focus_cm) / (0.25 * depth)) ** 2)
               - 6.0 * np.exp(-d / 0.35))
    gain = (10 ** (gain_db / 20))[:, None] * (1 - 0.35 * _smoothstep(0.88, 1.0, np.abs(th) / half))[None, :]
    amp_x, amp_z, phase, decor = sc.motion
    polar_frames = []
    ref_median = None
    for k in range(n_frames):
        t = 2 * math.pi * k / max(1, n_frames) + phase
        ox, oz = amp_x * math.sin(t), amp_z * math.sin(t + 0.7)
        X, Z, D = X0 - ox, Z0 - oz, D0 - oz
        e = _echogenicity(sc, X, Z, D, tex1, tex2)
        s = scat.nearest(X, Z)
        if decor > 0 and k > 0:
            fresh = (rng.standard_normal(s.shape) + 1j * rng.standard_normal(s.shape)) / math.sqrt(2)
            s = math.sqrt(1 - decor ** 2) * s + decor * fresh
        # Posterior shadowing / enhancement along each beam line.
        for blob_mask, factor in _behind_masks(sc, X, Z, D):
            w, far = _behind_profile(blob_mask)
            behind = np.arange(n_r)[:, None] > far[None, :]
            e = np.where(behind, e * (1 + factor * w[None, :]), e)
        rf = e * s
        rf = _convolve_axis(rf, k_ax, 0)
        rf = _convolve_axis(rf, k_lat, 1)
        env = np.abs(rf) * gain
        noise = (rng.standard_normal(env.shape) + 1j * rng.standard_normal(env.shape)) * sc.noise_floor * 0.05
        env = np.abs(env + noise)
        logi = 20 * np.log10(env + 1e-6)
        if ref_median is None:
            ref_median = float(np.median(logi[int(n_r * 0.3):int(n_r * 0.6), :]))
        grey = sc.target_grey + (logi - ref_median) * 255.0 / sc.dyn_range_db
        polar_frames.append(np.clip(grey, 0, 255))
    # Scan conversion (bilinear in r, theta).
    r_pix, th_pix = geom.pixel_polar(height, width)
    m = geom.mask(height, width)
    fi = (r_pix[m] - r0) / dd - 0.5
    fj = (th_pix[m] + half) / (2 * half / n_t) - 0.5
    fi = np.clip(fi, 0, n_r - 1.001)
    fj = np.clip(fj, 0, n_t - 1.001)
    i0, j0 = np.floor(fi).astype(np.int64), np.floor(fj).astype(np.int64)
    wi, wj = fi - i0, fj - j0
    out = []
    for p in polar_frames:
        v = ((1 - wi) * ((1 - wj) * p[i0, j0] + wj * p[i0, j0 + 1])
             + wi * ((1 - wj) * p[i0 + 1, j0] + wj * p[i0 + 1, j0 + 1]))
        img = np.zeros((height, width), dtype=np.float64)
        img[m] = v
        out.append(img)
    return out, m


def _behind_masks(sc: Scene, X, Z, D):
    """Structures that change the echo behind them: (mask on the polar grid, relative change)."""
    out = []
    deep = D > sc.capsule + 0.07
    if sc.lesion is not None:
        out.append((deep & sc.lesion.inside(X, Z), -sc.lesion.shadow))
    if sc.cyst is not None:
        out.append((deep & (sc.cyst.rho(X, Z) < 1.0), 0.55))
    return out
