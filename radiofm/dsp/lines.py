"""Narrow steady spectral lines — a receiver's LO leakage (DC offset) and spurious CW tones — found and removed.

A real receiver adds lines no NR or LTE transmitter makes: an uncorrected DC offset (LO leakage) in the centre bin
and spurs (clock harmonics, a neighbouring oscillator) at fixed frequencies. In a 240 kHz spectrogram bin a line
30-40 dB over the noise looks like a narrow carrier, and at native resolution it masks LTE's empty DC subcarrier
and corrupts the correlations the physical-layer checks use. Neither an OFDM carrier nor noise has a line 1 kHz
wide: an OFDM subcarrier's energy is spread over the 15-30 kHz main lobe of its ~70 µs symbols, and its data
change every symbol.

- :func:`find_lines` looks for them in an averaged high-resolution periodogram (about 1 kHz bins, Hann window) of
  a contiguous stretch of samples: a bin that is the largest within ±``LOCAL_BINS``, stands ``LINE_DB`` over the
  median of the ±``BACKGROUND_BINS`` around it and ``NARROW_DB`` over the bins 4-8 away (a windowed tone falls by
  more than 30 dB there; a narrowband signal a few kHz wide does not), and holds at least ``MIN_SHARE_DB`` of the
  samples' power. Its frequency is refined from the phase that the bin's value advances between consecutive
  segments (a tone at ν cycles per sample advances 2πνN per N-sample segment), to a small fraction of a bin.
- :class:`LineRemover` subtracts them: every ``SUB_SAMPLES_S`` stretch (1 ms, aligned to absolute sample indices,
  so that any read of the recording is cleaned alike) is fitted by least squares with one complex amplitude per
  line, and the fit is subtracted. A steady tone is removed exactly; what else is removed is the signal's own
  component within about ±1 kHz of each line (a 2 kHz notch), which an NR or LTE carrier of 15-30 kHz
  subcarriers does not miss.

Pure numpy/scipy; no I/O.
"""

from __future__ import annotations

import numpy as np

LINE_RES_HZ = 1000.0  # periodogram resolution of the search (the next power-of-two FFT at or below this)
MIN_SEGMENTS = 8  # contiguous segments averaged (fewer: no search)
LINE_DB = 15.0  # a line's excess over the median of the spectrum around it
NARROW_DB = 10.0  # and over every bin 4-8 bins away from it
MIN_SHARE_DB = -60.0  # and carry at least this share of the samples' power (a weaker line is below the model's
# dynamic range, annotate.frontend.MAX_RANGE_DB; this also keeps float rounding in a noise-free waveform out)
LOCAL_BINS = 3  # a line is the largest bin within this distance
BACKGROUND_BINS = 64  # half-width of the background median
MAX_LINES = 16  # the strongest lines kept
SUB_SAMPLES_S = 1e-3  # duration of each least-squares stretch of the removal, seconds


def line_fft_size(sample_rate_hz: float) -> int:
    """Power-of-two FFT size of the search: bins of at most ``LINE_RES_HZ`` (at least 256 points)."""
    return max(256, 1 << int(np.ceil(np.log2(sample_rate_hz / LINE_RES_HZ))))


