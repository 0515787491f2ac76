"""Benchmark radiofm.dsp.spectrogram against scipy on 64 ms of IQ at 61.44 MS/s.

Parameters of paper B: FFT 1024, periodic Hann window 512, hop 512 (3,932,160 complex64 samples -> 7680
frames). Baselines, each configured to compute the same STFT:

- ``scipy.signal.ShortTimeFFT.spectrogram``: same window, hop, ``mfft=1024``, ``fft_mode="centered"``,
  ``scale_to="psd"``, frames aligned with ours (``p0=0, p1=T, k_offset=win//2``);
- ``scipy.signal.spectrogram``: same window, ``noverlap=0``, ``nfft=1024``, ``return_onesided=False``,
  ``detrend=False``, ``mode="psd"``. It does *less* work than ours: no fftshift and no dB, and it returns a
  transposed view rather than a contiguous (F, T) array. The ``+ fftshift + dB`` row adds both.

Cases run round-robin (``_common.time_many``) so that load from other processes on a shared machine falls on
all of them alike. Targets: >= 10x faster than ShortTimeFFT, >= 1.2x faster than scipy.signal.spectrogram.
Every baseline's output is checked against ours (max deviation in dB after removing the constant scaling offset).

    .venv/bin/python benchmarks/spectrogram.py [--repeats 7]
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.signal
import torch
from _common import machine_info, print_table, time_many, write_results

from radiofm.dsp import n_frames, spectrogram

FFT_SIZE, WIN_LENGTH, HOP = 1024, 512, 512


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--duration-s", type=float, default=0.064)
    parser.add_argument("--sample-rate-hz", type=float, default=61.44e6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n = int(round(args.duration_s * args.sample_rate_hz))
    rng = np.random.default_rng(args.seed)
    iq = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    t = n_frames(n, win_length=WIN_LENGTH, hop=HOP)
    window = scipy.signal.get_window("hann", WIN_LENGTH)  # periodic
    stft = scipy.signal.ShortTimeFFT(
        window, hop=HOP, fs=args.sample_rate_hz, mfft=FFT_SIZE, fft_mode="centered", scale_to="psd"
    )

    def scipy_spectrogram():
        return scipy.signal.spectrogram(
            iq, window=window, nperseg=WIN_LENGTH, noverlap=0, nfft=FFT_SIZE, return_onesided=False,
            detrend=False, mode="psd",
        )[2]  # fmt: skip

    def scipy_spectrogram_db():
        return 10 * np.log10(np.fft.fftshift(scipy_spectrogram(), axes=0) + 1e-12)

    def shorttimefft():
        return stft.spectrogram(iq, p0=0, p1=t, k_offset=WIN_LENGTH // 2)

    threads = torch.get_num_threads()

    def ours_single():
        torch.set_num_threads(1)
        try:
            return spectrogram(iq, fft_size=FFT_SIZE, win_length=WIN_LENGTH, hop=HOP)
        finally:
            torch.set_num_threads(threads)

    def ours():
        return spectrogram(iq, fft_size=FFT_SIZE, win_length=WIN_LENGTH, hop=HOP)

    reference = ours().astype(np.float64)
    cases = [
        (f"radiofm.dsp.spectrogram ({threads} threads)", ours, None),
        ("radiofm.dsp.spectrogram (1 thread)", ours_single, None),
        ("scipy.signal.spectrogram", scipy_spectrogram, lambda s: 10 * np.log10(np.fft.fftshift(s, axes=0))),
        ("scipy.signal.spectrogram + fftshift + dB", scipy_spectrogram_db, None),
        ("scipy.signal.ShortTimeFFT.spectrogram", shorttimefft, lambda s: 10 * np.log10(s)),
    ]
    rows = []
    for name, fn, to_db in cases:  # check every output against ours first
        out = fn()
        db = to_db(out) if to_db else out
        rows.append({"method": name, "max_dev_db": float(np.ptp(np.asarray(db, dtype=np.float64) - reference))})
    timings = time_many({name: fn for name, fn, _ in cases}, repeats=args.repeats, warmup=1)
    for row in rows:
        row["median_ms"] = timings[row["method"]]["median_s"] * 1e3
        row["min_ms"] = timings[row["method"]]["min_s"] * 1e3
    base = timings[cases[0][0]]["median_s"]
    for row in rows:
        row["radiofm_speedup"] = f"{timings[row['method']]['median_s'] / base:.2f}x"
    print(f"{n} complex64 samples ({args.duration_s * 1e3:g} ms at {args.sample_rate_hz / 1e6:g} MS/s) -> "
          f"({FFT_SIZE}, {t}); median of {args.repeats}")  # fmt: skip
    print_table(rows)

    ratios = {
        "vs_shorttimefft": timings[cases[4][0]]["median_s"] / base,
        "vs_scipy_spectrogram": timings[cases[2][0]]["median_s"] / base,
        "vs_scipy_spectrogram_same_output": timings[cases[3][0]]["median_s"] / base,
        "single_thread_vs_scipy_spectrogram": timings[cases[2][0]]["median_s"] / timings[cases[1][0]]["median_s"],
    }
    targets = {"vs_shorttimefft": 10.0, "vs_scipy_spectrogram": 1.2}
    for key, target in targets.items():
        status = "ok" if ratios[key] >= target else "MISSED"
        print(f"{key}: {ratios[key]:.2f}x (target >= {target}x) {status}")
    path = write_results(
        "spectrogram",
        {
            "params": {
                "n_samples": n,
                "fft_size": FFT_SIZE,
                "win_length": WIN_LENGTH,
                "hop": HOP,
                "frames": t,
                "repeats": args.repeats,
                "torch_threads": threads,
            },  # fmt: skip
            "timings": timings,
            "max_dev_db": {row["method"]: row["max_dev_db"] for row in rows},
            "speedups": ratios,
            "targets": targets,
            "machine_at_end": {"load_avg_1m": machine_info().get("load_avg_1m")},
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
