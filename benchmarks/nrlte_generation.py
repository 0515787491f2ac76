"""Benchmark the NR/LTE segmentation generator against a plain numpy OFDM-plus-spectrogram sketch.

Both run in this process on one core (``torch.set_num_threads(1)``, one worker) and produce the same kind of
output: a 40 ms capture at 61.44 MS/s and its 256x256 log spectrogram (same STFT: Hann 240, hop 240,
FFT 256, 40 frames averaged per column).

- ``sketch``: one NR carrier (30 kHz, 20 MHz = 51 RB, FFT 2048) and one LTE carrier (15 kHz, 10 MHz = 50 RB,
  FFT 4096) of random QPSK on every resource element, plain ``np.fft.ifft`` per carrier, a uniform cyclic
  prefix by concatenation, complex Gaussian noise, spectrogram. No SSB, reference signals, fading, placement
  logic or labels.
- ``radiofm``: ``radiofm.data.nrlte.render_frame`` — the dataset's per-frame work: random scene (1-2
  carriers, any bandwidth), SSB/PSS/SSS/PBCH, DMRS/CRS, PDSCH load, per-carrier fading with Doppler, noise,
  spectrogram and label image. Each call draws a new frame (frame content, hence cost, varies).

Calls are interleaved round-robin (``_common.time_many``). Target: radiofm frames/s >= sketch frames/s.

    .venv/bin/python benchmarks/nrlte_generation.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch
from _common import print_table, time_many, write_results

from radiofm.data.nrlte import render_frame
from radiofm.dsp import spectrogram

FS, N = 61.44e6, 2_457_600


def _sketch_carrier(rng: np.random.Generator, scs: float, n_sc: int, offset_hz: float) -> np.ndarray:
    nfft = int(FS / scs)
    cp = nfft * 9 // 128  # ~7 % normal CP
    n_sym = int(np.ceil(N / (nfft + cp)))
    grid = np.zeros((n_sym, nfft), dtype=complex)
    k0 = int(round(offset_hz / scs)) - n_sc // 2
    qpsk = (rng.choice([-1, 1], size=(n_sym, n_sc)) + 1j * rng.choice([-1, 1], size=(n_sym, n_sc))) / np.sqrt(2)
    grid[:, (k0 + np.arange(n_sc)) % nfft] = qpsk
    x = np.fft.ifft(grid, axis=1)
    x = np.concatenate([x[:, -cp:], x], axis=1).ravel()
    return x[:N]


def sketch_frame(rng: np.random.Generator) -> np.ndarray:
    """The plain sketch: NR + LTE random-QPSK OFDM, noise, 256x256 spectrogram."""
    iq = _sketch_carrier(rng, 30e3, 612, -12e6) + _sketch_carrier(rng, 15e3, 600, 15e6)
    iq = iq + 0.01 * (rng.standard_normal(N) + 1j * rng.standard_normal(N))
    power = spectrogram(iq, fft_size=256, win_length=240, hop=240, log=False)
    return 10 * np.log10(power.reshape(256, 256, 40).mean(axis=2) + 1e-12)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    frames = itertools.count()
    timings = time_many(
        {
            "sketch (numpy OFDM + spectrogram)": lambda: sketch_frame(rng),
            "radiofm nrlte render_frame": lambda: render_frame(args.seed, next(frames), split="train"),
        },
        repeats=args.repeats,
        warmup=2,
    )
    rows = [
        {"case": name, "mean_s": t["mean_s"], "median_s": t["median_s"], "frames_per_s": 1.0 / t["mean_s"]}
        for name, t in timings.items()
    ]
    sketch_fps, ours_fps = rows[0]["frames_per_s"], rows[1]["frames_per_s"]
    print_table(rows)
    print(f"radiofm / sketch throughput: {ours_fps / sketch_fps:.2f}x (single core, one worker)")
    path = write_results(
        "nrlte_generation",
        {
            "repeats": args.repeats,
            "rows": rows,
            "sketch_frames_per_s": sketch_fps,
            "radiofm_frames_per_s": ours_fps,
            "ratio": ours_fps / sketch_fps,
            "target": "radiofm frames/s >= sketch frames/s",
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
