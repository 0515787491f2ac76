"""Small receivers used to check the generator: PSS correlators and an averaged power spectrum.

They are deliberately simple (no timing/frequency recovery): correlate the capture, shifted to the signal's
centre, against the time-domain PSS symbol (no cyclic prefix); the magnitude peaks where a PSS symbol's
useful part starts.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from radiofm.synth.nrlte_alt.channel import mix
from radiofm.synth.nrlte_alt.sequences import lte_pss, nr_pss


def _replica(bins: np.ndarray, values: np.ndarray, n_fft: int) -> np.ndarray:
    spec = np.zeros(n_fft, np.complex64)
    spec[bins % n_fft] = values
    x = np.fft.ifft(spec) * n_fft
    return (x / np.linalg.norm(x)).astype(np.complex64)


def _correlate(iq: np.ndarray, replica: np.ndarray, centre_hz: float, fs: float) -> np.ndarray:
    bb = mix(iq.astype(np.complex64), -centre_hz, fs)
    c = scipy.signal.fftconvolve(bb, np.conj(replica[::-1]), mode="valid")
    return np.abs(c) ** 2  # index i: the replica aligned with bb[i : i + n_fft]


def lte_pss_correlation(iq: np.ndarray, sample_rate_hz: float, centre_hz: float, nid2: int) -> np.ndarray:
    """(N − N_FFT + 1,) |correlation|² with the LTE PSS of ``nid2`` for a carrier whose DC is at ``centre_hz``."""
    n_fft = int(round(sample_rate_hz / 15e3))
    n = np.arange(62)
    bins = np.where(n < 31, n - 31, n - 30)  # subcarriers −31..−1 and +1..+31 around the unused DC
    return _correlate(iq, _replica(bins, lte_pss(nid2), n_fft), centre_hz, sample_rate_hz)


def nr_pss_correlation(
    iq: np.ndarray, sample_rate_hz: float, pss_centre_hz: float, scs_hz: float, nid2: int
) -> np.ndarray:
    """Like :func:`lte_pss_correlation` for the NR PSS whose middle subcarrier (SSB subcarrier 119) is at
    ``pss_centre_hz``."""
    n_fft = int(round(sample_rate_hz / scs_hz))
    return _correlate(iq, _replica(np.arange(127) - 63, nr_pss(nid2), n_fft), pss_centre_hz, sample_rate_hz)


def nr_pss_centre_hz(carrier: dict) -> float:
    """Frequency of an NR carrier's PSS centre from its metadata (``center_hz``, ``n_rb``, SSB subcarrier, and the
    half subcarrier of an odd k_SSB at 30 kHz)."""
    k = carrier["ssb_first_subcarrier"] + 119 - 6 * carrier["n_rb"] + 0.5 * bool(carrier.get("ssb_half_subcarrier"))
    return carrier["center_hz"] + k * carrier["scs_hz"]


def psd_db(iq: np.ndarray, sample_rate_hz: float, resolution_hz: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies Hz, PSD dB re 1/Hz) by Welch averaging (Hann, 50 % overlap), DC-centred."""
    nper = int(2 ** np.ceil(np.log2(sample_rate_hz / resolution_hz)))
    f, p = scipy.signal.welch(iq, sample_rate_hz, nperseg=nper, return_onesided=False, detrend=False)
    order = np.argsort(f)
    return f[order], 10 * np.log10(p[order] + 1e-30)
