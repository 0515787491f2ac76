"""Fading channel: profiles, unit average power gain, Doppler spreading, determinism."""

import numpy as np
import pytest

from radiofm.errors import ConfigError
from radiofm.synth.channels import PROFILES, fading, frequency_response, profile_taps

FS = 1.0e6


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_powers_sum_to_one(profile):
    delays, powers = profile_taps(profile, delay_spread_s=300e-9)
    assert delays.shape == powers.shape and np.isclose(powers.sum(), 1.0) and delays.min() == 0.0


def test_known_profile_values():
    delays, _ = profile_taps("ETU")
    assert np.isclose(delays.max(), 5e-6) and len(delays) == 9
    assert len(profile_taps("EPA")[0]) == 7 and len(profile_taps("EVA")[0]) == 9
    delays, _ = profile_taps("TDL-A", delay_spread_s=100e-9)
    assert len(delays) == 23 and np.isclose(delays.max(), 965.86e-9)
    assert len(profile_taps("TDL-C")[0]) == 24


@pytest.mark.parametrize("profile", ["EPA", "ETU", "TDL-B", "flat"])
def test_unit_average_power_gain(profile):
    x = np.exp(2j * np.pi * 0.01 * np.arange(4000)).astype(np.complex64)
    gains = [
        np.mean(np.abs(fading(x, FS, profile=profile, doppler_hz=50.0, rng=np.random.default_rng(s))) ** 2)
        for s in range(300)
    ]
    assert abs(np.mean(gains) - 1.0) < 0.15


def test_frequency_response_unit_power():
    rng = np.random.default_rng(0)
    h = np.stack(
        [
            frequency_response("EVA", np.arange(4) * 1e-3, np.linspace(-5e6, 5e6, 64), doppler_hz=70.0, rng=rng)
            for _ in range(200)
        ]
    )
    assert h.shape == (200, 4, 64) and h.dtype == np.complex64
    assert abs(np.mean(np.abs(h) ** 2) - 1.0) < 0.1


def test_doppler_spreads_a_tone():
    n = 1 << 16
    x = np.ones(n, dtype=np.complex64)
    spec = np.fft.fftshift(
        np.abs(np.fft.fft(fading(x, FS, profile="flat", doppler_hz=200.0, rng=np.random.default_rng(1)))) ** 2
    )
    f = np.fft.fftshift(np.fft.fftfreq(n, 1 / FS))
    inside = spec[np.abs(f) <= 220.0].sum() / spec.sum()
    assert inside > 0.95  # energy stays within the Doppler band ...
    assert spec[np.abs(f) > 30.0].sum() / spec.sum() > 0.3  # ... but is spread, not a single line
    static = np.abs(fading(x, FS, profile="flat", doppler_hz=0.0, rng=np.random.default_rng(1)))
    assert np.allclose(static, static[0], rtol=1e-4)  # no Doppler: constant gain


def test_deterministic_and_awgn_only_is_identity():
    x = (np.random.default_rng(0).standard_normal(1000) + 0j).astype(np.complex64)
    a = fading(x, FS, profile="TDL-C", doppler_hz=10.0, rng=np.random.default_rng(5))
    b = fading(x, FS, profile="TDL-C", doppler_hz=10.0, rng=np.random.default_rng(5))
    assert a.dtype == np.complex64 and a.shape == x.shape and np.array_equal(a, b)
    assert np.array_equal(fading(x, FS, profile="awgn-only", doppler_hz=0.0, rng=np.random.default_rng(0)), x)


def test_bad_arguments():
    x = np.zeros(10, dtype=np.complex64)
    with pytest.raises(ConfigError):
        fading(x, FS, profile="nope", doppler_hz=0.0, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError):
        fading(x, FS, profile="EPA", doppler_hz=-1.0, rng=np.random.default_rng(0))
