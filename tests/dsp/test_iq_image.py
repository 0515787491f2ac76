"""dsp.iq_image: a mixer's I/Q imbalance measured blind from the samples and undone (the mirror images removed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiofm.dsp.iq_image import (
    CHUNK,
    PAIR_NFFT,
    band_coefficient,
    carrier_peak_db,
    fir_response,
    image_coefficient,
    image_filter,
    noise_floor,
    pair_statistics,
    remove_image_,
    remove_image_fir,
    span_powers,
    strongest_image_db,
    visible_rejection_db,
)
from radiofm.synth.impairments import apply_iq_imbalance_, apply_iq_skew_, image_rejection_db, iq_skew_rejection_db


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


# --------------------------------------------------------------------------- frequency-dependent imbalance
SKEW = {"gain_db": 0.5, "phase_deg": 1.0, "skew_samples": 0.06}  # 28 dB near the centre, ~21 dB at +0.4


def two_sided(n: int = 1 << 20, seed: int = 3, level_db: float = 25.0) -> np.ndarray:
    """Noise and two band-limited carriers ``level_db`` + 3 dB over it per bin, at +30..+42 % and -20..-12 % of
    fs: mirrors empty."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(2 * n, dtype=np.float32) * np.float32(math.sqrt(0.5))).view(np.complex64)
    f = np.fft.fftfreq(n)
    band = ((f > 0.30) & (f < 0.42)) | ((f > -0.20) & (f < -0.12))
    spec = np.fft.fft(rng.standard_normal(n) + 1j * rng.standard_normal(n)) * band * 10 ** (level_db / 20)
    return (x + np.fft.ifft(spec)).astype(np.complex64)


def band_db(x: np.ndarray, lo: float, hi: float) -> float:
    """Mean power (dB) of ``x`` in lo < f < hi (cycles per sample)."""
    p = np.abs(np.fft.fft(x)) ** 2
    f = np.fft.fftfreq(len(x))
    return float(10 * np.log10(p[(f > lo) & (f < hi)].mean()))


def test_a_frequency_dependent_imbalance_is_measured_and_its_images_removed():
    x = two_sided()
    y = apply_iq_skew_(x.copy(), **SKEW)
    mirrors = [(-0.42, -0.30), (0.12, 0.20)]
    for lo, hi in mirrors:  # both images stand over the noise before
        assert band_db(y, lo, hi) > band_db(x, lo, hi) + 2.0
    # the constant correction cannot remove both: the rejection differs by ~6 dB between the two carriers
    w, _ = image_coefficient(y)
    flat = remove_image_(y.copy(), w)
    assert max(band_db(flat, lo, hi) - band_db(x, lo, hi) for lo, hi in mirrors) > 1.0
    h, p = image_filter(y)
    z = remove_image_fir(y, h)
    for lo, hi in mirrors:
        assert band_db(z, lo, hi) - band_db(x, lo, hi) < 0.3  # back to the noise
    worst, best = visible_rejection_db(h, p)
    truth = iq_skew_rejection_db(**SKEW, freq=np.array([0.36, -0.16]))  # the carriers' centres
    assert worst == pytest.approx(truth.min(), abs=1.5) and best == pytest.approx(truth.max(), abs=1.5)


