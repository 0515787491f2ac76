"""spectrogram against scipy references, layout conventions and input checks."""

import numpy as np
import pytest
import scipy.signal
import torch

from radiofm.dsp import hann_periodic, n_frames, spectrogram, spectrogram_batch
from radiofm.errors import ConfigError, RecordingError


def _noise(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


def _scipy_power(iq, fft_size, win_length, hop):
    """|X|^2 of scipy.signal.stft in float64, fftshifted, without window normalisation: (F, T)."""
    window = scipy.signal.get_window("hann", win_length)  # periodic
    _, _, z = scipy.signal.stft(
        iq.astype(np.complex128),
        window=window,
        nperseg=win_length,
        noverlap=win_length - hop,
        nfft=fft_size,
        return_onesided=False,
        boundary=None,
        padded=False,
        detrend=False,
        scaling="spectrum",  # divides by sum(window)
    )
    return np.fft.fftshift(np.abs(z) ** 2, axes=0) * window.sum() ** 2


@pytest.mark.parametrize(
    ("fft_size", "win_length", "hop"), [(1024, 512, 512), (256, 128, 64), (64, 64, 80), (255, 100, 37)]
)
def test_matches_scipy_stft(fft_size, win_length, hop):
    iq = _noise(20_000)
    ours = spectrogram(iq, fft_size=fft_size, win_length=win_length, hop=hop)
    ref = 10 * np.log10(_scipy_power(iq, fft_size, win_length, hop) + 1e-12)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    diff = ours.astype(np.float64) - ref
    assert np.abs(diff - np.median(diff)).max() < 0.05  # up to a constant offset
    assert np.abs(diff).max() < 0.05  # and here the constant is 0: no window normalisation


def test_matches_shorttimefft_up_to_offset():
    iq = _noise(16_384, seed=1)
    window = scipy.signal.get_window("hann", 512)
    stft = scipy.signal.ShortTimeFFT(window, hop=512, fs=1.0, mfft=1024, fft_mode="centered", scale_to="psd")
    t = n_frames(iq.size)
    ref = 10 * np.log10(stft.spectrogram(iq.astype(np.complex128), p0=0, p1=t, k_offset=256))
    diff = spectrogram(iq).astype(np.float64) - ref
    assert np.ptp(diff) < 0.05


@pytest.mark.parametrize(
    ("n", "win_length", "hop"), [(512, 512, 512), (1535, 512, 512), (1536, 512, 512), (1000, 100, 30)]
)
def test_frame_count(n, win_length, hop):
    out = spectrogram(_noise(n), fft_size=1024, win_length=win_length, hop=hop)
    assert out.shape == (1024, (n - win_length) // hop + 1)
    assert n_frames(n, win_length=win_length, hop=hop) == out.shape[1]


@pytest.mark.parametrize("fft_size", [1024, 255])
@pytest.mark.parametrize("offset_bins", [0, 5, -7, 100])
def test_tone_lands_in_dc_centred_row(fft_size, offset_bins):
    n = np.arange(4096)
    iq = np.exp(2j * np.pi * offset_bins * n / fft_size)  # tone exactly on a bin, complex128 input
    out = spectrogram(iq, fft_size=fft_size, win_length=fft_size // 2, hop=fft_size // 2)
    assert (out.argmax(axis=0) == fft_size // 2 + offset_bins).all()


def test_row_zero_is_most_negative_frequency():
    n = np.arange(2048)
    iq = np.exp(-1j * np.pi * n)  # -fs/2
    out = spectrogram(iq, fft_size=64, win_length=64, hop=64)
    assert (out.argmax(axis=0) == 0).all()


def test_window_is_periodic_hann():
    # an impulse at sample n0 of a frame gives |X|^2 = w[n0]^2 in every bin
    win_length, n0 = 8, 1
    iq = np.zeros(win_length, np.complex64)
    iq[n0] = 1
    power = spectrogram(iq, fft_size=16, win_length=win_length, hop=win_length, log=False)
    expected = (0.5 - 0.5 * np.cos(2 * np.pi * n0 / win_length)) ** 2  # periodic: divide by N, not N - 1
    np.testing.assert_allclose(power[:, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(hann_periodic(16), scipy.signal.get_window("hann", 16))
    # constant input: DC power = (sum w)^2 = (N/2)^2 for the periodic window
    power = spectrogram(np.ones(512), log=False)
    assert power[512, 0] == pytest.approx(256.0**2, rel=1e-5)


def test_linear_mode_and_eps():
    iq = _noise(5000)
    lin = spectrogram(iq, log=False)
    db = spectrogram(iq, log=True, eps=1e-3)
    np.testing.assert_allclose(db, 10 * np.log10(lin.astype(np.float64) + 1e-3), atol=1e-4)
    zeros = spectrogram(np.zeros(1024, np.complex64))
    np.testing.assert_allclose(zeros, -120.0)  # 10*log10(1e-12)


def test_real_input_equals_complex_cast():
    x = np.random.default_rng(2).standard_normal(3000)
    np.testing.assert_allclose(spectrogram(x), spectrogram(x.astype(np.complex64)), atol=1e-4)


def test_batch_and_threads_agree():
    iq = _noise(700 * 512, seed=3)  # enough frames for the threaded path
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = spectrogram(iq)
        torch.set_num_threads(2)
        threaded = spectrogram(iq)
    finally:
        torch.set_num_threads(old)
    np.testing.assert_array_equal(single, threaded)
    segments = iq[: 4 * 5120].reshape(4, 5120)
    batch = spectrogram_batch(segments, fft_size=256, win_length=128, hop=100)
    assert batch.shape == (4, 256, n_frames(5120, win_length=128, hop=100))
    for s in range(4):
        np.testing.assert_array_equal(batch[s], spectrogram(segments[s], fft_size=256, win_length=128, hop=100))


def test_empty_batch():
    assert spectrogram_batch(np.zeros((0, 2048), np.complex64)).shape == (0, 1024, 4)


def test_non_contiguous_input():
    iq = _noise(8192)
    np.testing.assert_array_equal(spectrogram(iq[::2]), spectrogram(iq[::2].copy()))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"fft_size": 256, "win_length": 512}, ConfigError),
        ({"hop": 0}, ConfigError),
        ({"hop": -3}, ConfigError),
        ({"win_length": 0}, ConfigError),
        ({"hop": 1.5}, ConfigError),
        ({"eps": -1.0}, ConfigError),
    ],
)
def test_bad_parameters(kwargs, error):
    with pytest.raises(error):
        spectrogram(_noise(4096), **kwargs)


def test_bad_input():
    with pytest.raises(RecordingError, match="fewer than one window"):
        spectrogram(_noise(511))
    with pytest.raises(RecordingError, match="shape"):
        spectrogram(_noise(4096).reshape(2, 2048))
    with pytest.raises(RecordingError, match="dtype"):
        spectrogram(np.array(["a"] * 1024))
    with pytest.raises(RecordingError):
        spectrogram_batch(_noise(4096))
