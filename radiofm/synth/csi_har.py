"""Synthetic Wi-Fi CSI amplitude of human activities in the NTU-Fi HAR format (pure: arrays + dicts, explicit rng).

What NTU-Fi HAR is (the format we imitate):

- CSI measured with the Atheros CSI Tool between two routers with a person between them; 3 receive antennas
  × 114 subcarriers (the tool reports 56 tones at 20 MHz and 114 at 40 MHz, i.e. an HT40 channel: tones
  −58…−2 and +2…+58 at 312.5 kHz), 2000 packets at 500 Hz (4 s), amplitude only (SenseFi benchmark
  README and data loader, github.com/xyanchen/WiFi-CSI-Sensing-Benchmark; EfficientFi, Yang et al., IEEE IoT-J
  2022; Atheros CSI Tool, Xie et al., MobiCom 2015). The 5 GHz band is from the task brief; the exact channel is
  not published, we use 36+40 (5.19 GHz) [ours].
- SenseFi standardises the amplitudes with mean 42.32 and std 4.98: values of that size and spread are
  20·log10 of 10-bit CSI magnitudes, not linear magnitudes (a multipath channel's linear magnitude varies across
  subcarriers by a large fraction of its mean). We therefore output amplitude in dB, with the output gain
  calibrated on random rooms to a mean near 42 dB [ours; the unit is not documented]. Measured: a room's
  mean lies within about ±4 dB of that (link length, wall reflectivity) and its std is 3.4–5.8 dB.

The model (a ray picture of one recording, CSI of antenna a, subcarrier k, packet t):

    H[a, k, t] = Σ_static s_p(t) g_p e^{-j2π f_k d_{p,a}/c} + diffuse[a, k] + Σ_body b_m(t) e^{-j2π f_k d_{m,a}(t)/c}

- static multipath of the room (:func:`draw_environment`): line of sight; first-order specular reflections off
  four walls, floor and ceiling (image method, reflection coefficient 0.3–0.7 each); 4–12 furniture point
  scatterers (RCS 0.05–1 m², bistatic radar equation); diffuse reverberation (24 late paths, exponential
  power-delay profile, mean excess length 12 m, −12 dB below LoS in total). Per recording, furniture moves by
  up to 5 cm (chairs, the person's belongings; NTU-Fi was recorded in one lab, the room does not change
  between recordings) [ours].
- body shadowing s_p(t) (:mod:`radiofm.synth.body_shadow`): every geometric static path (LoS, the six specular
  reflections via their wall points, each furniture echo) loses amplitude while a body part is within about
  one Fresnel radius of it — a person on the middle of a 3.5 m link about −10 dB (torso, hips, arms), −7 dB
  when 0.2 m off it, under 2 dB at 0.4 m, nothing at 0.8 m (radio tomographic imaging measures 5–10 dB for
  a person on a link). This is the activities' SLOW signature, at the rate the body and limbs move through
  the paths (cadence, crossings of the link, a fall's lasting change), patterned across subcarriers by the
  shadowed paths' delays; it survives paper B's resize of 2000 packets to 224 (or 112) columns, i.e. 56 (28) Hz
  sampling with anti-aliasing. Per recording the losses scale by 0.7–1.0 (``shadow_loss``). Computed at the
  middle antenna (6 cm spacing) and applied to all three. The diffuse reverberation is not shadowed.
- the body (:mod:`radiofm.synth.body_motion`): 8 moving scatterers with amplitude √σ·λ/((4π)^1.5·d1·d2)
  plus the torso's reflections via the four walls; their path lengths change with the motion, which is the
  Doppler (a part moving at v m/s changes its path length by up to 2v m/s: up to 2v/λ ≈ 35 Hz per m/s at
  5.19 GHz, below the 250 Hz Nyquist limit of 500 Hz sampling). Most of this fast interference averages out
  in the resized images (the mean of 20·log10|S + B e^{jφ}| over a uniform phase φ is 20·log10 max(|S|, |B|)),
  except where the body's echo exceeds a static notch.
- receiver: per-antenna RF gain (1 dB spread), AGC gain wander (0.4 dB, < 0.5 Hz) and per-packet gain jitter
  (0.15 dB) common to all tones, a 1.5 dB band-edge roll-off of the receive filter, complex estimation noise at
  18–32 dB SNR; amplitude = 20·log10|H| + output gain (99.6 dB ± 0.5 dB per recording, one session).

Per-recording variation: the person (height 1.55–1.9 m, size), where the activity happens (NTU-Fi's subject
performs between the routers: ±0.3 m across the link, ±20 % of its length along it [ours]), facing direction,
walking lines across or along the link, the activity's own parameters (speed, cadence, rates, amplitudes),
furniture displacement, shadow depth, SNR, gains. One :class:`Environment` is one room with one router
placement; a dataset uses one environment (another seed, another room).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from radiofm.synth.body_motion import ACTIVITIES, motion
from radiofm.synth.body_shadow import path_shadow, shadow_points

CLASSES = ACTIVITIES  # box, circle, clean, fall, run, walk: sorted, as NTU-Fi's class folders
N_ANTENNAS = 3  # receive antennas
N_SUBCARRIERS = 114  # HT40 tones reported by the Atheros CSI Tool
N_SAMPLES = 2000  # packets per recording
SAMPLE_RATE_HZ = 500.0  # packet rate
SUBCARRIER_SPACING_HZ = 312.5e3
SUBCARRIER_INDEX = np.concatenate([np.arange(-58, -1), np.arange(2, 59)])  # (114,) HT40 tones around DC
C_MPS = 299_792_458.0


@dataclass(frozen=True)
class CsiHarConfig:
    carrier_hz: float = 5.19e9  # centre frequency: 5 GHz HT40 channel 36+40 [ours]
    n_samples: int = N_SAMPLES  # packets per recording
    sample_rate_hz: float = SAMPLE_RATE_HZ  # packet rate
    rx_spacing_m: float = 0.06  # receive antenna spacing (router external antennas, about one wavelength)
    room_m: tuple[float, float] = (4.0, 8.0)  # range of each horizontal room side, m
    ceiling_m: float = 3.0  # room height, m
    link_m: tuple[float, float] = (2.5, 4.5)  # transmitter-receiver distance, m
    antenna_height_m: tuple[float, float] = (0.9, 1.3)  # router heights, m (tables)
    wall_reflection: tuple[float, float] = (0.3, 0.7)  # |reflection coefficient| of each of the 6 surfaces
    n_furniture: tuple[int, int] = (4, 12)  # static point scatterers in the room
    furniture_rcs_m2: tuple[float, float] = (0.05, 1.0)  # their radar cross-section (log-uniform)
    furniture_move_m: float = 0.05  # per-recording displacement of the furniture, m (uniform in a cube)
    n_diffuse: int = 24  # late reverberation paths
    diffuse_excess_m: float = 12.0  # mean excess path length of the reverberation, m
    diffuse_level_db: float = -12.0  # total reverberation power relative to the LoS
    activity_offset_m: tuple[float, float] = (0.3, 0.2)  # anchor spread across the link (m), along it (fraction)
    shadow_loss: tuple[float, float] = (0.7, 1.0)  # per-recording scale of the body's path losses (body_shadow)
    antenna_gain_db: float = 1.0  # std of the per-antenna RF chain gain, dB
    agc_drift_db: float = 0.4  # std of the slow AGC gain wander (common to tones and antennas), dB
    packet_jitter_db: float = 0.15  # std of per-packet gain jitter, dB
    band_edge_db: float = 1.5  # receive-filter roll-off at the outermost tones, dB
    snr_db: tuple[float, float] = (18.0, 32.0)  # CSI estimation SNR per recording, dB
    output_gain_db: float = 99.6  # added to 20*log10|H| (calibrates the amplitude scale, see module doc)
    level_spread_db: float = 0.5  # std of the per-recording output level, dB


@dataclass(frozen=True)
class Environment:
    """One room and router placement. Positions in m, shapes in comments."""

    room_m: tuple[float, float, float]  # (x, y, z) extent; the room is [0, x] × [0, y] × [0, z]
    tx_m: np.ndarray  # (3,) transmitter antenna
    rx_m: np.ndarray  # (A, 3) receive antennas
    walls: np.ndarray  # (6,) reflection coefficients of x=0, x=X, y=0, y=Y, floor, ceiling
    furniture_m: np.ndarray  # (S, 3) furniture scatterers
    furniture_rcs_m2: np.ndarray  # (S,)
    furniture_phase: np.ndarray  # (S,) reflection phase, rad
    diffuse_excess_m: np.ndarray  # (R,) excess path length of each reverberation path, m
    diffuse_gain: np.ndarray  # (R,) complex gain relative to the LoS gain
    antenna_gain_db: np.ndarray  # (A,) RF chain gains

    def describe(self) -> dict:
        """JSON-able summary for manifests."""
        return {
            "room_m": [round(v, 3) for v in self.room_m],
            "tx_m": np.round(self.tx_m, 3).tolist(),
            "rx_m": np.round(self.rx_m, 3).tolist(),
            "link_m": round(float(np.linalg.norm(self.rx_m.mean(0) - self.tx_m)), 3),
            "walls": np.round(self.walls, 3).tolist(),
            "n_furniture": len(self.furniture_m),
        }


def draw_environment(rng: np.random.Generator, config: CsiHarConfig = CsiHarConfig()) -> Environment:
    """A room with two routers ``link_m`` apart near its centre, walls, furniture and reverberation."""
    c = config
    room = (rng.uniform(*c.room_m), rng.uniform(*c.room_m), c.ceiling_m)
    link = min(rng.uniform(*c.link_m), min(room[:2]) - 1.0)
    angle = rng.uniform(-np.pi, np.pi)
    u = np.array([np.cos(angle), np.sin(angle)])
    mid = np.array(room[:2]) / 2 + rng.uniform(-0.3, 0.3, 2)
    tx = np.r_[mid - u * link / 2, rng.uniform(*c.antenna_height_m)]
    rx_c = np.r_[mid + u * link / 2, rng.uniform(*c.antenna_height_m)]
    perp = np.r_[-u[1], u[0], 0.0]
    rx = rx_c + (np.arange(N_ANTENNAS) - (N_ANTENNAS - 1) / 2)[:, None] * c.rx_spacing_m * perp
    n_f = int(rng.integers(c.n_furniture[0], c.n_furniture[1] + 1))
    furniture = rng.uniform([0.2, 0.2, 0.3], [room[0] - 0.2, room[1] - 0.2, 1.8], (n_f, 3))
    rcs = np.exp(rng.uniform(*np.log(c.furniture_rcs_m2), n_f))
    excess = rng.exponential(c.diffuse_excess_m, c.n_diffuse)
    power = np.exp(-excess / c.diffuse_excess_m)
    power *= 10 ** (c.diffuse_level_db / 10) / power.sum()
    diffuse = np.sqrt(power) * np.exp(1j * rng.uniform(0, 2 * np.pi, c.n_diffuse))
    return Environment(
        room_m=room,
        tx_m=tx,
        rx_m=rx,
        walls=rng.uniform(*c.wall_reflection, 6),
        furniture_m=furniture,
        furniture_rcs_m2=rcs,
        furniture_phase=rng.uniform(0, 2 * np.pi, n_f),
        diffuse_excess_m=excess,
        diffuse_gain=diffuse,
        antenna_gain_db=rng.normal(0.0, c.antenna_gain_db, N_ANTENNAS),
    )


def subcarrier_freqs_hz(config: CsiHarConfig = CsiHarConfig()) -> np.ndarray:
    """(K,) absolute frequency of each reported tone."""
    return config.carrier_hz + SUBCARRIER_INDEX * SUBCARRIER_SPACING_HZ


def synthesize_recording(
    activity: str,
    rng: np.random.Generator,
    *,
    environment: Environment | None = None,
    config: CsiHarConfig = CsiHarConfig(),
) -> tuple[np.ndarray, dict]:
    """One recording of ``activity``: amplitude float32 (A=3, K=114, T) in dB, and its metadata dict.

    ``environment`` is the room (drawn from ``rng`` when None). Everything random comes from ``rng``.
    """
    if activity not in CLASSES:
        raise ValueError(f"unknown activity {activity!r}; expected one of {', '.join(CLASSES)}")
    c = config
    env = environment if environment is not None else draw_environment(rng, c)
    env = dataclasses.replace(
        env, furniture_m=env.furniture_m + rng.uniform(-c.furniture_move_m, c.furniture_move_m, env.furniture_m.shape)
    )
    t = np.arange(c.n_samples) / c.sample_rate_hz
    freqs = subcarrier_freqs_hz(c)
    lam = C_MPS / c.carrier_hz

    rx_c = env.rx_m.mean(0)
    link = rx_c[:2] - env.tx_m[:2]
    u = link / np.linalg.norm(link)
    across, along = rng.uniform(-1, 1) * c.activity_offset_m[0], rng.uniform(-1, 1) * c.activity_offset_m[1]
    anchor = env.tx_m[:2] + link * (0.5 + along) + np.array([-u[1], u[0]]) * across
    bounds = ((0.3, env.room_m[0] - 0.3), (0.3, env.room_m[1] - 0.3))
    body = motion(
        activity,
        t,
        rng,
        anchor_xy=anchor,
        bounds_xy=bounds,
        link_rad=float(np.arctan2(u[1], u[0])),
        along_max_m=2 * ((0.5 - abs(along)) * float(np.linalg.norm(link)) - 0.4),
    )

    paths = _static_paths(env, freqs, lam)
    shadow = path_shadow(
        env.tx_m,
        paths["vertex"][:, 1:2],
        env.rx_m[1:2],
        shadow_points(body["positions_m"]),
        wavelength_m=lam,
        size_scale=body["meta"]["rcs_scale"],
        loss_scale=rng.uniform(*c.shadow_loss),
    )  # (P, 1, T) amplitude factor of each geometric static path, at the middle antenna (6 cm: the same for all)
    h = _body_channel(env, body["positions_m"], body["rcs_m2"], freqs, lam, rng)  # (A, K, T) complex64
    h += paths["diffuse"].astype(np.complex64)[:, :, None]
    tones = paths["tones"].astype(np.complex64)  # (P, A, K)
    for p in range(len(tones)):  # shadowed static paths
        h += tones[p][:, :, None] * shadow[p][:, None, :]
    snr_db = rng.uniform(*c.snr_db)
    noise_power = float(np.mean(h.real**2 + h.imag**2)) * 10 ** (-snr_db / 10)
    scale = np.float32(np.sqrt(noise_power / 2))
    h.real += rng.standard_normal(h.shape, dtype=np.float32) * scale
    h.imag += rng.standard_normal(h.shape, dtype=np.float32) * scale
    amp_db = 10 * np.log10(h.real**2 + h.imag**2 + np.float32(1e-24))  # (A, K, T) float32, = 20 log10 |H|

    gain_db = c.output_gain_db + rng.normal(0.0, c.level_spread_db)
    drift = _wander(rng, t, c.agc_drift_db, 0.5)  # (T,) common AGC wander
    jitter = rng.normal(0.0, c.packet_jitter_db, len(t))  # (T,) per-packet gain
    edge = -c.band_edge_db * (SUBCARRIER_INDEX / 58.0) ** 4  # (K,) receive-filter roll-off
    amp_db += (gain_db + env.antenna_gain_db[:, None, None] + edge[None, :, None]).astype(np.float32)
    amp_db += (drift + jitter).astype(np.float32)[None, None, :]
    meta = {
        **body["meta"],
        "snr_db": round(snr_db, 3),
        "level_db": round(gain_db, 3),
        "anchor_m": np.round(anchor, 3).tolist(),
        "los_shadow_min": round(float(shadow[0].min()), 4),
        "shadow_mean": round(float(shadow.mean()), 4),
    }
    return amp_db.astype(np.float32), meta


# ----------------------------------------------------------------------------------------------- channel parts
def _wander(rng: np.random.Generator, t: np.ndarray, std: float, max_hz: float, n: int = 4) -> np.ndarray:
    f = rng.uniform(0.02, max_hz, n)
    ph = rng.uniform(0, 2 * np.pi, n)
    return std * np.sqrt(2.0 / n) * np.sin(2 * np.pi * f[:, None] * t[None] + ph[:, None]).sum(0)


def _images(point: np.ndarray, room: tuple[float, float, float]) -> np.ndarray:
    """(..., 3) -> (6, ..., 3): mirror images of ``point`` in the planes x=0, x=X, y=0, y=Y, z=0, z=Z."""
    out = np.repeat(point[None], 6, axis=0).astype(np.float64)
    for i, (axis, wall) in enumerate(((0, 0.0), (0, room[0]), (1, 0.0), (1, room[1]), (2, 0.0), (2, room[2]))):
        out[i, ..., axis] = 2 * wall - point[..., axis]
    return out


def _static_paths(env: Environment, freqs: np.ndarray, lam: float) -> dict:
    """The room's static paths: geometric ones (LoS, 6 specular, furniture) and the diffuse remainder.

    Returns {"vertex": (P, A, 3) reflection/scattering point (the LoS: its midpoint), "tones": (P, A, K) complex
    per-tone response of each geometric path (reflection signs included), "diffuse": (A, K) complex}; LoS is p=0.
    """
    k = 2 * np.pi * freqs / C_MPS  # (K,) wavenumbers
    n_ant = len(env.rx_m)
    d_los = np.linalg.norm(env.rx_m - env.tx_m, axis=1)  # (A,)
    g_los = lam / (4 * np.pi * d_los)
    tx_img = _images(env.tx_m, env.room_m)  # (6, 3)
    d_img = np.linalg.norm(tx_img[:, None, :] - env.rx_m[None], axis=2)  # (6, A)
    axis = np.array([0, 0, 1, 1, 2, 2])
    wall = np.array([0.0, env.room_m[0], 0.0, env.room_m[1], 0.0, env.room_m[2]])
    frac = (wall - tx_img[np.arange(6), axis])[:, None] / (env.rx_m[:, axis].T - tx_img[np.arange(6), axis][:, None])
    specular = tx_img[:, None] + frac[..., None] * (env.rx_m[None] - tx_img[:, None])  # (6, A, 3) wall points
    d1 = np.linalg.norm(env.furniture_m - env.tx_m, axis=1)  # (S,)
    d2 = np.linalg.norm(env.furniture_m[:, None] - env.rx_m[None], axis=2)  # (S, A)
    amp = np.sqrt(env.furniture_rcs_m2)[:, None] * lam / ((4 * np.pi) ** 1.5 * d1[:, None] * d2)
    gain = np.concatenate(
        [g_los[None], -env.walls[:, None] * lam / (4 * np.pi * d_img), amp * np.exp(1j * env.furniture_phase)[:, None]]
    )  # (P, A); specular reflections flip the sign
    length = np.concatenate([d_los[None], d_img, d1[:, None] + d2])  # (P, A)
    vertex = np.concatenate(
        [0.5 * (env.tx_m + env.rx_m)[None], specular, np.repeat(env.furniture_m[:, None], n_ant, axis=1)]
    )  # (P, A, 3)
    tones = gain[..., None] * np.exp(-1j * k * length[..., None])  # (P, A, K)
    d_rev = d_los.mean() + env.diffuse_excess_m  # reverberation: the same on every antenna
    diffuse = (env.diffuse_gain[:, None] * g_los.mean() * np.exp(-1j * k * d_rev[:, None])).sum(0)
    return {"vertex": vertex, "tones": tones, "diffuse": np.repeat(diffuse[None], n_ant, axis=0)}


def _body_channel(env: Environment, pos: np.ndarray, rcs: np.ndarray, freqs, lam, rng) -> np.ndarray:
    """(A, K, T) complex: the body's direct scattering plus the torso's wall-bounced paths.

    pos: (M, T, 3) scatterer positions; rcs: (M,). The carrier phase is taken modulo 2π in float64, the
    per-tone remainder in float32 (the path-length span of a recording is a few metres: |error| < 1e-4 rad).
    """
    d1 = np.linalg.norm(pos - env.tx_m, axis=2)  # (M, T)
    d2 = np.linalg.norm(pos[:, None] - env.rx_m[None, :, None], axis=3)  # (M, A, T)
    amp = np.sqrt(rcs)[:, None, None] * lam / ((4 * np.pi) ** 1.5 * d1[:, None] * d2)  # (M, A, T)
    length = d1[:, None] + d2  # (M, A, T)
    phase = rng.uniform(0, 2 * np.pi, len(rcs))[:, None, None] * np.ones_like(length)
    # torso -> wall -> receiver, via the receivers' images in the four walls
    rx_img = _images(env.rx_m, env.room_m)[:4]  # (4, A, 3)
    d2w = np.linalg.norm(pos[0][None, None] - rx_img[:, :, None], axis=3)  # (4, A, T)
    amp_w = env.walls[:4, None, None] * np.sqrt(rcs[0]) * lam / ((4 * np.pi) ** 1.5 * d1[0][None, None] * d2w)
    amp = np.concatenate([amp, -amp_w], 0)
    length = np.concatenate([length, d1[0][None, None] + d2w], 0)
    phase = np.concatenate([phase, phase[:1].repeat(4, 0)], 0)
    carrier = freqs.mean()
    base = (2 * np.pi * np.mod(length * carrier / C_MPS, 1.0) + phase).astype(np.float32)  # (P, A, T)
    dk = (2 * np.pi * (freqs - carrier) / C_MPS).astype(np.float32)  # (K,)
    length32 = length.astype(np.float32)
    out_re = np.zeros((len(env.rx_m), len(freqs), pos.shape[1]), np.float32)
    out_im = np.zeros_like(out_re)
    for p in range(len(amp)):
        ph = base[p][:, None, :] + dk[None, :, None] * length32[p][:, None, :]  # (A, K, T)
        a = amp[p].astype(np.float32)[:, None, :]
        out_re += a * np.cos(ph)
        out_im -= a * np.sin(ph)
    out = np.empty(out_re.shape, np.complex64)
    out.real, out.imag = out_re, out_im
    return out


def doppler_summary(amp_db: np.ndarray, *, packet_rate_hz: float = SAMPLE_RATE_HZ) -> np.ndarray:
    """Four scalar summaries of one recording's raw (A, K, T) amplitude in dB, what its Doppler looks like before
    any resize: fluctuation power (1–150 Hz, linear amplitude relative to its mean), Doppler centroid (Hz),
    fraction of that power above 25 Hz, and the mean temporal std in dB. The Welch spectrum's estimation-noise
    floor (median above 200 Hz) is removed first. Used to check the activities' separability (tests, benchmark)."""
    from scipy.signal import welch

    lin = 10 ** (np.asarray(amp_db, np.float64) / 20)
    x = lin / lin.mean(2, keepdims=True) - 1
    f, p = welch(x, fs=packet_rate_hz, nperseg=128, axis=2)
    p = p.mean((0, 1))
    p = np.clip(p - np.median(p[f > 200]), 0, None)
    band = (f > 1) & (f < 150)
    power = p[band].sum()
    return np.array([power, (f * p)[band].sum() / power, p[(f > 25) & (f < 150)].sum() / power, amp_db.std(2).mean()])


__all__ = [
    "CLASSES",
    "C_MPS",
    "CsiHarConfig",
    "Environment",
    "N_ANTENNAS",
    "N_SAMPLES",
    "N_SUBCARRIERS",
    "SAMPLE_RATE_HZ",
    "SUBCARRIER_INDEX",
    "SUBCARRIER_SPACING_HZ",
    "doppler_summary",
    "draw_environment",
    "subcarrier_freqs_hz",
    "synthesize_recording",
]
