"""``radiofm annotate`` on captures from receivers our generators never model: no noise at all, 8-bit and 16-bit
ADCs, carriers 30 dB stronger than the training range, a filter's roll-off at the band edges; with and without the
front end's guards for them.

Each condition renders the same scenes of the independent generator (:mod:`radiofm.synth.nrlte_alt`: the plan of
``plan_scene`` and each carrier from ``render_carrier``, test split, every traffic regime, scene ``i`` from
``SeedSequence([seed, i])``) and changes only the receiver:

- ``noisy``: unit-power white noise (the generator's own receiver, without its IQ imbalance and DC spike), cf32;
- ``clean``: no noise (a simulated waveform never passed through a receiver), scaled to 0.3 rms, cf32;
- ``hot``: the noise 30 dB lower (every carrier 30 dB stronger: 25-60 dB in-band SNR), cf32;
- ``ci8``: ``noisy`` quantised to 8 bits, the noise at 2 LSB rms (an RTL-SDR-like ADC);
- ``ci16``: ``noisy`` quantised to 16 bits, the noise at 1 LSB rms;
- ``rolloff``: ``noisy`` through a receiver's anti-alias filter: flat to 0.9 x fs/2, then a raised-cosine
  fall to -30 dB at fs/2 (noise and carriers alike), so the noise floor is not flat across the band;
- ``dc``: ``noisy`` plus an uncorrected LO leakage 40 dB above the noise in its STFT bin;
- ``spurs``: ``noisy`` plus four CW tones 30 dB above the noise in their bins, at random frequencies;
- ``agc``: ``noisy`` with the receiver gain stepping up 10 dB half-way through the capture;
- ``iq``, ``iqhot``: ``noisy`` / ``hot`` through an uncalibrated quadrature mixer (Q gain +1.5 dB, 6° off
  quadrature: every carrier's mirror image 19.9 dB under it; the training generator's is 28.2 dB or more, the
  alt one's 24 dB or more);
- ``skew``, ``skewhot``: ``noisy`` / ``hot`` through a wideband receiver whose I/Q imbalance varies across the
  band (:func:`radiofm.synth.impairments.apply_iq_skew_`: Q gain +0.5 dB, 1° off quadrature, the Q branch
  ``IQ_SKEW_SAMPLES`` (about 1 ns) late: image rejection 28 dB near the centre, 21-24 dB at the band edges);
- ``mildhot``: ``hot`` through a mixer within the training generator's range (Q gain +0.3 dB, 2° off quadrature:
  image rejection 32.2 dB), whose images of such strong carriers stand up to ~25 dB over the noise;
- ``mildlate``, ``skewlate``: ``mildhot`` / ``skewhot`` with every carrier off for the capture's first
  ``LATE_MS`` (a receiver started before the transmitters came on; the truth starts there too): the first 17 ms hold
  the mixer's noise but no image;
- ``radio``: all of ``rolloff``, ``iq``, ``dc`` and ``spurs`` at once, in a receiver's order;
- ``clip``: ``noisy`` into an 8-bit ADC with the gain 6 dB too high (rms 6 dB under full scale): 0.5-3 % of the
  I/Q values at the rails. Not undone (it cannot be); ``annotate`` warns.
- ``rate<R>`` (``rate100``, ``rate50``, ``rate40``, ``rate25``, ``rate20``, any R in MS/s): a receiver clocked off
  the LTE/NR rates (a USRP's 200 MHz / N, say): the carriers resampled to R MS/s (``scipy.signal.resample_poly``),
  then white noise of the same density as ``noisy``'s at the new rate. Below the scene's rate the band is narrower
  than the scene: the truth is cut to the captured band, and a carrier with less than ``MIN_KEPT_HZ`` of it left is
  dropped from the truth. With ``--scene-rate`` under R (30.72 or 15.36 MS/s scenes) every carrier stays whole.

Each capture is written as SigMF with its carriers' annotations, then scored by
:func:`radiofm.annotate.evaluate.evaluate_annotate` (``radiofm evaluate annotate``) with the model ``--model``,
once per front end of ``--front-ends``: ``old`` (no guard: the code before session 32), ``range`` (only the
dynamic-range limit, ``radiofm.annotate.frontend.limit_range``), ``s32`` (session 32's: the limit,
``fill_rolloff`` and ``undo_gain_steps``), ``lines`` (those, and the receiver lines removed), ``new`` (the
defaults: all that, and a mixer's I/Q imbalance undone; :mod:`radiofm.annotate.clean`), ``s36`` (the defaults
of session 36: a constant I/Q correction only, no filter for a frequency-dependent imbalance), ``s37`` (those of
session 37: the imbalance measured on the first 17 ms alone, not on spans spread over the capture, its band-wide
constant with the spurs in). Prints pixel and carrier
scores and false boxes per condition and front end; writes ``benchmarks/results/<name>.json``.

    PYTHONPATH=. .venv/bin/python benchmarks/annotate_receivers.py --model DEMO/segmentation --work W \\
        [--captures 12] [--seed 77] [--conditions noisy,clean,hot,...,iqhot] [--front-ends old,new]
"""

