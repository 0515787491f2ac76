"""The fine zoom of the signal-identification front end: where it looks, what it resolves, what it refuses. (The one-
and two-scale images are tested in test_signals_data.py.)"""

import dataclasses

import numpy as np
import pytest

from radiofm.data import write_sigmf
from radiofm.data.signals_frontend import SignalSpectrogramParams, fine_band, pad_band, signal_spectrogram
from radiofm.errors import ConfigError, DatasetError

FS = 2.048e6


def _fsk(n: int, centre_hz: float, shift_hz: float, baud: float, seed: int = 0) -> np.ndarray:
    """Continuous-phase 2-FSK at ``centre_hz`` (tones centre ± shift/2), alternating bits, plus a little noise."""
    rng = np.random.default_rng(seed)
    bits = (np.arange(n) * baud / FS).astype(int) % 2
    freq = centre_hz + shift_hz * (bits - 0.5)
    x = 0.5 * np.exp(2j * np.pi * np.cumsum(freq) / FS)
    return (x + rng.normal(0, 0.005, (n, 2)) @ [1, 1j]).astype(np.complex64)


def _peaks(rows: np.ndarray) -> list[int]:
    """Rows that are local maxima within 6 dB of the largest."""
    top = rows.max() - 6
    return [i for i in range(1, len(rows) - 1) if rows[i] > top and rows[i] >= rows[i - 1] and rows[i] > rows[i + 1]]


def test_fine_band_looks_near_the_coarse_peak_and_stays_inside_the_band():
    rng = np.random.default_rng(0)
    fine = 1.0 + 0.05 * rng.random(16384)
    fine[8192 + 1600 : 8192 + 1603] += 50.0  # the emission: coarse bin 512 + 100 (2 kHz bins), fine 8192 + 1600
    fine[100:103] += 500.0  # a stronger one far away is not the zoom's business
    assert fine_band(fine, 16, coarse_peak=612, coarse_bins=1024) == 8192 + 1601 - 8
    fine[16380:16383] += 500.0
    assert fine_band(fine, 16, coarse_peak=1023, coarse_bins=1024) == 16384 - 16  # at the band edge: inside
    with pytest.raises(ConfigError, match="fine zoom of 20000 rows"):
        fine_band(fine, 20000, coarse_peak=612, coarse_bins=1024)


def test_the_fine_zoom_resolves_two_fsk_tones_the_coarse_zoom_merges(tmp_path):
    n = 16384 * 24
    write_sigmf(tmp_path / "fsk", _fsk(n, 300e3, 850.0, 25.0), sample_rate_hz=FS)  # RTTY-like, 850 Hz shift
    path = tmp_path / "fsk.sigmf-meta"
    params = SignalSpectrogramParams(image_size=(96, 24), zoom_rows=32, fine_rows=32)
    img = signal_spectrogram(path, params)[0]
    assert img.shape == (96, 24) and img.dtype == np.float32 and np.isfinite(img).all()
    coarse = img[32:64].max(axis=1)  # 2 kHz rows: both tones under one peak
    fine = img[64:].max(axis=1)  # 125 Hz rows: two peaks 850 / 125 = 6.8 rows apart
    assert len(_peaks(coarse)) == 1
    peaks = _peaks(fine)
    assert len(peaks) == 2 and 6 <= peaks[1] - peaks[0] <= 8
    assert abs(peaks[0] - 15.5) <= 2 or abs(peaks[1] - 15.5) <= 2  # centred on one of the tones
    two = signal_spectrogram(path, SignalSpectrogramParams(image_size=(64, 24), zoom_rows=32))[0]
    assert np.array_equal(img[:64], two)  # the band and the zoom rows are the two-scale image's


def test_fine_zoom_settings_refused_or_too_long_for_the_recording(tmp_path):
    with pytest.raises(ConfigError, match="below the image height"):
        SignalSpectrogramParams(image_size=(64, 16), zoom_rows=32, fine_rows=32)
    with pytest.raises(ConfigError, match="fine rows"):
        SignalSpectrogramParams(image_size=(64, 16), fine_rows=40, fine_fft_size=32)
    write_sigmf(tmp_path / "short", _fsk(8192, 0.0, 170.0, 45.45), sample_rate_hz=FS)
    with pytest.raises(DatasetError, match=r"short\.sigmf-meta: .*16384-sample window") as exc:
        signal_spectrogram(tmp_path / "short.sigmf-meta", SignalSpectrogramParams(image_size=(64, 16), fine_rows=8))
    assert "\n" not in str(exc.value)


def _fsk_capture(path, rate_hz: float):
    """0.05 s of 2-FSK 10 kHz apart (tones 5 bins of 2 kHz apart) at +300 kHz, recorded at ``rate_hz``."""
    n = int(rate_hz * 0.05)
    rng = np.random.default_rng(3)
    freq = 300e3 + 10e3 * ((np.arange(n) * 100 / rate_hz).astype(int) % 2 - 0.5)
    x = 0.5 * np.exp(2j * np.pi * np.cumsum(freq) / rate_hz) + rng.normal(0, 0.01, (n, 2)) @ [1, 1j]
    write_sigmf(path, x.astype(np.complex64), sample_rate_hz=rate_hz)
    return path.with_suffix(".sigmf-meta")


def test_another_rate_is_analysed_on_the_training_bins(tmp_path):
    params = SignalSpectrogramParams(image_size=(64, 16), zoom_rows=32, sample_rate_hz=FS)
    plain = dataclasses.replace(params, sample_rate_hz=None)
    a, b = _fsk_capture(tmp_path / "a", FS), _fsk_capture(tmp_path / "b", 2.4e6)
    native, other, unscaled = (signal_spectrogram(p, q)[0] for p, q in ((a, params), (b, params), (b, plain)))
    zoom = [img[32:].max(axis=1) for img in (native, other, unscaled)]  # the two tones over the zoom rows (dB)
    assert np.abs(zoom[1] - zoom[0]).max() < 5  # 2 kHz rows at both rates: the same profile, noise aside
    assert np.abs(zoom[2] - zoom[0]).max() > 15  # unscaled, 2.34 kHz rows: the tones land on other rows
    assert other.shape == native.shape and np.isfinite(other).all()
    assert np.array_equal(signal_spectrogram(a, params), signal_spectrogram(a, plain))  # nothing changes at the rate
    assert signal_spectrogram(_fsk_capture(tmp_path / "c", 1.8e6), params).shape == (1, 64, 16)  # narrower: padded


def test_pad_band_keeps_dc_in_the_middle_and_fills_with_the_noise_floor():
    p = np.arange(12, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)  # 12 rows, DC on row 6
    padded = pad_band(p, 16)[:, 0]  # DC on row 8
    assert padded[2:14].tolist() == list(range(12)) and (padded[[0, 1, 14, 15]] == 5.5).all()  # median elsewhere
    with pytest.raises(ConfigError, match="sample_rate_hz"):
        SignalSpectrogramParams(sample_rate_hz=0.0)
