"""radiofm.synth.nrlte.carrier.single_carrier: one configured carrier with CFO and a random start."""

import numpy as np
import pytest

from radiofm.errors import ConfigError
from radiofm.synth.nrlte.carrier import single_carrier
from radiofm.synth.nrlte.ofdm import FRAME_SAMPLES, SAMPLE_RATE_HZ


def test_configured_carrier_and_impairments():
    rng = np.random.default_rng(0)
    iq, meta = single_carrier("NR", rng, bandwidth_mhz=20, scs_hz=30e3, snr_db=30, centre_hz=6e6, time_shift=0)
    assert iq.shape == (FRAME_SAMPLES,) and iq.dtype == np.complex64
    assert meta["n_rb"] == 51 and meta["scs_hz"] == 30e3 and meta["load"] == 1.0 and meta["time_shift"] == 0
    assert abs(meta["centre_offset_hz"] - 6e6) <= 15e3
    spectrum = np.abs(np.fft.fftshift(np.fft.fft(iq))) ** 2
    freqs = np.fft.fftshift(np.fft.fftfreq(iq.size, 1 / SAMPLE_RATE_HZ))
    inside = (freqs > meta["lower_edge_hz"] + 1e5) & (freqs < meta["upper_edge_hz"] - 1e5)
    outside = np.abs(freqs - 6e6) > 12e6
    assert spectrum[inside].mean() > 100 * spectrum[outside].mean()  # 30 dB SNR: the carrier is where it says
    _, meta2 = single_carrier("LTE", np.random.default_rng(1), bandwidth_mhz=5, cfo_hz=300.0, time_shift=1000)
    assert meta2["n_rb"] == 25 and meta2["cfo_hz"] == 300.0 and meta2["reference_channel"] == "R.6"


def test_bad_configuration_raises():
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="NR or LTE|'NR' or 'LTE'"):
        single_carrier("GSM", rng)
    with pytest.raises(ConfigError, match="LTE bandwidth"):
        single_carrier("LTE", rng, bandwidth_mhz=7)
    with pytest.raises(ConfigError, match="bandwidth must be one of"):
        single_carrier("NR", rng, bandwidth_mhz=5, scs_hz=30e3)