from __future__ import annotations

import argparse
import math
import re
import time
from pathlib import Path

import numpy as np
from _common import print_table, scene_arguments, write_results

from radiofm.annotate import clean, frontend
from radiofm.annotate.evaluate import evaluate_annotate
from radiofm.data import write_sigmf
from radiofm.synth.impairments import apply_iq_imbalance_, apply_iq_skew_
from radiofm.synth.nrlte import scene as main_scene
from radiofm.synth.nrlte_alt import TRAFFIC_REGIMES, scene
from radiofm.synth.nrlte_alt.capture import carrier_meta

FS = 61.44e6  # the scenes' sample rate unless --scene-rate says otherwise
DURATION_S = 0.04
CONDITIONS = ("noisy", "clean", "hot", "ci8", "ci16", "rolloff", "dc", "spurs", "agc", "iq", "iqhot", "clip", "radio",
              "skew", "skewhot", "mildhot", "mildlate", "skewlate")  # fmt: skip
RATE = re.compile(r"^rate([1-9][0-9]*(?:\.[0-9]+)?)$")  # "rate<R>": a receiver at R MS/s
MIN_KEPT_HZ = 1.0e6  # "rate...": a carrier with less of its band inside the captured band leaves the truth
LATE_MS = 20.0  # "...late": the carriers come on this far into the capture
CLIP_BACKOFF_DB = 6.0  # "clip": the capture's rms this far under an 8-bit ADC's full scale
IQ_IMBALANCE = {"gain_db": 1.5, "phase_deg": 6.0}  # image rejection 19.9 dB (training: 28.2 dB or more)
IQ_MILD = {"gain_db": 0.3, "phase_deg": 2.0}  # image rejection 32.2 dB: within the training generator's range
IQ_SKEW = {"gain_db": 0.5, "phase_deg": 1.0, "skew_samples": 0.06}  # 28 dB near the centre, 21-24 at the edges
BIN_SHARE = 1 / 256  # share of white noise's power in one bin of the 256-point analysis
DC_LEAK = np.complex64(math.sqrt(1e4 * BIN_SHARE))  # "dc": an LO leakage 40 dB over the noise in its bin
FRONT_ENDS = {  # radiofm.annotate.frontend / .clean attributes changed from the defaults
    "old": {
        "MAX_RANGE_DB": math.inf,
        "FILL_ROLLOFF": False,
        "UNDO_GAIN_STEPS": False,
        "REMOVE_LINES": False,
        "FIX_IMAGE": False,
    },
    "range": {"FILL_ROLLOFF": False, "UNDO_GAIN_STEPS": False, "REMOVE_LINES": False, "FIX_IMAGE": False},
    "s32": {"REMOVE_LINES": False, "FIX_IMAGE": False},
    "lines": {"FIX_IMAGE": False},
    "s36": {"FIX_IMAGE_BANDS": False, "SPREAD_SPANS": False, "LINE_FREE_CONSTANT": False},
    "s37": {"SPREAD_SPANS": False, "LINE_FREE_CONSTANT": False},
    "new": {},
}
MODULES = (frontend, clean)


