"""One capture of a class: its clean emission through a propagation channel, CFO and drift, thermal noise at a drawn
SNR, and an SDR front end (phase noise, IQ imbalance, DC/LO spike, gain set to the strongest peaks, clipping).

Every class passes through the same channel families, noise and receiver, with every parameter drawn from the same
ranges, so nothing but the signal itself tells the classes apart (the noise floor, DC spike, image and scaling carry
no class information). The SNR is the *in-band* SNR of the primary transmission: its mean power during its bursts
over the noise power inside its occupied bandwidth (the noise floor is white over the capture band).

Channels: ``"los"`` — nearly line-of-sight, Rician K 10–20 dB, ≤ 2 Hz Doppler (ADS-B aircraft, VOR); ``"mobile"`` —
flat Rician fading, K 0–15 dB, 0–20 Hz Doppler (VHF/UHF narrowband links); ``"multipath"`` — a 3GPP tapped delay
line (EPA/EVA/ETU, 0–50 Hz Doppler) for the wideband classes; ``"hf"`` — a Watterson-like two-path ionospheric
channel, 0.5–2 ms delay, 0.1–1 Hz Doppler spread (Morse, RTTY, SSTV).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from radiofm.errors import ConfigError
from radiofm.synth import channels, emitters
from radiofm.synth import impairments as imp
from radiofm.synth.signals.classes import CLASSES, signal_class
from radiofm.synth.signals.common import Emission

SAMPLE_RATE_HZ = 2.048e6  # RTL-SDR rate; DAB's own sample rate (1/T, EN 300 401), so its 1.536 MHz fits whole


@dataclass(frozen=True)
class CaptureConfig:
    """What a capture may look like. Defaults: a 2.048 MS/s, 0.25 s RTL-SDR-like capture."""

    sample_rate_hz: float = SAMPLE_RATE_HZ  # capture rate (2–10 MS/s); every class is rendered at it
    duration_s: float = 0.25  # capture length, s
    # in-band SNR of the primary transmission, uniform (dB). Not down to −5 dB by default: at 2.048 MS/s a −5 dB
    # Morse or RTTY signal sits ~18 dB under the noise of a 2 kHz spectrogram bin, i.e. a capture whose label
    # nothing in it supports; lower the range for detection studies.
    snr_db_range: tuple[float, float] = (0.0, 30.0)
    cfo_hz_max: float = 2e3  # receiver tuning error: CFO uniform in ±cfo_hz_max (≈2 ppm at 1 GHz)
    drift_hz_per_s_max: float = 20.0  # slow oscillator drift over the capture, uniform in ±max
    fading_probability: float = 0.8  # chance the primary transmission goes through its class's channel
    receiver_impairments: bool = True  # phase noise, IQ imbalance, DC spike, gain headroom / clipping

    def validate(self) -> CaptureConfig:
        if not 2e6 <= self.sample_rate_hz <= 10e6:
            raise ConfigError(f"sample_rate_hz must lie in 2–10 MS/s, got {self.sample_rate_hz:g}")
        if not 0.01 <= self.duration_s <= 10.0:
            raise ConfigError(f"duration_s must lie in 0.01–10 s, got {self.duration_s:g}")
        lo, hi = self.snr_db_range
        if not -30.0 <= lo <= hi <= 60.0:
            raise ConfigError(f"snr_db_range must satisfy -30 <= lo <= hi <= 60 dB, got {self.snr_db_range}")
        if not 0 <= self.cfo_hz_max <= 20e3 or not 0 <= self.drift_hz_per_s_max <= 1e3:
            raise ConfigError("cfo_hz_max must lie in 0–20 kHz and drift_hz_per_s_max in 0–1000 Hz/s")
        if not 0.0 <= self.fading_probability <= 1.0:
            raise ConfigError(f"fading_probability must lie in [0, 1], got {self.fading_probability}")
        return dataclasses.replace(self, snr_db_range=(float(lo), float(hi)))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["snr_db_range"] = list(self.snr_db_range)
        return d


def synthesize_capture(
    name: str, seed: np.random.SeedSequence | int, config: CaptureConfig | None = None
) -> tuple[np.ndarray, dict]:
    """Render one capture of class ``name``. Returns ``(iq, meta)``.

    iq: (N,) complex64, N = round(duration_s · sample_rate_hz), scaled to the ADC full scale (|I|, |Q| ≤ 1).
    meta: plain dict — ``class``, ``sample_rate_hz``, ``duration_s``, ``center_freq_hz`` (capture centre),
    ``carrier_hz`` (a typical carrier of the class), ``center_offset_hz`` and ``bandwidth_hz`` of the primary
    transmission (CFO included),
    ``snr_db``, ``cfo_hz``, ``drift_hz_per_s``, ``channel``, ``receiver``, ``bursts`` (list of dicts with
    ``start_s``, ``duration_s``, ``center_offset_hz``, ``bandwidth_hz``, clipped to the capture) and ``info``
    (class parameters drawn for this capture).
    """
    cls = signal_class(name)
    config = (config or CaptureConfig()).validate()
    rng = np.random.default_rng(seed)
    fs = float(config.sample_rate_hz)
    n = int(round(config.duration_s * fs))
    emission = cls.generate(rng, n, fs)
    primary = emission.primary
    bw = min(primary.bandwidth_hz, fs)
    snr_db = float(rng.uniform(*config.snr_db_range))
    fading = rng.random() < config.fading_probability
    channel = apply_channel(primary.iq, fs, cls.channel, rng) if fading else {"model": "none"}
    buf = primary.iq
    for comp in emission.components[1:]:
        buf += comp.iq * np.float32(10 ** (comp.level_db / 20))
    buf *= np.float32(np.sqrt(10 ** (snr_db / 10) * bw / fs))  # noise floor: unit power over the capture band
    cfo = float(rng.uniform(-config.cfo_hz_max, config.cfo_hz_max))
    drift = float(rng.uniform(-config.drift_hz_per_s_max, config.drift_hz_per_s_max))
    _rotate_(buf, fs, cfo, drift)
    receiver = _receiver_(buf, fs, rng, impaired=config.receiver_impairments)
    return buf, _meta(cls, emission, config, rng, snr_db=snr_db, cfo=cfo, drift=drift, channel=channel, rx=receiver)


def _meta(cls, emission: Emission, config: CaptureConfig, rng, *, snr_db, cfo, drift, channel, rx) -> dict:
    dur, fs = config.duration_s, config.sample_rate_hz
    bursts = []
    for comp in emission.components:
        for b in comp.bursts:
            start, stop = max(b.start_s, 0.0), min(b.start_s + b.duration_s, dur)
            if stop > start:
                d = {"start_s": start, "duration_s": stop - start, "center_offset_hz": b.center_offset_hz + cfo}
                bursts.append({**d, "bandwidth_hz": min(b.bandwidth_hz, fs), "primary": comp is emission.primary})
    bursts.sort(key=lambda d: (d["start_s"], d["center_offset_hz"]))
    p = emission.primary
    carrier = float(emission.info.get("carrier_hz", rng.choice(np.asarray(cls.carriers_hz))))
    offset = float(emission.info.get("carrier_offset_hz", p.center_offset_hz))
    center = float(emission.info.get("center_freq_hz", carrier - offset))
    return {
        "class": cls.name,
        "sample_rate_hz": fs,
        "duration_s": dur,
        "center_freq_hz": round(center, 1),
        "carrier_hz": carrier,
        "center_offset_hz": p.center_offset_hz + cfo,
        "bandwidth_hz": min(p.bandwidth_hz, fs),
        "snr_db": snr_db,
        "cfo_hz": cfo,
        "drift_hz_per_s": drift,
        "channel": channel,
        "receiver": rx,
        "bursts": bursts,
        "info": json_ready(emission.info),
    }


def json_ready(obj):
    """numpy scalars → Python, recursively (the metadata goes to JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    return obj.item() if isinstance(obj, np.generic) else obj


# ----------------------------------------------------------------------------------------------------- channel


def _rotate_(buf: np.ndarray, fs: float, cfo_hz: float, drift_hz_per_s: float) -> None:
    """Frequency offset ``cfo_hz`` plus a linear drift, in place: an exact tone for the offset; the drift's phase
    (≤ a few Hz over a capture) held over blocks short enough to stay within 0.002 cycles."""
    n = buf.size
    buf *= emitters.tone(n, cfo_hz / fs)
    span_hz = abs(drift_hz_per_s) * n / fs  # largest frequency the drift reaches
    if span_hz > 0:
        block = int(np.clip(0.002 * fs / span_hz, 1, 1024))
        t = np.arange(0, n, block) / fs
        ph = (np.pi * drift_hz_per_s * t * t).astype(np.float64)
        _hold_multiply_(buf, np.exp(1j * ph).astype(np.complex64), block)


def _hold_multiply_(buf: np.ndarray, gains: np.ndarray, block: int) -> None:
    """buf[i] *= gains[i // block], in place."""
    n_full = (buf.size // block) * block
    buf[:n_full].reshape(-1, block)[...] *= gains[: n_full // block, None]
    if n_full < buf.size:
        buf[n_full:] *= gains[n_full // block]


def _rayleigh_blocks(n: int, fs: float, doppler_hz: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A unit-power Rayleigh gain process with a Jakes spectrum, as ``(gains, block)``: exact at the centre of every
    ``block`` = 125 µs of samples (≥ 400 points per Doppler period up to 20 Hz), to be held over each block."""
    block = max(1, int(round(125e-6 * fs)))
    times = (np.arange(-(-n // block)) + 0.5) * (block / fs)
    return channels.rayleigh_gains(np.array([1.0]), times, doppler_hz, rng)[:, 0], block


def apply_channel(iq: np.ndarray, fs: float, model: str, rng: np.random.Generator) -> dict:
    """Pass ``iq`` (N,) complex64 through a random channel of family ``model`` in place; returns its parameters."""
    n = iq.size
    if model in ("los", "mobile"):
        k_db = float(rng.uniform(10, 20) if model == "los" else rng.uniform(0, 15))
        doppler = float(rng.uniform(0, 2) if model == "los" else rng.uniform(0, 20))
        k = 10 ** (k_db / 10)
        los = np.sqrt(k / (k + 1)) * np.exp(2j * np.pi * rng.random())
        g, block = _rayleigh_blocks(n, fs, doppler, rng)
        _hold_multiply_(iq, (los + np.sqrt(1 / (k + 1)) * g).astype(np.complex64), block)
        return {"model": "rician", "k_db": k_db, "doppler_hz": doppler}
    if model == "hf":
        delay_s, spread = float(rng.uniform(0.5e-3, 2e-3)), float(rng.uniform(0.1, 1.0))
        lag = min(int(round(delay_s * fs)), n)
        second = np.zeros_like(iq)
        second[lag:] = iq[: n - lag]
        p2 = float(rng.uniform(0.1, 1.0))  # second path's power relative to the first
        (g1, block), (g2, _) = _rayleigh_blocks(n, fs, spread, rng), _rayleigh_blocks(n, fs, spread, rng)
        _hold_multiply_(iq, (g1 / np.sqrt(1 + p2)).astype(np.complex64), block)
        _hold_multiply_(second, (g2 * np.sqrt(p2 / (1 + p2))).astype(np.complex64), block)
        iq += second
        second_db = float(10 * np.log10(p2))
        return {"model": "hf-two-path", "delay_s": delay_s, "doppler_spread_hz": spread, "second_path_db": second_db}
    profile = str(rng.choice(["EPA", "EVA", "ETU"]))
    doppler = float(rng.uniform(0, 50))
    iq[:] = channels.fading(iq, fs, profile=profile, doppler_hz=doppler, rng=rng)
    return {"model": profile, "doppler_hz": doppler}


# ---------------------------------------------------------------------------------------------------- receiver


def _receiver_(buf: np.ndarray, fs: float, rng: np.random.Generator, *, impaired: bool) -> dict:
    """Noise and SDR front end in place; returns the drawn parameters. Noise: unit power over the capture band."""
    info: dict = {"noise_power": 1.0}
    if impaired:
        info["phase_noise_linewidth_hz"] = float(rng.uniform(0.5, 20.0))
        imp.apply_phase_noise_(buf, fs, linewidth_hz=info["phase_noise_linewidth_hz"], rng=rng)
    buf += imp.thermal_noise(buf.size, power=1.0, rng=rng)
    headroom_db = 3.0
    if impaired:
        gain_db, phase_deg = float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-3.0, 3.0))
        imp.apply_iq_imbalance_(buf, gain_db=gain_db, phase_deg=phase_deg)
        dc_db = float(rng.uniform(-35.0, -5.0))  # LO leakage power relative to the total noise power
        imp.add_dc_offset_(buf, np.sqrt(10 ** (dc_db / 10)) * np.exp(2j * np.pi * rng.uniform()))
        # gain set by the strongest peaks, with 0–6 dB headroom; now and then overdriven (clipping)
        headroom_db = float(rng.uniform(-3.0, 0.0) if rng.random() < 0.05 else rng.uniform(0.0, 6.0))
        info.update(iq_gain_db=gain_db, iq_phase_deg=phase_deg, dc_offset_db=dc_db)
    peak = float(np.max(np.abs(buf.view(np.float32))))
    full_scale = peak * 10 ** (headroom_db / 20)
    info["clipped_samples"] = imp.clip_(buf, full_scale)
    buf *= np.float32(1.0 / full_scale)
    info.update(full_scale=full_scale, headroom_db=headroom_db)
    return info


__all__ = ["CLASSES", "CaptureConfig", "SAMPLE_RATE_HZ", "apply_channel", "synthesize_capture"]
