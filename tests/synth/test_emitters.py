"""Emitter waveforms: power, occupied bandwidth, structure; to_band resampling and shifting."""

import numpy as np
import pytest

from radiofm.synth import emitters


def occupied_bandwidth(x: np.ndarray, sample_rate_hz: float, fraction: float = 0.99) -> float:
    """Width of the smallest centred-by-tails band holding ``fraction`` of the power (Welch PSD)."""
    n = 1024
    frames = x[: (x.size // n) * n].reshape(-1, n) * np.hanning(n)
    psd = np.fft.fftshift((np.abs(np.fft.fft(frames, axis=1)) ** 2).mean(axis=0))
    cdf = np.cumsum(psd) / psd.sum()
    tail = (1 - fraction) / 2
    lo, hi = np.searchsorted(cdf, tail), np.searchsorted(cdf, 1 - tail)
    return (hi - lo + 1) * sample_rate_hz / n


def psd_centroid(x: np.ndarray, sample_rate_hz: float) -> float:
    spec = np.abs(np.fft.fft(x)) ** 2
    f = np.fft.fftfreq(x.size, 1 / sample_rate_hz)
    return float((spec * f).sum() / spec.sum())


@pytest.mark.parametrize(
    "make, lo_hz, hi_hz",
    [
        (lambda r: emitters.wifi_ofdm(r, 1e-3, bandwidth_hz=20e6), 16.4e6, 18.0e6),
        (lambda r: emitters.wifi_ofdm(r, 1e-3, bandwidth_hz=40e6), 35.0e6, 38.0e6),
        (lambda r: emitters.wifi_dsss(r, 1e-3), 12e6, 22e6),
        (lambda r: emitters.bluetooth(r, 2e-3), 0.7e6, 1.3e6),
        (lambda r: emitters.ble(r, 2e-3), 1.0e6, 2.0e6),
        (lambda r: emitters.zigbee(r, 2e-3), 2.0e6, 3.0e6),
        (lambda r: emitters.ofdm_carrier(r, 1e-3, scs_hz=15e3, n_rb=100, fft_size=1536), 17.8e6, 18.6e6),
        (lambda r: emitters.microwave(r, 8e-3, sweep_hz=20e6), 15e6, 21e6),
    ],
    ids=["wifi20", "wifi40", "dsss", "bluetooth", "ble", "zigbee", "lte20", "microwave"],
)
def test_unit_power_and_occupied_bandwidth(make, lo_hz, hi_hz):
    wf = make(np.random.default_rng(0))
    assert wf.iq.dtype == np.complex64 and np.isfinite(wf.iq).all()
    assert np.mean(np.abs(wf.iq) ** 2) == pytest.approx(1.0, rel=0.05)
    obw = occupied_bandwidth(wf.iq, wf.sample_rate_hz)
    assert lo_hz <= obw <= hi_hz, obw
    # the annotated bandwidth holds (nearly) all of the power
    assert wf.bandwidth_hz >= 0.9 * obw


def test_wifi_durations_and_stf_periodicity():
    rng = np.random.default_rng(1)
    wf = emitters.wifi_ofdm(rng, 100e-6)
    assert wf.iq.size == 20e6 * 100e-6  # 20 µs preamble + 20 symbols of 4 µs
    stf = wf.iq[8:152]  # inside the 8 µs short training field, away from the ramp
    corr = np.abs(np.vdot(stf[:-16], stf[16:])) / np.vdot(stf, stf).real
    assert corr > 0.85  # 0.8 µs periodicity


def test_gfsk_constant_envelope_and_deviation():
    bits = np.tile([1, 1, 1, 1, 0, 0, 0, 0], 50)
    x = emitters.gfsk(bits, bt=0.5, h=0.5)
    assert np.allclose(np.abs(x), 1.0, atol=1e-5)
    inst = np.angle(x[1:] * np.conj(x[:-1])) * 8e6 / (2 * np.pi)  # Hz at 8 MHz
    assert np.max(inst) == pytest.approx(250e3, rel=0.03)  # h/2 * 1 Msym/s on long runs


def test_uplink_allocation_sits_at_its_offset():
    rng = np.random.default_rng(2)
    wf = emitters.ofdm_carrier(rng, 1e-3, scs_hz=30e3, n_rb=51, fft_size=768, rb_start=40, rb_count=6, dc_null=False)
    assert wf.bandwidth_hz == pytest.approx(6 * 12 * 30e3)
    assert psd_centroid(wf.iq, wf.sample_rate_hz) == pytest.approx(wf.center_offset_hz, abs=60e3)


def test_to_band_shifts_resamples_and_keeps_power():
    rng = np.random.default_rng(3)
    wf = emitters.zigbee(rng, 1e-3)
    y = emitters.to_band(wf.iq, wf.sample_rate_hz, 61.44e6, 12.345e6)
    assert y.size == round(wf.iq.size * 61.44e6 / wf.sample_rate_hz) and y.dtype == np.complex64
    assert np.mean(np.abs(y) ** 2) == pytest.approx(1.0, rel=0.02)
    assert psd_centroid(y, 61.44e6) == pytest.approx(12.345e6, abs=30e3)


def test_to_band_drops_what_falls_outside_the_span():
    x = np.exp(2j * np.pi * 3e6 / 20e6 * np.arange(20_000)).astype(np.complex64)  # +3 MHz tone at 20 MHz
    inside = emitters.to_band(x, 20e6, 10e6, 1e6)  # lands at +4 MHz: kept
    outside = emitters.to_band(x, 20e6, 10e6, 3e6)  # would land at +6 MHz > 5 MHz: dropped, not aliased
    assert np.mean(np.abs(inside) ** 2) == pytest.approx(1.0, rel=0.01)
    assert np.mean(np.abs(outside) ** 2) < 1e-3


def test_tone_matches_exponential():
    n, f = 5000, 0.1234567
    ref = np.exp(2j * np.pi * f * np.arange(n))
    assert np.max(np.abs(emitters.tone(n, f) - ref)) < 1e-4