def test_spans_solved_together_tell_a_mirror_pair_apart():
    """A carrier at +0.30..+0.42 and another on its mirror for the first half of the capture only: averaged over the
    whole capture, the pair's statistics blend the half where H(k) and H(-k) cannot be told apart with the half where
    they can, and the filter leaves 1.7 dB of image in the second half; the 16 spans' equations solved together
    leave what the noise allows. A carrier with an empty mirror is served alike by both."""
    rng = np.random.default_rng(0)
    n = 1 << 20
    x = (rng.standard_normal(2 * n, dtype=np.float32) * np.float32(math.sqrt(0.5))).view(np.complex64)
    f = np.fft.fftfreq(n)

    def carrier(lo, hi):  # 28 dB over the noise per bin
        return np.fft.ifft(
            np.fft.fft(rng.standard_normal(n) + 1j * rng.standard_normal(n)) * ((f > lo) & (f < hi)) * 10**1.25
        )

    b = carrier(-0.42, -0.30)
    b[n // 2 :] = 0
    x = (x + carrier(0.30, 0.42) + carrier(-0.20, -0.12) + b).astype(np.complex64)
    y = apply_iq_skew_(x.copy(), **SKEW)
    half = n // 2
    left = {}
    for spans in (1, 16):
        z = remove_image_fir(y, image_filter(y, spans=spans)[0])
        left[spans] = band_db(z[half:], -0.42, -0.30) - band_db(x[half:], -0.42, -0.30)
        assert band_db(z, 0.12, 0.20) - band_db(x, 0.12, 0.20) < 0.3
    assert band_db(y[half:], -0.42, -0.30) - band_db(x[half:], -0.42, -0.30) > 7.0  # the image before
    assert left[16] < 0.35 and left[1] > 1.0


def test_a_constant_imbalance_measures_flat_and_a_balanced_one_as_none():
    x = two_sided(seed=4)
    y = apply_iq_imbalance_(x.copy(), gain_db=1.5, phase_deg=6.0)
    h, p = image_filter(y, steps=1)
    worst, best = visible_rejection_db(h, p)
    assert worst == pytest.approx(19.9, abs=0.5) and best == pytest.approx(19.9, abs=0.5)
    w, _ = image_coefficient(y)
    assert visible_rejection_db(h, p, w)[0] > 40.0  # the constant correction leaves nothing the filter would add
    h0, p0 = image_filter(x, steps=1)
    assert visible_rejection_db(h0, p0)[0] > 40.0
    assert visible_rejection_db(h0, np.ones(PAIR_NFFT)) == (math.inf, math.inf)  # no bin with a carrier's mirror


def test_pair_statistics_and_the_filter_response_by_hand():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(2 * 8 * PAIR_NFFT, dtype=np.float32).view(np.complex64)
    c, p = pair_statistics(x)
    seg = (x - x.mean()).reshape(-1, PAIR_NFFT) * np.hanning(PAIR_NFFT)
    f = np.fft.fft(seg, axis=1)
    np.testing.assert_allclose(p, (np.abs(f) ** 2).mean(0), rtol=1e-4)
    np.testing.assert_allclose(c, (f * f[:, (-np.arange(PAIR_NFFT)) % PAIR_NFFT]).mean(0), rtol=1e-3, atol=1e-3)
    h = np.array([0.1, -0.2j, 0.05])  # taps at n = -1, 0, 1
    k = np.arange(PAIR_NFFT)
    expected = 0.1 * np.exp(2j * np.pi * k / PAIR_NFFT) - 0.2j + 0.05 * np.exp(-2j * np.pi * k / PAIR_NFFT)
    np.testing.assert_allclose(fir_response(h), expected, atol=1e-12)


def test_the_filter_is_the_formula_and_a_span_comes_out_as_within_the_whole():
    rng = np.random.default_rng(6)
    x = rng.standard_normal(2 * (2 * CHUNK + 99), dtype=np.float32).view(np.complex64)
    h = np.array([0.01 + 0.02j, -0.03, 0.05 - 0.01j, 0.02j, -0.01])  # n = -2..2
    pad = np.concatenate([np.zeros(2, np.complex64), np.conj(x), np.zeros(2, np.complex64)])
    expected = x.astype(np.complex128).copy()
    for j, n in enumerate(range(-2, 3)):
        expected -= h[j] * pad[2 - n : 2 - n + len(x)]  # conj(x)[t - n], zero outside
    whole = remove_image_fir(x, h)
    np.testing.assert_allclose(whole, expected, rtol=0, atol=1e-6)
    a, b = CHUNK - 5, 2 * CHUNK + 40
    np.testing.assert_array_equal(remove_image_fir(x[a - 2 : b + 2], h, 2, 2 + b - a), whole[a:b])


def test_spurs_after_the_mixer_do_not_bend_the_filter():
    """Tones added after the mixer (ADC or clock spurs) have no image, so they do not follow the imbalance's model:
    their bins are left out, even two of them 700 kHz apart, and the filter still measures the mixer."""
    x = two_sided(seed=7)
    y = apply_iq_imbalance_(x.copy(), gain_db=1.5, phase_deg=6.0)
    t = np.arange(len(y))
    for f in (-0.0199, -0.0313, 0.2464, -0.2462):  # 30 dB over the noise in a 240 kHz bin at 61.44 MS/s
        y += (math.sqrt(1e3 / 256) * np.exp(2j * np.pi * f * t)).astype(np.complex64)
    h, p = image_filter(y, steps=1)
    worst, best = visible_rejection_db(h, p)
    assert worst == pytest.approx(19.9, abs=0.5) and best == pytest.approx(19.9, abs=0.7)


def test_the_band_wide_constant_leaves_spurs_out():
    """Four spurs after a 19.9 dB mixer hold most of the capture's power outside its carriers: the time-domain
    figure reads the mixer far better than it is, the same figure from the pair statistics with their bins left out
    reads it right. Without spurs the two agree."""
    x = two_sided(seed=7)
    y = apply_iq_imbalance_(x.copy(), gain_db=1.5, phase_deg=6.0)
    w0, plain = image_coefficient(y)
    w1, fd = band_coefficient(*pair_statistics(y))
    assert plain == pytest.approx(19.93, abs=0.3) and fd == pytest.approx(plain, abs=0.2) and abs(w1 - w0) < 3e-3
    t = np.arange(len(y))
    for f in (-0.0199, -0.0313, 0.2464, -0.2462):  # together twice the carriers' power
        y += (math.sqrt(30.0) * np.exp(2j * np.pi * f * t)).astype(np.complex64)
    assert image_coefficient(y)[1] > 23.0
    assert band_coefficient(*pair_statistics(y))[1] == pytest.approx(19.93, abs=0.3)
    assert band_coefficient(np.zeros(PAIR_NFFT, complex), np.zeros(PAIR_NFFT)) == (0j, math.inf)


def test_the_noise_floor_from_the_quietest_span():
    """A carrier that fills the whole band half of the time raises the floor of the average over all to its own
    level; the span by span floors keep the noise's. The peak over a given floor is the peak over that floor."""
    rng = np.random.default_rng(3)
    n = 16 * 8 * PAIR_NFFT
    x = (rng.standard_normal(2 * n, dtype=np.float32) * np.float32(math.sqrt(0.5))).view(np.complex64)
    x[n // 2 :] *= np.float32(10.0)  # the second half: a band-filling carrier 20 dB over the noise
    parts = span_powers(x, 16)
    assert parts.shape == (16, PAIR_NFFT)
    # equal parts: their mean is the whole's (but at DC, where each part's own mean is removed)
    np.testing.assert_allclose(parts.mean(0)[3:-2], pair_statistics(x)[1][3:-2], rtol=1e-4)
    _, p = pair_statistics(x)
    floors = [noise_floor(q) for q in parts]
    quiet = noise_floor(pair_statistics(x[: n // 2])[1])  # the noise's floor (the lowest of 8 spans: a bit under)
    assert 0 < 10 * np.log10(quiet / min(floors)) < 1.0
    assert 10 * np.log10(noise_floor(p) / quiet) == pytest.approx(17.0, abs=0.5)  # (1 + 100) / 2 over 1
    assert 10 * np.log10(max(floors) / min(floors)) == pytest.approx(20.0, abs=0.5)
    assert carrier_peak_db(p, quiet) == pytest.approx(carrier_peak_db(p) + 17.0, abs=0.5)


def test_the_strongest_image_over_the_noise():
    """Carriers 28 dB over the noise per bin through a 19.9 dB mixer: images ~8 dB over the noise; 10 dB more
    carrier power, about 10 dB more image; a balanced receiver, none; what a right constant correction leaves, none.
    Heights over what else is in the bin, at bins where an image shows."""
    x = two_sided(seed=8)
    y = apply_iq_imbalance_(x.copy(), gain_db=1.5, phase_deg=6.0)
    h, p = image_filter(y, steps=1)
    image = 25 + 3.0 - 19.93  # the carriers are 28 dB over the noise per bin (complex noise in their spectrum)
    assert strongest_image_db(h, p) == pytest.approx(image, abs=1.0)
    w, _ = image_coefficient(y)
    assert strongest_image_db(h, p, w) < -10.0
    louder = apply_iq_imbalance_(two_sided(seed=8, level_db=35.0), gain_db=1.5, phase_deg=6.0)
    h2, p2 = image_filter(louder, steps=1)
    # the noise did not grow: 10 dB more (the estimate loses precision once the image fills its bin: P - image)
    assert image + 7.0 < strongest_image_db(h2, p2) < image + 11.0
    h0, p0 = image_filter(x, steps=1)
    assert strongest_image_db(h0, p0) < -10.0
    assert strongest_image_db(h0, np.ones(PAIR_NFFT)) == -math.inf  # no carrier: no bin where an image would show
    # the strongest carrier over the floor, which an imbalance's rejection turns into its image's height
    assert carrier_peak_db(p) == pytest.approx(28.0, abs=1.0) and carrier_peak_db(p2) == pytest.approx(38.0, abs=1.0)
    lines = np.ones(PAIR_NFFT)
    lines[::64] = 1e6  # narrow lines are not carriers
    assert abs(carrier_peak_db(lines)) < 0.1


def test_nothing_to_measure_gives_no_filter():
    t = np.arange(1 << 16)
    tone = np.exp(2j * np.pi * 0.1 * t).astype(np.complex64)  # one line and float rounding: nothing to fit
    h, p = image_filter(tone)
    assert np.abs(h).max() < 1e-4 and visible_rejection_db(h, p)[0] > 60.0
    for x in (np.zeros(1 << 16, np.complex64), np.ones(100, np.complex64)):  # silence; shorter than a segment
        h, p = image_filter(x)
        assert not h.any() and visible_rejection_db(h, p) == (math.inf, math.inf)
