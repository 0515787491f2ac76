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

Public API: :func:`generate_corpus` (files), :func:`synthesize_recording` (one recording in memory),
:class:`CorpusConfig` (ranges and options), :func:`plan_scene` with :class:`Scene` / :class:`Burst` (what
a recording holds, before rendering). Cost: ≈0.5 s of one CPU core per 100 ms at 61.44 MS/s.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

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
        rates = tuple(float(r) for r in self.sample_rate_choices_hz)
        if not rates or min(rates) < 1e6 or max(rates) > 200e6:
            raise ConfigError(f"sample rates must lie in 1–200 MHz, got {list(rates)}")
        d0, d1 = self.duration_s_range
        if not 1e-4 <= d0 <= d1 <= 10.0:
            raise ConfigError(f"duration_s_range must satisfy 1e-4 <= lo <= hi <= 10 s, got {(d0, d1)}")
        f0, f1 = self.center_freq_range_hz
        if not 2.0e9 <= f0 <= f1 <= 3.0e9:
            raise ConfigError(f"center_freq_range_hz must lie in 2–3 GHz with lo <= hi, got {(f0, f1)}")
        s0, s1 = self.snr_db_range
        if not -40 <= s0 <= s1 <= 80:
            raise ConfigError(f"snr_db_range must satisfy -40 <= lo <= hi <= 80 dB, got {(s0, s1)}")
        if not 0.0 <= self.fading_probability <= 1.0:
            raise ConfigError(f"fading_probability must lie in [0, 1], got {self.fading_probability}")
        if self.datatype not in DATATYPES:
            raise ConfigError(f"datatype must be one of {', '.join(DATATYPES)}, got {self.datatype!r}")
        return dataclasses.replace(self, sample_rate_choices_hz=rates)


def synthesize_recording(seed: np.random.SeedSequence | int, config: CorpusConfig | None = None):
    """Draw and render one recording. Returns ``(iq, annotations, info)``.

    iq: (N,) complex64 scaled to the ADC full scale; annotations: list of ``radiofm.data.Annotation``;
    info: dict with ``sample_rate_hz``, ``center_freq_hz``, ``duration_s`` and the receiver impairments.
    """
    from radiofm.data import Annotation

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
            annotations.append(Annotation(*ann))
    annotations.sort(key=lambda a: (a.sample_start, a.freq_lower_edge_hz))
    info = {"sample_rate_hz": fs, "center_freq_hz": fc, "duration_s": scene.n_samples / fs}
    info["receiver"] = _receiver_(buf, scene, rng, impaired=config.receiver_impairments)
    return buf, annotations, info


def _render_burst(buf: np.ndarray, scene: Scene, burst: Burst, rng: np.random.Generator) -> tuple | None:
    """Generate one burst, move it to its offset, fade it, add it into ``buf``; return the annotation fields."""
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
    extra = {
        "radiofm:snr_db": round(float(burst.snr_db), 2),
        "radiofm:channel": burst.channel,
        "radiofm:cfo_hz": round(float(burst.cfo_hz), 1),
        "radiofm:fading": profile or "none",
    }
    return a0, end - a0, float(lo), float(hi), burst.label, extra


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


# ------------------------------------------------------------------------------------------------ corpus


def generate_corpus(
    out_dir,
    *,
    n_recordings: int,
    seed: int,
    workers: int = 1,
    progress: bool = True,
    config: CorpusConfig | None = None,
    **overrides,
) -> list[Path]:
    """Write ``n_recordings`` SigMF recordings ``recording_0000.sigmf-{meta,data}``, … and ``corpus.json``
    into ``out_dir``. Returns the ``.sigmf-meta`` paths in index order.

    ``config`` (a :class:`CorpusConfig`) or keyword overrides of its fields (``sample_rate_choices_hz``,
    ``duration_s_range``, ``datatype``, …) shape the recordings. ``workers > 1`` renders in parallel
    processes; the output is byte-identical for any ``workers``.
    """
    from tqdm import tqdm

    from radiofm.io import write_json

    if isinstance(n_recordings, bool) or not isinstance(n_recordings, int | np.integer) or n_recordings < 1:
        raise ConfigError(f"n_recordings must be an integer >= 1, got {n_recordings!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    fields = {f.name for f in dataclasses.fields(CorpusConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(f"unknown corpus option(s) {', '.join(unknown)}; valid: {', '.join(sorted(fields))}")
    config = dataclasses.replace(config or CorpusConfig(), **overrides).validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    jobs = [(i, int(seed), str(out), config) for i in range(int(n_recordings))]
    summaries: list[dict | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), unit="rec", desc="ism corpus", disable=not progress)
    try:
        if workers == 1 or len(jobs) == 1:
            for job in jobs:
                summaries[job[0]] = _write_recording(job)
                bar.update()
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(int(workers), len(jobs)), mp_context=ctx) as pool:
                futures = {pool.submit(_write_recording, job): job[0] for job in jobs}
                for fut in as_completed(futures):
                    summaries[futures[fut]] = fut.result()
                    bar.update()
    finally:
        bar.close()

    labels = Counter()
    for s in summaries:
        labels.update(s["labels"])
    write_json(
        out / "corpus.json",
        {
            "kind": "ism-corpus",
            "generator": "radiofm.synth.ism",
            "generator_version": GENERATOR_VERSION,
            "seed": int(seed),
            "n_recordings": int(n_recordings),
            "config": dataclasses.asdict(config),
            "labels": dict(sorted(labels.items())),
            "files": summaries,
        },
    )
    return [out / s["meta"] for s in summaries]


def _write_recording(job: tuple) -> dict:
    """Worker: render recording ``i`` of the corpus and write it. Top level so spawn workers can pickle it."""
    from radiofm.data import write_sigmf

    i, seed, out_dir, config = job
    seed_seq = np.random.SeedSequence(seed, spawn_key=(i,))  # == SeedSequence(seed).spawn(n)[i]
    iq, annotations, info = synthesize_recording(seed_seq, config)
    name = f"recording_{i:04d}"
    meta = write_sigmf(
        Path(out_dir) / name,
        iq,
        sample_rate_hz=info["sample_rate_hz"],
        center_freq_hz=info["center_freq_hz"],
        annotations=annotations,
        datatype=config.datatype,
        description=f"radiofm synthetic ISM/2.4-2.65 GHz scene {i} (seed {seed})",
        extra_global={
            "radiofm:generator": "radiofm.synth.ism",
            "radiofm:generator_version": GENERATOR_VERSION,
            "radiofm:seed": seed,
            "radiofm:index": i,
        },
    )
    return {
        "meta": Path(meta).name,
        "sample_rate_hz": info["sample_rate_hz"],
        "center_freq_hz": info["center_freq_hz"],
        "n_samples": int(iq.size),
        "n_annotations": len(annotations),
        "labels": dict(sorted(Counter(a.label for a in annotations).items())),
    }
