"""dsp.iq_image: a mixer's I/Q imbalance measured blind from the samples and undone (the mirror images removed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiofm.dsp.iq_image import CHUNK, image_coefficient, remove_image_
from radiofm.synth.impairments import apply_iq_imbalance_, image_rejection_db


def capture(n: int = 1 << 20, seed: int = 0) -> np.ndarray:
    """Noise, a band-limited carrier at +5..+10 % of fs 20 dB over it and a DC offset: nothing at the mirror."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(2 * n, dtype=np.float32) * np.float32(math.sqrt(0.5))).view(np.complex64)
    f = np.fft.fftfreq(n)
    spec = np.fft.fft(rng.standard_normal(n) + 1j * rng.standard_normal(n)) * ((f > 0.05) & (f < 0.10)) * 20
    return (x + np.fft.ifft(spec) + (0.5 - 0.2j)).astype(np.complex64)


def mirror_db(x: np.ndarray) -> float:
    """Power in the carrier's mirror band (-10..-5 %) over the noise-only band (-40..-35 %), dB."""
    p = np.abs(np.fft.fft(x - x.mean())) ** 2
    f = np.fft.fftfreq(len(x))
    return float(10 * np.log10(p[(f < -0.05) & (f > -0.10)].mean() / p[(f < -0.35) & (f > -0.40)].mean()))


@pytest.mark.parametrize(("gain_db", "phase_deg"), [(0.5, 3.0), (1.5, 6.0), (-1.0, -4.0)])
def test_imbalance_measured_and_the_image_removed(gain_db, phase_deg):
    x = capture()
    y = apply_iq_imbalance_(x.copy(), gain_db=gain_db, phase_deg=phase_deg)
    assert mirror_db(y) > 3.0  # the carrier's image stands over the noise (the carrier is ~32 dB over it per bin)
    w, irr = image_coefficient(y)
    assert irr == pytest.approx(image_rejection_db(gain_db, phase_deg), abs=0.3)
    z = remove_image_(y.copy(), w)
    assert abs(mirror_db(z)) < 0.2  # only noise left there
    k = np.vdot(x, z) / np.vdot(x, x)  # z = k·x: the recording as a balanced mixer would give it, up to a gain
    assert np.mean(np.abs(z - k * x) ** 2) < 1e-5 * np.mean(np.abs(z) ** 2)


def test_a_balanced_receiver_measures_as_balanced():
    w, irr = image_coefficient(capture(seed=1))
    assert irr > 50.0 and abs(w) < 3e-3
    assert image_coefficient(np.zeros(100, np.complex64)) == (0j, math.inf)


def test_correction_in_chunks_equals_the_formula():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(2 * (2 * CHUNK + 123), dtype=np.float32).view(np.complex64)
    w = 0.05 - 0.02j
    expected = x - np.complex64(w) * np.conj(x)
    np.testing.assert_allclose(remove_image_(x.copy(), w), expected, rtol=0, atol=1e-6)  # float rounding apart
    a, b = CHUNK - 7, 2 * CHUNK + 50  # any span is corrected as it is within the whole
    np.testing.assert_array_equal(remove_image_(x[a:b].copy(), w), remove_image_(x.copy(), w)[a:b])
