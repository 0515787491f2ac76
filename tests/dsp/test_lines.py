"""dsp.lines: a receiver's narrow lines (DC offset, CW spurs) found and removed; OFDM is not a line."""

from __future__ import annotations

import numpy as np
import pytest

from radiofm.dsp.lines import LineRemover, find_lines, line_fft_size

FS = 61.44e6


def ofdm(n: int, rng: np.random.Generator, *, subcarriers: int = 600, fft: int = 4096, cp: int = 288) -> np.ndarray:
    """An LTE-like carrier at unit power: QPSK on ``subcarriers`` 15 kHz subcarriers (DC empty), cyclic prefix."""
    out = []
    while sum(map(len, out)) < n:
        grid = np.zeros(fft, np.complex64)
        k = np.r_[-subcarriers // 2 : 0, 1 : subcarriers // 2 + 1]
        grid[k] = (rng.choice([-1, 1], k.size) + 1j * rng.choice([-1, 1], k.size)) / np.sqrt(2)
        sym = np.fft.ifft(grid) * np.sqrt(fft**2 / subcarriers)
        out.append(np.r_[sym[-cp:], sym])
    return np.concatenate(out)[:n].astype(np.complex64)


def noise(n: int, rng: np.random.Generator, power: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(2 * n, dtype=np.float32) * np.float32(np.sqrt(power / 2))).view(np.complex64)


def tone(n: int, f_hz: float, amplitude: float, phase: float = 0.3, start: int = 0) -> np.ndarray:
    t = np.arange(start, start + n, dtype=np.float64)
    return (amplitude * np.exp(1j * (2 * np.pi * f_hz / FS * t + phase))).astype(np.complex64)


@pytest.fixture(scope="module")
def capture():
    """40 ms: an OFDM carrier 20 dB over the noise (±4.5 MHz), a DC offset as strong as the noise and three spurs,
    one inside the carrier and one near a band edge, 26-30 dB over the noise in a 240 kHz bin."""
    rng = np.random.default_rng(0)
    n = 2_457_600
    base = ofdm(n, rng) * np.float32(10.0) + noise(n, rng)
    lines = [0.0, -12_345_678.9, 3_000_123.4, 29_876_543.2]
    spurs = sum(tone(n, f, a) for f, a in zip(lines, [1.0, 1.5, 2.0, 1.2]))
    return base, base + spurs, lines


def test_lines_found_at_their_frequency_and_nothing_in_ofdm_and_noise(capture):
    base, spurred, lines = capture
    n = 16 * line_fft_size(FS)
    assert line_fft_size(FS) == 65536 and find_lines(base[:n], FS)[0].size == 0
    found, excess = find_lines(spurred[:n], FS)
    assert found.size == len(lines)
    order = np.argsort(found)
    assert np.allclose(found[order], np.sort(lines), atol=2.0)  # a bin is 937.5 Hz: refined to a few Hz
    # how far each stands out in a 240 kHz bin: power over the noise there, or over the carrier's at 0 and 3 MHz
    bin_noise = 240e3 / FS  # unit-power noise
    bin_carrier = 100 * 240e3 / 9e6 + bin_noise
    expected = 10 * np.log10(np.array([1.0, 1.5, 2.0, 1.2]) ** 2 / [bin_carrier, bin_noise, bin_carrier, bin_noise])
    assert np.allclose(excess[order], expected[np.argsort(lines)], atol=1.5)
    assert find_lines(spurred[: 4 * line_fft_size(FS)], FS)[0].size == 0  # too few segments to judge


def test_a_narrowband_signal_a_few_khz_wide_is_not_a_line():
    rng = np.random.default_rng(1)
    n = 16 * line_fft_size(FS)
    am = np.convolve(rng.standard_normal(n), np.ones(6000) / 6000, mode="same") * 300  # ~10 kHz of modulation
    x = noise(n, rng) + (tone(n, 7e6, 1.0) * (1 + am)).astype(np.complex64)
    assert find_lines(x, FS)[0].size == 0


def test_remover_takes_the_lines_out_and_leaves_the_signal(capture):
    base, spurred, lines = capture
    clean = LineRemover(lines, FS).apply(spurred.copy(), 0)
    err = np.mean(np.abs(clean - base) ** 2) / np.mean(np.abs(base) ** 2)
    assert err < 1e-3  # the lines (8.7x the noise power) gone; what differs: a 2 kHz notch at each in-band line
    spurs_left = np.abs(np.fft.fft(clean[:65536] - base[:65536]))
    assert spurs_left.max() < 0.05 * np.abs(np.fft.fft(spurred[:65536] - base[:65536])).max()


def test_any_read_is_cleaned_as_the_whole(capture):
    _, spurred, lines = capture
    rem = LineRemover(lines, FS)
    whole = rem.apply(spurred.copy(), 0)
    sub = rem.sub
    a, b = 3 * sub, 7 * sub  # whole stretches: exactly the same fit
    np.testing.assert_array_equal(rem.apply(spurred[a:b].copy(), a), whole[a:b])
    part = rem.apply(spurred[a + 100 : b - 100].copy(), a + 100)  # partial stretches at the ends: a wider notch
    assert np.mean(np.abs(part - whole[a + 100 : b - 100]) ** 2) < 1e-3 * np.mean(np.abs(whole) ** 2)


def test_empty_remover_is_falsy_and_changes_nothing():
    x = noise(1000, np.random.default_rng(2))
    rem = LineRemover([], FS)
    assert not rem and rem.apply(x, 5) is x


def test_noise_free_waveform_has_no_lines():
    """Without noise the spectrum's floor is float rounding, far under any real line: nothing is reported."""
    rng = np.random.default_rng(3)
    x = ofdm(16 * line_fft_size(FS), rng)
    assert find_lines(x, FS)[0].size == 0
