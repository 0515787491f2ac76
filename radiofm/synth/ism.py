"""The ISM / 2.40–2.65 GHz pretraining corpus: a synthetic stand-in for the over-the-air RRD recordings.

Each recording observes ``sample_rate_hz`` of spectrum around a centre drawn uniformly from 2.40–2.65 GHz
for 50–150 ms, and holds a random scene of what that band carries, every emission at its standard channel
frequency when it falls inside the observed span, with bursty traffic timing, per-transmitter power
(in-band SNR over the noise floor), CFO and optional multipath fading, and receiver impairments over the
whole recording (phase noise, thermal noise, IQ imbalance, DC/LO spike, AGC gain steps, ADC clipping).
Samples are scaled to the ADC full scale (|I|, |Q| ≤ 1).

One SigMF annotation per emitted burst/packet: ``core:sample_start``/``core:sample_count``, absolute
``core:freq_lower_edge``/``core:freq_upper_edge`` (carrier + offset ± occupied half-bandwidth, clipped to
the observed span) and ``core:label``, one of:

| label | emission |
|---|---|
| ``wifi-ofdm`` | 802.11a/g/n OFDM PPDUs (20 / 40 MHz, channels 1–13 at 2412 + 5(n−1) MHz) and their ACKs |
| ``wifi-dsss`` | 802.11b DSSS PPDUs (11 Mchip/s Barker, 22 MHz), beacons and ACKs |
| ``bluetooth`` | Bluetooth BR packets (GFSK, 1600 hops/s over 79 channels at 2402 + k MHz) |
| ``ble`` | BLE advertising packets on channels 37/38/39 (2402/2426/2480 MHz), scan requests/responses |
| ``zigbee`` | 802.15.4 packets and ACKs (O-QPSK, channels 11–26 at 2405 + 5(k−11) MHz) |
| ``microwave`` | microwave-oven on-periods (swept carrier near 2.45–2.47 GHz, 50/60 Hz duty cycle) |
| ``lte`` | LTE band 7 FDD DL/UL and band 41 TDD DL runs / UL allocations |
| ``nr`` | NR n41 TDD (30 kHz SCS) DL runs / UL allocations |

Extra annotation keys: ``radiofm:snr_db`` (in-band SNR), ``radiofm:channel``, ``radiofm:cfo_hz``,
``radiofm:fading`` (profile or "none"). Recording *i* of a corpus draws everything from
``np.random.SeedSequence(seed).spawn(n)[i]``, so the bytes do not depend on ``workers``.

Public API: :func:`synthesize_recording` (one recording in memory; the corpus folder is written by
:func:`radiofm.data.ism.generate_corpus`),
:class:`CorpusConfig` (ranges and options), :func:`plan_scene` with :class:`Scene` / :class:`Burst` (what
a recording holds, before rendering). Cost: ≈0.5 s of one CPU core per 100 ms at 61.44 MS/s.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from radiofm.errors import ConfigError
from radiofm.synth import channels, emitters
from radiofm.synth import impairments as imp
from radiofm.synth.ism_scene import Burst, Scene, plan_scene

GENERATOR_VERSION = "1.0"
LABELS = ("wifi-ofdm", "wifi-dsss", "bluetooth", "ble", "zigbee", "microwave", "lte", "nr")
SAMPLE_RATES_HZ = (10e6, 15.36e6, 20e6, 23.04e6, 30.72e6, 40e6, 46.08e6, 56e6, 61.44e6)
DATATYPES = ("cf32_le", "ci16_le")


@dataclass(frozen=True)
class CorpusConfig:
    """What a corpus recording may look like. Defaults follow SPEC §1–§2; tests shrink them."""

    sample_rate_choices_hz: tuple[float, ...] = SAMPLE_RATES_HZ  # drawn uniformly per recording
    duration_s_range: tuple[float, float] = (0.05, 0.15)  # recording length, uniform
    center_freq_range_hz: tuple[float, float] = (2.40e9, 2.65e9)  # recording centre, uniform
    snr_db_range: tuple[float, float] = (-10.0, 30.0)  # per-transmitter in-band SNR over the noise floor
    fading_probability: float = 0.5  # chance a transmitter's bursts go through channels.fading
    receiver_impairments: bool = True  # phase noise, IQ imbalance, DC spike, AGC steps, clipping
    datatype: str = "cf32_le"  # SigMF sample format: "cf32_le" or "ci16_le" (half the disk)

    def validate(self) -> CorpusConfig:
        rates = _numbers(self.sample_rate_choices_hz)
        if rates is None:
            raise ConfigError(
                f"sample_rate_choices_hz must be a sequence of sample rates in Hz, got {self.sample_rate_choices_hz!r}"
            )
        if not rates or min(rates) < 1e6 or max(rates) > 200e6:
            raise ConfigError(f"sample rates must lie in 1–200 MHz, got {list(rates)}")
        d0, d1 = _pair(self.duration_s_range, "duration_s_range")
        if not 1e-4 <= d0 <= d1 <= 10.0:
            raise ConfigError(f"duration_s_range must satisfy 1e-4 <= lo <= hi <= 10 s, got {(d0, d1)}")
        f0, f1 = _pair(self.center_freq_range_hz, "center_freq_range_hz")
        if not 2.0e9 <= f0 <= f1 <= 3.0e9:
            raise ConfigError(f"center_freq_range_hz must lie in 2–3 GHz with lo <= hi, got {(f0, f1)}")
        s0, s1 = _pair(self.snr_db_range, "snr_db_range")
        if not -40 <= s0 <= s1 <= 80:
            raise ConfigError(f"snr_db_range must satisfy -40 <= lo <= hi <= 80 dB, got {(s0, s1)}")
        if not 0.0 <= self.fading_probability <= 1.0:
            raise ConfigError(f"fading_probability must lie in [0, 1], got {self.fading_probability}")
        if self.datatype not in DATATYPES:
            raise ConfigError(f"datatype must be one of {', '.join(DATATYPES)}, got {self.datatype!r}")
        return dataclasses.replace(self, sample_rate_choices_hz=rates)


def _numbers(value) -> tuple[float, ...] | None:
    """``value`` (a sequence or array of finite real numbers) as floats; None when it is anything else (a bare
    number, a string, ...)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return None
    items = tuple(value)
    ok = all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in items)
    return tuple(float(v) for v in items) if ok else None


