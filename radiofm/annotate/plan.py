"""How a recording maps onto the segmentation model's grid: sample rate, resampling, frequency windows, columns.

See :mod:`radiofm.annotate` for the analysis as a whole. The grid is the model's front end
(:mod:`radiofm.dsp.frontend`): 256 rows of 240 kHz, columns of 0.15625 ms (40 STFT frames of 3.906 us).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from radiofm.dsp.frontend import SAMPLE_RATE_HZ, stft_params
from radiofm.errors import RecordingError

MODEL_RATE_HZ = float(SAMPLE_RATE_HZ)  # 61.44 MS/s
IMAGE = 256  # rows (FFT bins) and columns of one model image
ROW_HZ = MODEL_RATE_HZ / IMAGE  # 240 kHz
POOL = stft_params(IMAGE, IMAGE)["pool"]  # 40 STFT frames averaged per column
RATE_STEP_HZ = 3.84e6  # analysis rates are multiples of it: 16 bins of 240 kHz, a 15-sample window of 3.906 us
MIN_RATE_HZ = 1.92e6
MAX_RATE_HZ = 8 * MODEL_RATE_HZ
MIN_COLUMNS = 64  # 10 ms: shorter recordings are refused
EDGE_MARGIN = 0.06  # fraction of each resampled band edge left out (filter roll-off)


@dataclass(frozen=True)
class Plan:
    """How a recording maps onto the model's grid (see the module docstring).

    The analysis spectrogram has ``n_bins`` rows of 240 kHz (row ``a`` centred on ``(a - n_bins/2) * row_hz``
    from the recording's centre) and columns of 0.15625 ms. Model images are 256-row slices of it starting at
    the rows in ``windows`` (negative: the image reaches beyond the band and is padded with noise).
    """

    sample_rate_hz: float
    n_samples: int
    up: int  # resampling ratio: analysis rate = fs * up / down, a multiple of 3.84 MHz
    down: int
    n_bins: int
    n_columns: int
    windows: tuple[int, ...]
    grid: tuple[int, int]  # analysis rows [lo, hi) inside the recorded band: analysed and annotated

    @property
    def analysis_rate_hz(self) -> float:
        return self.sample_rate_hz * self.up / self.down

    @property
    def row_hz(self) -> float:
        return self.analysis_rate_hz / self.n_bins

    @property
    def win_length(self) -> int:
        return self.n_bins * 15 // 16

    @property
    def analysis_per_column(self) -> int:
        return self.win_length * POOL

    @property
    def samples_per_column(self) -> float:
        return self.analysis_per_column * self.down / self.up

    @property
    def resampled(self) -> bool:
        return self.up != self.down

    @property
    def n_rows(self) -> int:
        return self.grid[1] - self.grid[0]

    def row_freq_hz(self, a) -> np.ndarray:
        """Centre frequency (Hz from the recording centre) of analysis row(s) ``a``."""
        return (np.asarray(a) - self.n_bins / 2) * self.row_hz

    def band_hz(self, row_lo: int, row_hi: int) -> tuple[float, float]:
        """(lower, upper) edge in Hz from the recording centre of a box's rows ``row_lo``..``row_hi`` (inclusive,
        counted from ``grid[0]``), clipped to the recording's band."""
        lo = float(self.row_freq_hz(self.grid[0] + row_lo - 0.5))
        hi = float(self.row_freq_hz(self.grid[0] + row_hi + 0.5))
        return max(lo, -self.sample_rate_hz / 2), min(hi, self.sample_rate_hz / 2)


def plan_analysis(sample_rate_hz: float, n_samples: int, *, name: str = "recording") -> Plan:
    """Check the rate and duration and lay out the analysis; RecordingError naming what is supported otherwise."""
    fs = float(sample_rate_hz)
    supported = f"annotate supports {MIN_RATE_HZ / 1e6:g}-{MAX_RATE_HZ / 1e6:g} MS/s"
    if fs < MIN_RATE_HZ:
        raise RecordingError(
            f"{name}: sample rate {fs:g} Hz is below the {MIN_RATE_HZ / 1e6:g} MHz minimum (LTE 1.4 MHz needs "
            f"1.92 MS/s); {supported}"
        )
    if fs > MAX_RATE_HZ:
        raise RecordingError(
            f"{name}: sample rate {fs:g} Hz is above the {MAX_RATE_HZ / 1e6:g} MHz maximum; {supported} "
            "(decimate the recording first)"
        )
    mult = fs / RATE_STEP_HZ
    if abs(mult - round(mult)) < 1e-9 * mult:  # a multiple of 3.84 MHz (all LTE/NR rates): analysed directly
        k, up, down = int(round(mult)), 1, 1
    else:  # resampled up to the next multiple
        k = math.ceil(mult)
        ratio = (Fraction(int(k * RATE_STEP_HZ)) / Fraction(fs).limit_denominator(10**6)).limit_denominator(1000)
        up, down = ratio.numerator, ratio.denominator
    n_bins = 16 * k
    n_columns = int(n_samples * up // (down * 15 * k * POOL))
    if n_columns < MIN_COLUMNS:
        raise RecordingError(
            f"{name} is {n_samples / fs * 1e3:.3g} ms long ({n_samples} samples); annotate needs at least "
            f"{MIN_COLUMNS * 40e-3 / IMAGE * 1e3:g} ms ({math.ceil(MIN_COLUMNS * 15 * k * POOL * down / up)} samples "
            f"at {fs:g} Hz)"
        )
    grid = (0, n_bins)
    if up != down:  # drop the rows beyond the recorded band (and the resampling filter's roll-off)
        row_hz = fs * up / down / n_bins
        edge = int(np.floor(fs / 2 * (1 - EDGE_MARGIN) / row_hz - 0.5))
        grid = (n_bins // 2 - edge, n_bins // 2 + edge + 1)
    if n_bins <= IMAGE:
        windows = ((n_bins - IMAGE) // 2,)
    else:  # 256-row windows every 128 rows (or a little less), the outer ones flush with the band edges
        n_win = math.ceil((n_bins - IMAGE) / (IMAGE // 2)) + 1
        windows = tuple(int(round(w)) for w in np.linspace(0, n_bins - IMAGE, n_win))
    return Plan(fs, n_samples, up, down, n_bins, n_columns, windows, grid)
