"""Impairments do what they say: image, DC spike, frequency shift, clipping, gain steps, bursty timing."""

import numpy as np
import pytest

from radiofm.synth import impairments as imp

FS = 1e6


def tone(freq_hz: float, n: int = 8192) -> np.ndarray:
    return np.exp(2j * np.pi * freq_hz / FS * np.arange(n)).astype(np.complex64)


def bin_power(x: np.ndarray, freq_hz: float) -> float:
    spec = np.abs(np.fft.fft(x)) ** 2
    return float(spec[int(round(freq_hz / FS * x.size)) % x.size])


def test_iq_imbalance_creates_the_predicted_image():
    x = tone(125e3)
    y = imp.iq_imbalance(x, gain_db=0.5, phase_deg=3.0)
    measured = 10 * np.log10(bin_power(y, 125e3) / bin_power(y, -125e3))
    assert measured == pytest.approx(imp.image_rejection_db(0.5, 3.0), abs=0.1)
    assert 20 < measured < 40
    alpha, beta = imp._imbalance_coeffs(0.5, 3.0)
    assert np.allclose(y, alpha * x + beta * np.conj(x), atol=1e-5)  # the in-place form is the same model
    assert np.allclose(imp.iq_imbalance(x, gain_db=0.0, phase_deg=0.0), x)


def test_dc_offset_is_a_spike_at_dc():
    rng = np.random.default_rng(0)
    x = imp.thermal_noise(8192, power=1.0, rng=rng)
    spec_before = np.abs(np.fft.fft(x)) ** 2
    imp.add_dc_offset_(x, 0.1 + 0.05j)
    spec = np.abs(np.fft.fft(x)) ** 2
    assert np.argmax(spec) == 0 and spec[0] > 50 * np.median(spec_before)


def test_cfo_shifts_the_peak():
    y = imp.apply_cfo(tone(100e3), FS, 37e3)
    peak = np.fft.fftfreq(y.size, 1 / FS)[np.argmax(np.abs(np.fft.fft(y)))]
    assert peak == pytest.approx(137e3, abs=FS / y.size)
    assert imp.ppm_to_hz(10, 2.45e9) == pytest.approx(24.5e3)


def test_phase_noise_keeps_magnitude_and_spreads_the_tone():
    rng = np.random.default_rng(1)
    x = tone(100e3, 1 << 16)
    y = imp.apply_phase_noise_(x.copy(), FS, linewidth_hz=500.0, rng=rng)
    assert np.allclose(np.abs(y), 1.0, atol=1e-5)
    assert bin_power(y, 100e3) < 0.9 * bin_power(x, 100e3)


def test_thermal_noise_power_and_determinism():
    a = imp.thermal_noise(100_000, power=2.0, rng=np.random.default_rng(5))
    b = imp.thermal_noise(100_000, power=2.0, rng=np.random.default_rng(5))
    assert a.dtype == np.complex64 and np.array_equal(a, b)
    assert np.mean(np.abs(a) ** 2) == pytest.approx(2.0, rel=0.02)


def test_clip_and_agc_steps():
    x = (3 * tone(10e3, 1000)).astype(np.complex64)
    n = imp.clip_(x, 1.0)
    assert n > 0 and np.abs(x.real).max() <= 1.0 and np.abs(x.imag).max() <= 1.0
    y = np.ones(100, np.complex64)
    imp.apply_agc_steps_(y, [(60, -6.0), (20, 6.0)])
    assert y[0] == 1 and y[30] == pytest.approx(10**0.3, rel=1e-4) and y[80] == pytest.approx(10**-0.3, rel=1e-4)


def test_burst_times_are_ordered_disjoint_and_about_as_busy_as_asked():
    rng = np.random.default_rng(2)
    bursts = imp.burst_times(rng, t_end_s=20.0, busy_fraction=0.3, duration_s_range=(1e-4, 2e-3), min_gap_s=1e-5)
    starts = np.array([t for t, _ in bursts])
    ends = np.array([t + d for t, d in bursts])
    assert np.all(np.diff(starts) > 0) and np.all(starts[1:] >= ends[:-1])
    assert all(1e-4 <= d <= 2e-3 for _, d in bursts)
    busy = sum(d for _, d in bursts) / 20.0
    assert 0.25 < busy < 0.35