def _pair(value, name: str) -> tuple[float, float]:
    """``value``'s (lo, hi) as floats; ConfigError naming ``name`` when it is not a pair of numbers."""
    pair = _numbers(value)
    if pair is None or len(pair) != 2:
        raise ConfigError(f"{name} must be a (lo, hi) pair of numbers, got {value!r}")
    return pair


def synthesize_recording(seed: np.random.SeedSequence | int, config: CorpusConfig | None = None):
    """Draw and render one recording. Returns ``(iq, annotations, info)``.

    iq: (N,) complex64 scaled to the ADC full scale; annotations: SigMF annotation dicts (``core:sample_start``,
    ``core:sample_count``, ``core:freq_lower_edge``, ``core:freq_upper_edge``, ``core:label``, ``radiofm:…``),
    sorted by start then lower edge; info: dict with ``sample_rate_hz``, ``center_freq_hz``, ``duration_s`` and
    the receiver impairments.
    """
    config = (config or CorpusConfig()).validate()
    rng = np.random.default_rng(seed)
    fs = float(rng.choice(np.asarray(config.sample_rate_choices_hz)))
    fc = float(np.round(rng.uniform(*config.center_freq_range_hz), -3))  # 1 kHz tuning step
    duration_s = float(rng.uniform(*config.duration_s_range))
    scene = Scene(center_freq_hz=fc, sample_rate_hz=fs, n_samples=int(round(duration_s * fs)))
    bursts = plan_scene(scene, rng, snr_db_range=config.snr_db_range, fading_probability=config.fading_probability)

    buf = np.zeros(scene.n_samples, np.complex64)
    annotations = []
    for burst in bursts:
        ann = _render_burst(buf, scene, burst, rng)
        if ann is not None:
            annotations.append(ann)
    annotations.sort(key=lambda a: (a["core:sample_start"], a["core:freq_lower_edge"]))
    info = {"sample_rate_hz": fs, "center_freq_hz": fc, "duration_s": scene.n_samples / fs}
    info["receiver"] = _receiver_(buf, scene, rng, impaired=config.receiver_impairments)
    return buf, annotations, info