def find_lines(x: np.ndarray, sample_rate_hz: float, *, band_hz: float = 240e3) -> tuple[np.ndarray, np.ndarray]:
    """The narrow steady lines in ``x``: (frequencies in Hz relative to the centre, float64, strongest first; each
    line's power in dB over the rest of the power within ``band_hz`` around it — how far it stands out in a
    spectrogram bin that wide; 240 kHz: a row of the NR/LTE model's image).

    ``x``: complex samples, contiguous in time; at least ``MIN_SEGMENTS`` FFTs of :func:`line_fft_size` are needed
    (else none are reported). At most ``MAX_LINES``.
    """
    import scipy.fft
    from scipy.ndimage import maximum_filter1d, median_filter

    n = line_fft_size(sample_rate_hz)
    segs = len(x) // n
    if segs < MIN_SEGMENTS:
        return np.zeros(0), np.zeros(0)
    win = np.hanning(n + 1)[:n].astype(np.float32)  # periodic Hann
    spec = scipy.fft.fft(np.asarray(x[: segs * n], dtype=np.complex64).reshape(segs, n) * win, axis=1, workers=1)
    power = np.mean(spec.real**2 + spec.imag**2, axis=0, dtype=np.float64)
    db = 10 * np.log10(power + 1e-30)
    background = median_filter(db, size=2 * BACKGROUND_BINS + 1, mode="wrap")
    near = np.maximum(  # the largest bin 4-8 bins away on either side
        maximum_filter1d(np.roll(db, 6), 5, mode="wrap"), maximum_filter1d(np.roll(db, -6), 5, mode="wrap")
    )
    peak = db >= maximum_filter1d(db, 2 * LOCAL_BINS + 1, mode="wrap")
    share = db - 10 * np.log10(1.5 * power.sum() + 1e-30)  # a tone's periodogram bin / total ~ 2/3 its share
    cand = np.flatnonzero(peak & (db - background >= LINE_DB) & (db - near >= NARROW_DB) & (share >= MIN_SHARE_DB))
    cand = cand[np.argsort(background[cand] - db[cand], kind="stable")]  # strongest excess first
    half = max(LOCAL_BINS + 1, int(round(band_hz / 2 * n / sample_rate_hz)))  # bins each side within band_hz
    freqs: list[float] = []
    excess: list[float] = []
    for k in cand:
        turn = np.sum(spec[1:, k] * np.conj(spec[:-1, k]))  # e^{j 2π ν n} per segment of n samples
        nu = (k + np.angle(turn) / (2 * np.pi)) / n  # cycles per sample, in [-0.5, 1.5) before wrapping
        nu = (nu + 0.5) % 1.0 - 0.5
        if any(abs(((nu - f) + 0.5) % 1.0 - 0.5) * n <= LOCAL_BINS for f in freqs):  # one line between two bins
            continue
        freqs.append(nu)
        excess.append(_excess_db(power, k, half))
        if len(freqs) == MAX_LINES:
            break
    return np.asarray(freqs, dtype=np.float64) * sample_rate_hz, np.asarray(excess, dtype=np.float64)


def _excess_db(power: np.ndarray, k: int, half: int) -> float:
    """A line's power at bin k over the rest within ±half bins, dB. The Hann main lobe (±2 bins) holds the tone's
    energy; the rest of the band is its median bin times the band's width (Parseval: a band's power is the sum of
    its periodogram bins, for a tone and for noise alike)."""
    idx = np.arange(k - half, k + half + 1) % power.size
    lobe = np.arange(k - 2, k + 3) % power.size
    rest = np.median(np.delete(power[idx], np.arange(half - LOCAL_BINS, half + LOCAL_BINS + 1)))
    line = max(power[lobe].sum() - 5 * rest, 1e-30)
    return float(10 * np.log10(line / max(rest * idx.size, 1e-30)))


class LineRemover:
    """Subtracts steady lines at ``freqs_hz`` from any stretch of a recording sampled at ``sample_rate_hz``."""

    def __init__(self, freqs_hz, sample_rate_hz: float):
        self.freqs_hz = np.asarray(freqs_hz, dtype=np.float64).reshape(-1)
        self.sub = max(16, int(round(SUB_SAMPLES_S * sample_rate_hz)))
        nu = self.freqs_hz / sample_rate_hz  # cycles per sample
        m = np.arange(self.sub, dtype=np.float64)
        self.tones = np.exp(2j * np.pi * nu[:, None] * m[None, :]).astype(np.complex64)  # (L, sub)
        self._pinv_full = _pinv(self.tones)

    def __bool__(self) -> bool:
        return self.freqs_hz.size > 0

    def apply(self, x: np.ndarray, start: int) -> np.ndarray:
        """``x``: complex64 samples [start, start + len(x)) of the recording -> the same with the lines removed, in
        place (``x`` must be writable). Each stretch [k·sub, (k+1)·sub) is fitted on the part of it in ``x``."""
        if not self or len(x) == 0:
            return x
        sub, tones = self.sub, self.tones
        tmp = np.empty(sub, dtype=np.complex64)
        k0 = start // sub * sub
        for a in range(k0, start + len(x), sub):
            lo, hi = max(a, start), min(a + sub, start + len(x))
            seg = x[lo - start : hi - start]
            t = tones[:, lo - a : hi - a]
            pinv = self._pinv_full if hi - lo == sub else _pinv(t)
            # least squares (T^* T^T)^-1 T^* seg, line by line: numpy's products of a few rows by 61440 columns
            # took 10-100x longer at times while the cores were busy (numpy's multi-threaded BLAS)
            coef = pinv @ np.array([np.vdot(row, seg) for row in t])
            out = tmp[: hi - lo]
            for c, row in zip(coef, t):
                np.multiply(row, c, out=out)
                np.subtract(seg, out, out=seg)
        return x


def _pinv(tones: np.ndarray) -> np.ndarray:
    """(T^* T^T)^-1 of tones (L, m): maps the tones' correlations with a stretch to their least-squares amplitudes."""
    gram = (tones.conj() @ tones.T).astype(np.complex128)
    return np.linalg.pinv(gram).astype(np.complex64)