def receiver(
    condition: str, carriers: np.ndarray, noise: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """(samples, SigMF datatype) of ``carriers`` (unit noise power scale) received under ``condition``."""
    if condition == "clean":
        return carriers * np.float32(0.3 / np.sqrt(np.mean(np.abs(carriers) ** 2))), "cf32_le"
    if condition == "hot":
        return carriers + noise * np.float32(10 ** (-30 / 20)), "cf32_le"
    if condition == "iqhot":
        return apply_iq_imbalance_(carriers + noise * np.float32(10 ** (-30 / 20)), **IQ_IMBALANCE), "cf32_le"
    if condition == "mildhot":
        return apply_iq_imbalance_(carriers + noise * np.float32(10 ** (-30 / 20)), **IQ_MILD), "cf32_le"
    if condition in ("skewhot", "skewlate"):  # "...late": the carriers were blanked by write_captures
        return apply_iq_skew_(carriers + noise * np.float32(10 ** (-30 / 20)), **IQ_SKEW), "cf32_le"
    if condition == "mildlate":
        return receiver("mildhot", carriers, noise, rng)
    y = carriers + noise
    if condition == "noisy":
        return y, "cf32_le"
    if condition == "rolloff":
        return rolloff(y), "cf32_le"
    if condition == "dc":
        return y + DC_LEAK, "cf32_le"
    if condition == "spurs":
        return add_spurs(y, rng), "cf32_le"
    if condition == "radio":  # all at once, in a receiver's order: the filter, the mixer, then leakage and spurs
        return add_spurs(apply_iq_imbalance_(rolloff(y), **IQ_IMBALANCE) + DC_LEAK, rng), "cf32_le"
    if condition == "iq":
        return apply_iq_imbalance_(y, **IQ_IMBALANCE), "cf32_le"
    if condition == "skew":
        return apply_iq_skew_(y, **IQ_SKEW), "cf32_le"
    if condition == "agc":
        y[len(y) // 2 :] *= np.float32(10 ** (10 / 20))
        return y, "cf32_le"
    if condition == "clip":  # a gain set too high: the strongest samples hit the 8-bit ADC's rails
        y = y * np.float32(10 ** (-CLIP_BACKOFF_DB / 20) / np.sqrt(np.mean(np.abs(y) ** 2)))
        parts = np.clip(np.round(y.view(np.float32) * 128), -128, 127) / np.float32(128)
        return parts.astype(np.float32).view(np.complex64), "ci8"
    lsb, datatype = {"ci8": (2.0 / 128, "ci8"), "ci16": (1.0 / 32768, "ci16_le")}[condition]
    y = y * np.float32(lsb)  # noise rms: 2 LSB (8 bits) or 1 LSB (16 bits)
    peak = float(np.max(np.abs(y.view(np.float32))))
    return (y * np.float32(0.99 / peak) if peak > 0.99 else y), datatype  # no clipping


def add_spurs(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``y`` plus four CW tones 30 dB over the unit noise in their bins, at random frequencies."""
    t = np.arange(len(y))
    for f in rng.uniform(-0.45, 0.45, size=4):
        y = y + (math.sqrt(1e3 * BIN_SHARE) * np.exp(2j * np.pi * f * t)).astype(np.complex64)
    return y


def rolloff(x: np.ndarray, flat: float = 0.9, stop_db: float = -30.0) -> np.ndarray:
    """``x`` through a filter flat over |f| <= flat x fs/2, falling as a raised cosine to ``stop_db`` at fs/2."""
    import scipy.fft

    f = np.abs(scipy.fft.fftfreq(len(x))) * 2  # |f| / (fs/2)
    u = np.clip((f - flat) / (1 - flat), 0, 1)
    gain_db = stop_db * (1 - np.cos(np.pi * u)) / 2
    return scipy.fft.ifft(scipy.fft.fft(x) * 10 ** (gain_db / 20)).astype(np.complex64)


def write_captures(work: Path, conditions: list[str], captures: int, seed: int, fs: float = FS) -> None:
    n = int(round(DURATION_S * fs))
    for i in range(captures):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        plans = scene.plan_scene(rng, split="test", regimes=list(TRAFFIC_REGIMES), sample_rate_hz=fs,
                                 n_samples=n)  # fmt: skip
        x = np.zeros(n, np.complex64)
        for plan in plans:
            x += scene.render_carrier(plan, rng, fs, n)[0]
        noise = rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(math.sqrt(0.5))
        truth = main_scene.annotations([carrier_meta(p, fs, n, -10 * math.log10(fs)) for p in plans])
        for cond in conditions:
            rng_c = np.random.default_rng([seed, i, condition_index(cond)])
            rate = rate_hz(cond)
            if rate is not None:
                y, tc = at_rate(x, truth, fs, rate, rng_c)
                write_sigmf(work / cond / f"capture_{i:03d}", y, sample_rate_hz=rate,
                            center_freq_hz=main_scene.CENTER_FREQ_HZ, annotations=tc)  # fmt: skip
                continue
            xc, tc = late(x, truth, fs) if cond.endswith("late") else (x, truth)
            y, datatype = receiver(cond, xc, noise, rng_c)
            write_sigmf(work / cond / f"capture_{i:03d}", y, sample_rate_hz=fs, datatype=datatype,
                        center_freq_hz=main_scene.CENTER_FREQ_HZ, annotations=tc)  # fmt: skip


def rate_hz(cond: str) -> float | None:
    """The sample rate of a ``rate<R>`` condition (Hz), None for any other name."""
    m = RATE.match(cond)
    return None if m is None else float(m.group(1)) * 1e6


def condition_index(cond: str) -> int:
    """A number per condition for its random draws (the fixed conditions keep the numbers they always had)."""
    if cond in CONDITIONS:
        return CONDITIONS.index(cond)
    return 1000 + int(round(rate_hz(cond) / 1e3))


def at_rate(
    carriers: np.ndarray, truth: list[dict], fs_scene: float, fs: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[dict]]:
    """``carriers`` (at ``fs_scene``, unit noise scale) received at ``fs``: resampled, white noise of the same density
    added; the truth's sample indices moved to ``fs`` and its bands cut to the captured ``fs`` around the centre."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(fs / fs_scene).limit_denominator(10_000)
    y = resample_poly(carriers, ratio.numerator, ratio.denominator).astype(np.complex64)
    noise_rms = np.float32(math.sqrt(0.5 * fs / fs_scene))  # the same noise density as the scene's unit noise
    y += rng.standard_normal(2 * len(y), dtype=np.float32).view(np.complex64) * noise_rms
    lo, hi = main_scene.CENTER_FREQ_HZ - fs / 2, main_scene.CENTER_FREQ_HZ + fs / 2
    out = []
    for ann in truth:
        f0, f1 = max(ann["core:freq_lower_edge"], lo), min(ann["core:freq_upper_edge"], hi)
        if f1 - f0 >= MIN_KEPT_HZ:
            start = int(round(ann["core:sample_start"] * fs / fs_scene))
            count = min(int(round(ann["core:sample_count"] * fs / fs_scene)), len(y) - start)
            out.append(ann | {"core:sample_start": start, "core:sample_count": count,
                              "core:freq_lower_edge": f0, "core:freq_upper_edge": f1})  # fmt: skip
    return y, out


def late(carriers: np.ndarray, truth: list[dict], fs: float = FS) -> tuple[np.ndarray, list[dict]]:
    """``carriers`` off for the first ``LATE_MS``, and the truth's annotations cut to what is left on."""
    a = int(round(LATE_MS * 1e-3 * fs))
    x = carriers.copy()
    x[:a] = 0
    out = []
    for ann in truth:
        s0, s1 = ann["core:sample_start"], ann["core:sample_start"] + ann["core:sample_count"]
        if s1 > a:
            out.append(ann | {"core:sample_start": max(s0, a), "core:sample_count": s1 - max(s0, a)})
    return x, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scene_arguments(ap, captures=12, seed=77)
    ap.add_argument("--conditions", default=",".join(CONDITIONS), help="comma list; also rate<R> (R in MS/s)")
    ap.add_argument("--scene-rate", type=float, default=FS, help="sample rate the scenes are planned at (Hz)")
    ap.add_argument("--front-ends", default="old,new", help="comma list of old, range, s32, lines, s36, s37, new")
    ap.add_argument("--name", default="annotate_receivers")
    ap.add_argument("--results-dir", type=Path, default=None, help="where the JSON goes (default benchmarks/results)")
    args = ap.parse_args(argv)
    conditions = [c for c in args.conditions.split(",") if c]
    unknown = sorted(c for c in conditions if c not in CONDITIONS and rate_hz(c) is None)
    if unknown:
        ap.error(f"unknown conditions {unknown}; choose from {', '.join(CONDITIONS)} or rate<R>")
    front_ends = [f for f in args.front_ends.split(",") if f]
    if set(front_ends) - set(FRONT_ENDS):
        ap.error(f"unknown front ends {sorted(set(front_ends) - set(FRONT_ENDS))}; choose from {', '.join(FRONT_ENDS)}")

    t0 = time.perf_counter()
    write_captures(args.work, conditions, args.captures, args.seed, args.scene_rate)
    print(f"{args.captures} scenes x {len(conditions)} receivers written in {time.perf_counter() - t0:.0f} s")
    names = sorted({k for v in FRONT_ENDS.values() for k in v})
    owner = {k: next(m for m in MODULES if hasattr(m, k)) for k in names}
    default, rows, results = {k: getattr(owner[k], k) for k in names}, [], []
    try:
        for front_end in front_ends:
            for k, v in (default | FRONT_ENDS[front_end]).items():
                setattr(owner[k], k, v)
            for cond in conditions:
                t = time.perf_counter()
                out = args.work / f"score_{cond}_{front_end}"
                rep = evaluate_annotate(args.model, args.work / cond, out, progress=False)
                px, car = rep["pixel"], rep["carriers"]
                row = {"receiver": cond, "front end": front_end, "pixel mean": px["mean_class_accuracy"],
                       "noise px": px["per_class_accuracy"]["noise"], "NR right": car["NR"]["accuracy"],
                       "LTE right": car["LTE"]["accuracy"], "NR IoU": car["NR"]["freq_iou_mean"],
                       "false boxes": rep["false_boxes"], "s": time.perf_counter() - t}  # fmt: skip
                rows.append(row)
                results.append(row | {"report": str(out / "annotate_score.json")})
    finally:
        for k, v in default.items():
            setattr(owner[k], k, v)
    print_table(rows)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    write_results(args.name, {"settings": settings, "rows": results}, args.results_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