def _render_burst(buf: np.ndarray, scene: Scene, burst: Burst, rng: np.random.Generator) -> dict | None:
    """Generate one burst, move it to its offset, fade it, add it into ``buf``; return its SigMF annotation."""
    fs, n = scene.sample_rate_hz, scene.n_samples
    wf = burst.make(rng)
    rate = wf.sample_rate_hz
    # trim the native waveform to the recording window (plus a margin for the resampler) before converting
    first = max(0, int(np.floor(-burst.start_s * rate)) - 16)
    last = min(wf.iq.size, int(np.ceil((scene.duration_s - burst.start_s) * rate)) + 16)
    if last <= first:
        return None
    offset_hz = burst.carrier_hz - scene.center_freq_hz
    y = emitters.to_band(wf.iq[first:last], rate, fs, offset_hz)
    power = 10 ** (burst.snr_db / 10) * wf.bandwidth_hz / fs  # noise floor: unit power over fs
    y *= np.float32(np.sqrt(power))
    profile = burst.fading
    if profile:
        y = channels.fading(y, fs, profile=profile, doppler_hz=burst.doppler_hz, rng=rng)
    start = int(round((burst.start_s + first / rate) * fs))
    a, b = max(start, 0), min(start + y.size, n)
    if b <= a:
        return None
    buf[a:b] += y[a - start : b - start]
    centre_hz = burst.carrier_hz + wf.center_offset_hz  # the waveform may sit off its carrier (UL RBs)
    lo = max(centre_hz - wf.bandwidth_hz / 2, scene.lower_edge_hz)
    hi = min(centre_hz + wf.bandwidth_hz / 2, scene.upper_edge_hz)
    if hi <= lo:
        return None
    # the whole burst at the output rate, clipped to the recording
    end = min(int(round((burst.start_s + wf.iq.size / rate) * fs)), n)
    a0 = max(int(round(burst.start_s * fs)), 0)
    if end <= a0:
        return None
    return {
        "core:sample_start": int(a0),
        "core:sample_count": int(end - a0),
        "core:freq_lower_edge": float(lo),
        "core:freq_upper_edge": float(hi),
        "core:label": burst.label,
        "radiofm:snr_db": round(float(burst.snr_db), 2),
        "radiofm:channel": burst.channel,
        "radiofm:cfo_hz": round(float(burst.cfo_hz), 1),
        "radiofm:fading": profile or "none",
    }


def _receiver_(buf: np.ndarray, scene: Scene, rng: np.random.Generator, *, impaired: bool) -> dict:
    """Receiver front end, in place: LO phase noise, thermal noise (unit power), IQ imbalance, DC/LO leak,
    AGC gain steps, then ADC clipping and scaling to full scale. Returns the drawn parameters."""
    n, fs = scene.n_samples, scene.sample_rate_hz
    info: dict = {"noise_power": 1.0}
    if impaired:
        info["phase_noise_linewidth_hz"] = float(rng.uniform(1.0, 300.0))
        imp.apply_phase_noise_(buf, fs, linewidth_hz=info["phase_noise_linewidth_hz"], rng=rng)
    buf += imp.thermal_noise(n, power=1.0, rng=rng)
    if impaired:
        gain_db, phase_deg = float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-4.0, 4.0))
        imp.apply_iq_imbalance_(buf, gain_db=gain_db, phase_deg=phase_deg)
        dc_db = float(rng.uniform(-25.0, -5.0))  # LO leakage power relative to the total noise power
        imp.add_dc_offset_(buf, np.sqrt(10 ** (dc_db / 10)) * np.exp(2j * np.pi * rng.uniform()))
        steps, gain = [], 0.0
        for _ in range(rng.poisson(0.7)):
            gain = float(np.clip(gain + rng.choice([-1, 1]) * rng.uniform(1.0, 6.0), -12.0, 12.0))
            steps.append((int(rng.integers(0, n)), gain))
        imp.apply_agc_steps_(buf, steps)
        # the ADC full scale sits near the strongest peaks (set by the AGC), so clipping is rare but happens
        headroom_db = float(rng.uniform(-1.0, 3.0))
        peak = float(np.quantile(np.abs(buf.view(np.float32)[::37]), 0.9999))
        full_scale = peak * 10 ** (headroom_db / 20)
        info.update(iq_gain_db=gain_db, iq_phase_deg=phase_deg, dc_offset_db=dc_db, agc_steps=steps)
        info["adc_headroom_db"] = headroom_db
    else:
        full_scale = float(np.max(np.abs(buf.view(np.float32)))) or 1.0
    info["clipped_samples"] = imp.clip_(buf, full_scale)
    buf *= np.float32(1.0 / full_scale)
    info["full_scale"] = full_scale
    return info
