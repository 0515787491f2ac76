"""Shared fixtures: tiny, seeded signals and recordings (each builds in milliseconds)."""

from __future__ import annotations

import numpy as np
import pytest

TINY_RATE_HZ = 1_000_000.0
TINY_CENTER_HZ = 2_450_000_000.0


def make_tone(n: int = 4096, *, freq_hz: float = 125_000.0, sample_rate_hz: float = TINY_RATE_HZ, snr_db: float = 20.0,
              seed: int = 0) -> np.ndarray:
    """(n,) complex64: a tone at ``freq_hz`` of amplitude 0.5 plus complex white noise at ``snr_db``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sample_rate_hz
    tone = 0.5 * np.exp(2j * np.pi * freq_hz * t)
    sigma = 0.5 * 10 ** (-snr_db / 20) / np.sqrt(2)
    noise = sigma * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    return (tone + noise).astype(np.complex64)


@pytest.fixture
def tiny_iq() -> np.ndarray:
    """4096 complex64 samples: a 125 kHz tone + noise at 1 MS/s, |x| well inside [-1, 1)."""
    return make_tone()


@pytest.fixture
def tmp_sigmf(tmp_path, tiny_iq):
    """One small cf32_le SigMF recording (1 MS/s, centre 2.45 GHz, two annotations); returns the .sigmf-meta path."""
    from radiofm.data import Annotation, write_sigmf

    anns = [
        Annotation(0, 1024, TINY_CENTER_HZ + 100e3, TINY_CENTER_HZ + 150e3, "tone"),
        Annotation(2048, 1024, TINY_CENTER_HZ - 200e3, TINY_CENTER_HZ + 200e3, "burst", {"radiofm:confidence": 0.9}),
    ]
    return write_sigmf(tmp_path / "tiny", tiny_iq, sample_rate_hz=TINY_RATE_HZ, center_freq_hz=TINY_CENTER_HZ,
                       annotations=anns, description="tiny test recording")
