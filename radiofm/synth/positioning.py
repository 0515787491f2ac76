"""Synthetic 5G NR uplink CSI from a UE to four base stations, for positioning (pure: arrays + dicts, explicit rng).

Stands in for "CSI dataset towards 5G NR high-precision positioning" (Gao, Wang, Lv, IEEE Dataport 2021; the
slides' Task 3): per sample one CSI image per base station, ``features`` (N, C = 4 BSs, H, W), and the UE
position (N, 3). The public files are 4 × 16 × 193 per sample (as h5py sees them); the follow-up code scales
positions to [−1, 1] inside an 80 × 60 × 40 m outdoor box. What H and W hold in the public files is not
documented beyond "MIMO channel features flattened into an image" (Gao et al., JSAC 2022); here:

- **H = receive antennas**: a 16-element half-wavelength horizontal ULA per BS, broadside towards the area;
- **W = subcarriers**: 193 tones taken uniformly (every 17th) from the 3276 of a 100 MHz, 30 kHz-SCS n78
  carrier at 3.5 GHz (273 PRBs of an SRS spanning the band), i.e. 510 kHz apart (delay range 1.96 µs = 588 m).

Geometry (one :class:`Scene` per data set, drawn from the seed; both files share it):

- the box [0, 80] × [0, 60] × [0, 40] m; BSs at (5, 5, 20), (75, 5, 25), (75, 55, 20), (5, 55, 25) m [ours];
- 6 buildings (axis-aligned blocks, 8–20 m sides, 10–30 m tall) that block paths through them with 25 dB
  penetration loss (optional LoS blockage: ``n_buildings=0`` gives an open area);
- 60 point scatterers: half on building facades (0.1 m outside a wall, 2–15 m up), half free-standing (cars,
  poles, trees: 0.5–6 m up); RCS log-uniform 1–100 m²;
- UEs 1–2 m above ground, never inside a building.

Paths UE → BS: line of sight (free-space λ/4πd), a ground reflection (two-ray, Γ = −0.7, blocked with the LoS)
and one single bounce per scatterer (bistatic radar equation √σ·λ/((4π)^1.5·d1·d2), each leg blockable).
Per path, the CSI over tones f_k and antennas a is g·e^{−j2π f_k d/c}·e^{−j2π f_c δ_a/c}, δ_a the extra
distance to antenna a (spatially narrowband: the 0.69 m aperture is < 1/10 of the 3 m range resolution).
Noise: thermal, per tone: 23 dBm UE power over 3276 tones, −174 dBm/Hz, 30 kHz, 7 dB noise figure (a 50 m LoS
link gets ≈ 33 dB SNR per tone, a blocked one ≈ 8 dB), or a fixed per-BS SNR (``snr_db``, like the public
set's SNR10/20/50 files). Features: |H| normalised by its largest value in the sample (``normalize="sample"``,
keeps the relative power of the four BSs), per BS (``"bs"``, removes that cue), or not at all (``"none"``).
With ``phase=True`` four more channels hold each BS's phase relative to its first antenna and tone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

C_MPS = 299_792_458.0


@dataclass(frozen=True)
class PositioningConfig:
    box_m: tuple[float, float, float] = (80.0, 60.0, 40.0)  # area [0, x] × [0, y] × [0, z]; positions scale inside it
    bs_m: tuple = ((5.0, 5.0, 20.0), (75.0, 5.0, 25.0), (75.0, 55.0, 20.0), (5.0, 55.0, 25.0))  # BS array centres
    ue_height_m: tuple[float, float] = (1.0, 2.0)  # UE height range, m
    carrier_hz: float = 3.5e9  # n78 centre frequency
    scs_hz: float = 30e3  # subcarrier spacing
    n_carrier_tones: int = 3276  # tones of the carrier (273 PRBs × 12 at 100 MHz)
    n_subcarriers: int = 193  # W: tones kept, uniformly spaced across the carrier
    n_antennas: int = 16  # H: ULA elements per BS, half-wavelength spacing
    n_buildings: int = 6  # blocking buildings (0 = open area, LoS everywhere)
    building_side_m: tuple[float, float] = (8.0, 20.0)  # building footprint side range, m
    building_height_m: tuple[float, float] = (10.0, 30.0)
    penetration_loss_db: float = 25.0  # loss of a path leg through a building
    n_scatterers: int = 60  # single-bounce point scatterers (half on facades)
    scatterer_rcs_m2: tuple[float, float] = (1.0, 100.0)  # log-uniform
    ground_reflection: float = -0.7  # two-ray ground reflection coefficient (0 disables it)
    tx_power_dbm: float = 23.0  # UE transmit power
    noise_figure_db: float = 7.0  # BS receiver noise figure
    snr_db: float | None = None  # None: thermal noise from the link budget; a number: that SNR per BS image
    normalize: str = "sample"  # "sample" | "bs" | "none", see the module docstring
    phase: bool = False  # also B relative-phase channels (C = 2B); the public files hold one channel per BS

    @property
    def n_bs(self) -> int:
        return len(self.bs_m)

    @property
    def n_channels(self) -> int:
        """Image channels C: one magnitude channel per BS, and as many phase channels with ``phase``."""
        return self.n_bs * (2 if self.phase else 1)


@dataclass(frozen=True)
class Scene:
    """The fixed environment of one data set (m, rad)."""

    config: PositioningConfig
    bs_m: np.ndarray  # (B, 3) array centres
    antenna_offsets_m: np.ndarray  # (B, A, 3) element positions relative to the centre
    buildings: np.ndarray  # (Q, 6) boxes: x_lo, y_lo, z_lo, x_hi, y_hi, z_hi
    scatterers_m: np.ndarray  # (S, 3)
    scatterer_rcs_m2: np.ndarray  # (S,)
    scatterer_phase: np.ndarray  # (S,) reflection phase, rad

    def describe(self) -> dict:
        return {
            "box_m": list(self.config.box_m),
            "bs_m": np.round(self.bs_m, 3).tolist(),
            "buildings": np.round(self.buildings, 3).tolist(),
            "n_scatterers": len(self.scatterers_m),
            "n_antennas": self.config.n_antennas,
            "n_subcarriers": self.config.n_subcarriers,
            "carrier_hz": self.config.carrier_hz,
            "bandwidth_hz": self.config.n_carrier_tones * self.config.scs_hz,
            "normalize": self.config.normalize,
            "phase": self.config.phase,
            "snr_db": self.config.snr_db,
        }


def draw_scene(rng: np.random.Generator, config: PositioningConfig = PositioningConfig()) -> Scene:
    """Buildings, scatterers and BS arrays for one data set."""
    c = config
    box = np.asarray(c.box_m, dtype=np.float64)
    bs = np.asarray(c.bs_m, dtype=np.float64)
    lam = C_MPS / c.carrier_hz
    centre = box[:2] / 2
    offsets = np.empty((len(bs), c.n_antennas, 3))
    for b in range(len(bs)):
        to_centre = centre - bs[b, :2]
        axis = np.r_[-to_centre[1], to_centre[0], 0.0] / np.linalg.norm(to_centre)  # broadside faces the area
        offsets[b] = (np.arange(c.n_antennas) - (c.n_antennas - 1) / 2)[:, None] * (lam / 2) * axis
    buildings = []
    while len(buildings) < c.n_buildings:
        side = rng.uniform(*c.building_side_m, 2)
        lo = rng.uniform([2.0, 2.0], box[:2] - side - 2.0)
        cand = np.r_[lo, 0.0, lo + side, rng.uniform(*c.building_height_m)]
        if not _inside(bs, cand[None], margin=3.0).any():
            buildings.append(cand)
    buildings = np.array(buildings).reshape(-1, 6)
    n_facade = c.n_scatterers // 2 if len(buildings) else 0
    pts = [_facade_points(rng, buildings, n_facade)] if n_facade else []
    free = []
    while len(free) < c.n_scatterers - n_facade:
        p = np.r_[rng.uniform([0, 0], box[:2]), rng.uniform(0.5, 6.0)]
        if not _inside(p[None], buildings).any():
            free.append(p)
    pts.append(np.array(free).reshape(-1, 3))
    scat = np.concatenate(pts, 0)
    return Scene(
        config=c,
        bs_m=bs,
        antenna_offsets_m=offsets,
        buildings=buildings,
        scatterers_m=scat,
        scatterer_rcs_m2=np.exp(rng.uniform(*np.log(c.scatterer_rcs_m2), len(scat))),
        scatterer_phase=rng.uniform(0, 2 * np.pi, len(scat)),
    )


def _facade_points(rng: np.random.Generator, buildings: np.ndarray, n: int) -> np.ndarray:
    q = rng.integers(0, len(buildings), n)
    face = rng.integers(0, 4, n)  # -x, +x, -y, +y walls
    lo, hi = buildings[q, :3], buildings[q, 3:]
    p = rng.uniform(lo, hi)
    p[:, 2] = rng.uniform(2.0, np.minimum(15.0, hi[:, 2]))
    axis = face // 2
    side = np.where(face % 2 == 0, lo[np.arange(n), axis] - 0.1, hi[np.arange(n), axis] + 0.1)
    p[np.arange(n), axis] = side
    return p


def _inside(points: np.ndarray, boxes: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """(P, 3), (Q, 6) -> (P,) bool: inside any box (grown by ``margin``)."""
    if len(boxes) == 0:
        return np.zeros(len(points), bool)
    p = points[:, None, :]
    return ((p >= boxes[None, :, :3] - margin) & (p <= boxes[None, :, 3:] + margin)).all(-1).any(-1)


def sample_positions(
    scene: Scene,
    n: int,
    rng: np.random.Generator,
    *,
    avoid: np.ndarray | None = None,
    min_separation_m: float = 0.25,
) -> np.ndarray:
    """(n, 3) UE positions, uniform over the box floor outside buildings, at ``ue_height_m``.

    With ``avoid`` (M, 3), every position is at least ``min_separation_m`` (horizontally) from all of them:
    test positions disjoint from the training positions.
    """
    from scipy.spatial import cKDTree

    c = scene.config
    tree = cKDTree(np.asarray(avoid)[:, :2]) if avoid is not None and len(avoid) else None
    out = np.empty((0, 3))
    for _ in range(1000):
        m = max(2 * (n - len(out)), 64)
        p = np.c_[rng.uniform(0, c.box_m[0], m), rng.uniform(0, c.box_m[1], m), rng.uniform(*c.ue_height_m, m)]
        keep = ~_inside(p, scene.buildings, margin=0.5)
        if tree is not None:
            keep &= tree.query(p[:, :2], distance_upper_bound=min_separation_m)[0] > min_separation_m
        out = np.concatenate([out, p[keep]])[:n]
        if len(out) == n:
            return out
    raise ValueError(f"could not place {n} UE positions {min_separation_m} m away from {len(avoid)} others")


def _blocked(a: np.ndarray, b: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Segments a -> b (..., 3) crossing any box: (...,) number of boxes crossed (slab test)."""
    if len(boxes) == 0:
        return np.zeros(np.broadcast_shapes(a.shape, b.shape)[:-1])
    d = (b - a)[..., None, :]  # (..., 1, 3)
    a = a[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (boxes[:, :3] - a) / d
        t2 = (boxes[:, 3:] - a) / d
    inside_slab = (a >= boxes[:, :3]) & (a <= boxes[:, 3:])  # for d == 0 on an axis
    lo = np.where(d == 0, np.where(inside_slab, -np.inf, np.inf), np.minimum(t1, t2)).max(-1)
    hi = np.where(d == 0, np.where(inside_slab, np.inf, -np.inf), np.maximum(t1, t2)).min(-1)
    return ((lo <= hi) & (hi > 1e-9) & (lo < 1 - 1e-9)).sum(-1)


def subcarrier_offsets_hz(config: PositioningConfig = PositioningConfig()) -> np.ndarray:
    """(W,) tone frequencies relative to the carrier: every ``step``-th tone, centred (step 17 by default)."""
    n, w = config.n_carrier_tones, config.n_subcarriers
    if not 2 <= w <= n:
        raise ValueError(f"n_subcarriers must be in 2..{n}, got {w}")
    step = (n - 1) // (w - 1)
    idx = (n - 1 - step * (w - 1)) // 2 + step * np.arange(w)
    return (idx - (n - 1) / 2) * config.scs_hz


def channel_response(scene: Scene, positions: np.ndarray, *, chunk: int = 64) -> np.ndarray:
    """Noiseless CSI: positions (N, 3) -> complex64 (N, B, A, W), amplitude in linear channel gain."""
    ue = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    c = scene.config
    out = np.empty((len(ue), c.n_bs, c.n_antennas, c.n_subcarriers), np.complex64)
    for i in range(0, len(ue), chunk):  # bounded memory: the per-path tensors are (chunk, B, P, W)
        out[i : i + chunk] = _response(scene, ue[i : i + chunk])
    return out


def _response(scene: Scene, ue: np.ndarray) -> np.ndarray:
    c = scene.config
    lam = C_MPS / c.carrier_hz
    f = c.carrier_hz + subcarrier_offsets_hz(c)  # (W,)
    pen = 10 ** (-c.penetration_loss_db / 20)
    bs = scene.bs_m  # (B, 3)
    ant = bs[:, None] + scene.antenna_offsets_m  # (B, A, 3)
    # line of sight and ground reflection: (N, B)
    d_los = np.linalg.norm(ue[:, None] - bs[None], axis=-1)
    los_gain = pen ** _blocked(ue[:, None], bs[None], scene.buildings)
    img = ue * np.array([1.0, 1.0, -1.0])
    d_gnd = np.linalg.norm(img[:, None] - bs[None], axis=-1)
    lengths = [d_los[..., None], d_gnd[..., None]]
    gains = [
        (los_gain * lam / (4 * np.pi * d_los))[..., None],
        (c.ground_reflection * los_gain * lam / (4 * np.pi * d_gnd))[..., None],
    ]
    last = [
        np.broadcast_to(ue[:, None, None], (len(ue), len(bs), 1, 3)),
        np.broadcast_to(img[:, None, None], (len(ue), len(bs), 1, 3)),
    ]
    # single-bounce scatterers: (N, B, S)
    s = scene.scatterers_m
    d1 = np.linalg.norm(ue[:, None] - s[None], axis=-1)  # (N, S)
    d2 = np.linalg.norm(s[:, None] - bs[None], axis=-1).T  # (B, S)
    leg1 = pen ** _blocked(ue[:, None], s[None], scene.buildings)  # (N, S)
    leg2 = pen ** _blocked(s[None], bs[:, None], scene.buildings)  # (B, S)
    amp = np.sqrt(scene.scatterer_rcs_m2) * lam / ((4 * np.pi) ** 1.5 * d1[:, None] * d2[None])
    gains.append(amp * leg1[:, None] * leg2[None] * np.exp(1j * scene.scatterer_phase))
    lengths.append(d1[:, None] + d2[None])
    last.append(np.broadcast_to(s[None, None], (len(ue), len(bs), len(s), 3)))
    g = np.concatenate(gains, -1)  # (N, B, P)
    d = np.concatenate(lengths, -1)  # (N, B, P)
    pts = np.concatenate(last, 2)  # (N, B, P, 3): where each path leaves for the BS
    delta = (
        np.linalg.norm(pts[:, :, :, None] - ant[None, :, None], axis=-1)
        - np.linalg.norm(pts - bs[None, :, None], axis=-1)[..., None]
    )  # (N, B, P, A) extra distance to each element
    steer = (g[..., None] * np.exp(-2j * np.pi * delta / lam)).astype(np.complex64)  # (N, B, P, A)
    # e^{-j2π f_k d/c} over uniformly spaced tones f_k = f_0 + kΔ: e^{-j2π f_0 d/c} · z^k, z = e^{-j2π Δ d/c}
    first = np.exp(-2j * np.pi * np.mod(f[0] * d / C_MPS, 1.0)).astype(np.complex64)  # (N, B, P)
    z = np.exp(-2j * np.pi * np.mod((f[1] - f[0]) * d / C_MPS, 1.0)).astype(np.complex64)
    delay = np.empty((*d.shape, len(f)), np.complex64)  # (N, B, P, W)
    delay[..., 0] = first
    delay[..., 1:] = z[..., None]
    np.cumprod(delay, axis=-1, out=delay)  # float32 error after 192 products: ~1e-5 relative
    # numpy's own loops, not BLAS: deterministic bytes whatever the thread count, and no thread oversubscription
    return np.einsum("nbpa,nbpw->nbaw", steer, delay)  # (N, B, A, W)


def noise_std(config: PositioningConfig = PositioningConfig()) -> float:
    """Per-tone thermal noise std in channel-gain units (noise power / per-tone transmit power), complex."""
    p_tx = 10 ** ((config.tx_power_dbm - 10 * np.log10(config.n_carrier_tones)) / 10)  # mW per tone
    n0 = 10 ** ((-174 + 10 * np.log10(config.scs_hz) + config.noise_figure_db) / 10)  # mW per tone
    return float(np.sqrt(n0 / p_tx))


def csi_features(scene: Scene, positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy CSI images: float32 (N, C, H=A, W); C = B magnitude channels, then B phase channels with ``phase``.

    Magnitudes are normalised as ``config.normalize`` says. Phase channels hold angle(H · conj(H[a=0, w=0])) / π
    in [−1, 1] per BS: relative to the first antenna and tone, so the UE's unknown oscillator phase cancels
    while the phase slopes over tones (delays) and antennas (angles) remain.
    """
    c = scene.config
    h = channel_response(scene, positions)  # (N, B, A, W)
    if c.snr_db is None:
        std = np.full(h.shape[:2], noise_std(c))
    else:
        std = np.sqrt(np.mean(np.abs(h) ** 2, axis=(2, 3)) * 10 ** (-c.snr_db / 10))  # (N, B)
    noise = rng.standard_normal((2, *h.shape), dtype=np.float32) * (std[..., None, None] / np.sqrt(2)).astype(
        np.float32
    )
    h = h + (noise[0] + 1j * noise[1])
    mag = np.abs(h)
    if c.normalize == "sample":
        mag /= mag.max(axis=(1, 2, 3), keepdims=True)
    elif c.normalize == "bs":
        mag /= mag.max(axis=(2, 3), keepdims=True)
    elif c.normalize != "none":
        raise ValueError(f"normalize must be 'sample', 'bs' or 'none', got {c.normalize!r}")
    if not c.phase:
        return mag.astype(np.float32)
    rel = np.angle(h * np.conj(h[:, :, :1, :1])) / np.pi  # (N, B, A, W)
    return np.concatenate([mag, rel], axis=1).astype(np.float32)


__all__ = [
    "C_MPS",
    "PositioningConfig",
    "Scene",
    "channel_response",
    "csi_features",
    "draw_scene",
    "noise_std",
    "sample_positions",
    "subcarrier_offsets_hz",
]
