"""Blind CP-OFDM receiver front end for one carrier of a recording: band extraction, cyclic-prefix sync, per-symbol FFT.

The cell search (:mod:`radiofm.dsp.cellsearch`) and the carrier evidence (:mod:`radiofm.dsp.evidence`) start here:

1. :func:`span_spectrum` — FFT of the whole span (25 Hz bins for 40 ms), computed once per span.
2. :func:`extract_band` — the carrier moved to 0 Hz and resampled to ``nf15 * 15 kHz`` by selecting its FFT bins
   (an ideal band-pass filter; bins outside the carrier's band plus a margin are zeroed, so neighbours drop out).
3. :func:`cp_sync` — the cyclic-prefix correlation x(n) x*(n + N) folded modulo 0.5 ms and matched to the normal-CP
   layout of 15 or 30 kHz (38.211 §5.3.1 = 36.211 §6.12: 144 k 2^-mu Tc, plus 16 k Tc on the first symbol of every
   0.5 ms). It gives the half-ms boundary, the CP correlation coefficient ``rho`` (about SNR / (1 + SNR) for a
   loaded carrier of that numerology, about 1 / sqrt(CP samples) otherwise: a blind SCS detector) and the
   frequency offset of the subcarrier grid modulo the SCS (from the phase, van de Beek et al. 1997).
4. :func:`symbol_grid` — one FFT per OFDM symbol, each window inside its symbol (half the CP before the useful
   part), after removing the fractional grid offset: the received resource grid, bins at exact subcarriers.
   :func:`window_ramp` undoes, in a product of two symbols (an SSS against its PSS), the shift between their
   windows that a half-ms boundary placed a symbol off leaves.
5. :func:`diff_correlate` — correlation along frequency of adjacent-subcarrier products Y(k+1) Y*(k) with the
   same products of a known sequence (e.g. a PSS), for every symbol and every frequency position at once. The
   product removes the unknown timing phase ramp and most of the channel. The metric is the normalised
   correlation |c| / sqrt(sum |d|^2 sum |t|^2) (Cauchy-Schwarz: in [0, 1], 1 for the sequence without noise or
   fading, about 1 / sqrt(L) for noise); it does not depend on the signal level, and a window holding only a few
   strong products (a carrier edge, a sparse symbol) cannot reach a high value.

Half-ms boundaries are the same for 15 and 30 kHz (two 30 kHz symbols span one 15 kHz symbol, long CPs included),
so one :func:`cp_sync` serves both numerologies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from radiofm.errors import ConfigError, RecordingError

SCS_HZ = (15e3, 30e3)
BASE_SCS_HZ = 15e3
# nf15 (samples per 15 kHz useful symbol) candidates: multiples of 256 (integer CPs at 15 and 30 kHz) with small
# prime factors (fast FFTs). Rate = nf15 * 15 kHz: 3.84 MS/s .. 61.44 MS/s (and 2x above for wider input).
NF15_CHOICES = tuple(256 * k for k in (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 20, 24, 30, 32))


@dataclass
class Baseband:
    """A carrier at 0 Hz: complex64 (N,) samples at ``rate_hz`` = ``nf15`` * 15 kHz (sample 0 = span sample 0)."""

    x: np.ndarray  # complex64 (N,)
    rate_hz: float  # nominal; the true rate is N * sample_rate_hz / span length (differs by < 0.5 / N relative)
    nf15: int  # FFT size giving 15 kHz bins at rate_hz
    centre_hz: float  # frequency (Hz from the recording centre) moved to 0 Hz
    sample_rate_hz: float  # the recording's rate
    lower_hz: float  # band kept (Hz from the recording centre); outside it the spectrum was zeroed
    upper_hz: float

    def to_recording_sample(self, n: np.ndarray | float) -> np.ndarray:
        """Sample index at ``rate_hz`` -> sample index (float) of the span at the recording's rate."""
        return np.asarray(n, dtype=np.float64) * self.sample_rate_hz / self.rate_hz


@dataclass
class CpSync:
    """Result of :func:`cp_sync` for one SCS."""

    scs_hz: float
    rho: float  # CP correlation coefficient at the best timing, in [0, 1]
    tau0: int  # a half-ms boundary (first symbol's CP start), samples at the baseband rate, in [0, 7.5 nf15)
    freq_offset_hz: float  # offset of the subcarrier grid from multiples of scs_hz around centre_hz, |.| <= scs/2
    cp_samples: int  # number of CP samples summed (the null level of rho is about 1 / sqrt(cp_samples))


@dataclass
class SymbolGrid:
    """The received resource grid: complex64 (S, K) FFT of every whole OFDM symbol in the span, fftshifted."""

    y: np.ndarray  # complex64 (S, K); bin j is at f0_hz + j * scs_hz
    scs_hz: float
    f0_hz: float  # frequency of bin 0 (Hz from the recording centre)
    start_sample: np.ndarray  # float64 (S,): each symbol's CP start, in span samples at the recording's rate
    symbol_in_half_ms: np.ndarray  # int64 (S,): 0 = the long-CP symbol (valid when cp_sync found the timing)
    sample_rate_hz: float  # the recording's rate (unit of start_sample)
    advance: int  # each FFT window starts this many samples (at the baseband rate) before the useful part

    def bin_of(self, freq_hz: float) -> int:
        """Nearest bin to ``freq_hz`` (Hz from the recording centre); may lie outside [0, K)."""
        return int(np.round((freq_hz - self.f0_hz) / self.scs_hz))

    def freq_of(self, bin_index: float) -> float:
        """Frequency (Hz from the recording centre) of a (fractional) bin index."""
        return float(self.f0_hz + bin_index * self.scs_hz)


def check_iq(iq: np.ndarray, sample_rate_hz: float, *, min_duration_s: float = 1e-3) -> np.ndarray:
    """Validate a span of IQ samples: complex (N,), finite, at least ``min_duration_s`` long. Returns complex64."""
    if not np.isfinite(sample_rate_hz) or sample_rate_hz <= 0:
        raise ConfigError(f"cell search: sample_rate_hz must be a positive number, got {sample_rate_hz!r}")
    x = np.asarray(iq)
    if x.ndim != 1 or not np.iscomplexobj(x):
        raise RecordingError(f"cell search: expected complex IQ samples of shape (N,), got {x.dtype} {x.shape}")
    if x.size < min_duration_s * sample_rate_hz:
        raise RecordingError(f"cell search: span of {x.size} samples is shorter than {min_duration_s * 1e3:g} ms")
    x = x.astype(np.complex64, copy=False)
    if not np.isfinite(x.view(np.float32)).all():
        raise RecordingError("cell search: IQ samples contain NaN or Inf")
    return x


def span_spectrum(iq: np.ndarray) -> np.ndarray:
    """FFT of the span, complex64 (N,) in numpy order (bin k at k * fs / N, negative above N / 2)."""
    return scipy.fft.fft(np.asarray(iq, dtype=np.complex64), workers=1)


def block_powers(spectrum: np.ndarray, fs: float, lower_hz: float, upper_hz: float, block_hz: float) -> np.ndarray:
    """Mean |X|^2 of :func:`span_spectrum`'s bins in consecutive blocks of ``block_hz`` over [lower_hz, upper_hz)
    (Hz from the centre; the last partial block dropped, at least one block). float64 (B,)."""
    n = spectrum.size
    df = fs / n
    first, per = int(np.ceil(lower_hz / df)), max(int(round(block_hz / df)), 1)
    count = max(int((upper_hz - lower_hz) / df) // per, 1)
    a, m = first % n, count * per
    if a + m <= n:  # bins [first, first + m) modulo n: one slice, or two where the range wraps past the top bin
        picked = spectrum[a : a + m]
    elif m <= n:
        picked = np.concatenate([spectrum[a:], spectrum[: m - (n - a)]])
    else:
        picked = spectrum[(first + np.arange(m)) % n]
    picked = np.ascontiguousarray(picked)
    pairs = picked.view(picked.real.dtype).astype(np.float64)  # re, im interleaved (a copy), squared in place
    np.square(pairs, out=pairs)
    power = pairs[0::2] + pairs[1::2]  # the same bits as re**2 + im**2 in float64, without its temporaries
    return power.reshape(count, per).mean(axis=1)


def noise_floor(spectrum: np.ndarray, fs: float, block_hz: float = 100e3) -> float:
    """The quietest ``block_hz`` block's mean |X|^2 within +-0.45 fs (away from the anti-alias roll-off): at most
    the noise floor where any part of the band holds only noise (a little below it: the minimum of many blocks)."""
    return float(block_powers(spectrum, fs, -0.45 * fs, 0.45 * fs, block_hz).min())


def energy_band(
    spectrum: np.ndarray,
    fs: float,
    *,
    core: tuple[float, float],
    limits: tuple[float, float],
    floor: float,
    block_hz: float = 200e3,
    margin_db: float = 0.2,
    max_gap_hz: float = 3e6,
) -> tuple[float, float]:
    """The band around ``core`` (Hz from the centre) whose power stands above the noise: ``core`` extended on each
    side, within ``limits``, by the run of ``block_hz`` blocks (:func:`block_powers`) with the largest sum of
    (power / ``floor`` - threshold): a block above the threshold adds, one below subtracts, so a gap of noise is
    bridged only when more power lies beyond it, and never one wider than ``max_gap_hz`` (three blocks' mean
    below the threshold; the RB groups a cell leaves unscheduled are narrower than the noise between two
    carriers, mostly). The threshold is ``margin_db`` above ``floor`` (:func:`noise_floor`, the quietest block: on
    the benchmark captures the noise stood 0.1-0.4 dB above it) plus 4 standard errors of a noise block's mean
    (1 / sqrt(bins per block): 0.05 dB for 40 ms of 200 kHz blocks). For a carrier whose reference signals
    were not found (an idle NR cell's CORESET, a weak cell's scheduled RBs)."""
    per_block = block_hz * spectrum.size / fs
    threshold = (1 + 4 / np.sqrt(max(per_block, 1.0))) * 10 ** (margin_db / 10)
    max_gap = max(int(max_gap_hz // block_hz), 1)

    def reach(first: float, n: int, sign: int) -> int:
        """Blocks to add going ``sign`` (+1 up, -1 down) from ``first`` (a core edge), up to ``n``."""
        if n < 1:
            return 0
        a, b = (first, first + n * block_hz) if sign > 0 else (first - n * block_hz, first)
        values = block_powers(spectrum, fs, a, b, block_hz)[::sign] / floor - threshold
        smooth = np.convolve(values, np.ones(3) / 3, mode="same")  # a gap: where 3 blocks' mean is below
        above = np.flatnonzero(smooth > 0)
        gaps = np.diff(np.r_[-1, above]) - 1  # noise blocks before each block above the threshold
        wide = np.flatnonzero(gaps > max_gap)
        stop = int(above[wide[0]]) if wide.size else values.size  # beyond a wide gap nothing counts
        gain = np.cumsum(values[:stop])
        return int(np.argmax(gain)) + 1 if gain.size and gain.max() > 0 else 0

    lo, hi = limits
    below = reach(core[0], int((core[0] - lo) // block_hz), -1)
    above = reach(core[1], int((hi - core[1]) // block_hz), +1)
    return float(core[0] - below * block_hz), float(core[1] + above * block_hz)


def choose_nf15(width_hz: float) -> int:
    """Smallest FFT size in :data:`NF15_CHOICES` whose rate nf15 * 15 kHz covers ``width_hz``."""
    for nf in NF15_CHOICES:
        if nf * BASE_SCS_HZ >= width_hz:
            return nf
    return NF15_CHOICES[-1]


def extract_band(
    iq: np.ndarray,
    sample_rate_hz: float,
    *,
    centre_hz: float,
    lower_hz: float,
    upper_hz: float,
    spectrum: np.ndarray | None = None,
) -> Baseband:
    """Move ``centre_hz`` to 0 Hz, keep [lower_hz, upper_hz] (Hz from the recording centre), resample.

    ``iq`` (N,) complex64: the span; ``spectrum``: its :func:`span_spectrum` when already computed. The output
    rate is the smallest nf15 * 15 kHz that holds the kept band on both sides of ``centre_hz``; ``centre_hz`` is
    rounded to the span's bin spacing fs / N. When that rate is the recording's own (a carrier as wide as the
    span), the span is only mixed, not filtered: there is no room for another carrier beside it.
    """
    n = iq.size
    df = sample_rate_hz / n
    half = max(upper_hz - centre_hz, centre_hz - lower_hz)
    nf15 = choose_nf15(2 * half)
    rate = nf15 * BASE_SCS_HZ
    m = max(int(round(n * rate / sample_rate_hz)), 1)
    c0 = int(round(centre_hz / df))
    if m == n:
        x = iq if c0 == 0 else iq * np.exp(-2j * np.pi * c0 / n * np.arange(n)).astype(np.complex64)
        return Baseband(x, rate, nf15, c0 * df, sample_rate_hz, float(lower_hz), float(upper_hz))
    spectrum = span_spectrum(iq) if spectrum is None else spectrum
    k = c0 + np.arange(-(m // 2), m - m // 2)  # wanted bins, lowest first
    freq = k * df
    keep = (np.abs(k) < n / 2) & (freq >= lower_hz) & (freq <= upper_hz)
    z = np.zeros(m, dtype=np.complex64)
    z[keep] = spectrum[k[keep] % n]
    x = scipy.fft.ifft(np.fft.ifftshift(z), workers=1, overwrite_x=True) * np.float32(m / n)
    return Baseband(x.astype(np.complex64), rate, nf15, c0 * df, sample_rate_hz, float(lower_hz), float(upper_hz))


def half_ms_layout(scs_hz: float, nf15: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Normal-CP symbols of one 0.5 ms at rate nf15 * 15 kHz: (nfft, CP start offsets (P,), CP lengths (P,))."""
    if scs_hz not in SCS_HZ:
        raise ConfigError(f"cell search: SCS must be 15 or 30 kHz, got {scs_hz!r}")
    ratio = int(round(scs_hz / BASE_SCS_HZ))
    nfft = nf15 // ratio
    cp = np.full(7 * ratio, nfft * 144 // 2048, dtype=np.int64)
    cp[0] += nf15 // 128  # 16 kappa Tc on the first symbol of each 0.5 ms
    offsets = np.concatenate([[0], np.cumsum(cp + nfft)[:-1]])
    return nfft, offsets, cp


def cp_sync(bb: Baseband, scs_hz: float) -> CpSync:
    """Cyclic-prefix timing, grid frequency offset and CP correlation coefficient for ``scs_hz`` (see module doc)."""
    nfft, offsets, cps = half_ms_layout(scs_hz, bb.nf15)
    period = int(round(7.5 * bb.nf15))  # samples per 0.5 ms
    x = bb.x
    if x.size < period + nfft:
        raise RecordingError(f"cell search: span shorter than 0.5 ms at {bb.rate_hz / 1e6:g} MS/s")
    lag = x[nfft:] * np.conj(x[:-nfft])  # conj of x(n) x*(n + N): phase +2 pi df N / rate
    p = x.real**2 + x.imag**2
    power = p[nfft:] + p[:-nfft]  # twice the mean power of the pair (the factor is restored below)
    rows = -(-lag.size // period)
    pad = rows * period - lag.size
    folded = np.concatenate([lag, np.zeros(pad, lag.dtype)]).reshape(rows, period).sum(axis=0)
    folded_power = np.concatenate([power, np.zeros(pad, power.dtype)]).reshape(rows, period).sum(axis=0)
    template = np.zeros(period, dtype=np.float64)
    for off, cp in zip(offsets, cps, strict=True):
        template[off : off + cp] = 1.0
    spec_t = np.conj(np.fft.fft(template))
    corr = np.fft.ifft(np.fft.fft(folded) * spec_t)  # corr[tau] = sum_u folded[u + tau] template[u]
    energy = 0.5 * np.fft.ifft(np.fft.fft(folded_power) * spec_t).real
    tau0 = int(np.argmax(np.abs(corr)))
    rho = float(np.abs(corr[tau0]) / max(energy[tau0], 1e-30))
    freq = float(np.angle(corr[tau0]) * scs_hz / (2 * np.pi))
    return CpSync(scs_hz, min(rho, 1.0), tau0, freq, int(cps.sum()) * rows)


def symbol_grid(bb: Baseband, scs_hz: float, *, tau0: int, freq_offset_hz: float = 0.0) -> SymbolGrid:
    """FFT of every whole OFDM symbol of numerology ``scs_hz`` whose half-ms boundaries lie at tau0 + k * 0.5 ms.

    The fractional grid offset ``freq_offset_hz`` (from :func:`cp_sync`) is removed first, so bins fall on
    subcarriers. Each window starts half a normal CP before the useful part (robust to timing error and delay
    spread; the resulting linear phase across bins is the same in every symbol).
    """
    nfft, offsets, cps = half_ms_layout(scs_hz, bb.nf15)
    period = int(round(7.5 * bb.nf15))
    n = bb.x.size
    x = bb.x
    k = np.arange(-1, n // period + 2)
    starts = (tau0 % period + k[:, None] * period + offsets[None, :]).ravel()
    cp = np.tile(cps, k.size)
    index = np.tile(np.arange(offsets.size), k.size)
    advance = int(cps[1] // 2)
    win = starts + cp - advance
    ok = (starts >= 0) & (starts + cp + nfft <= n)
    starts, win, index = starts[ok], win[ok], index[ok]
    frames = x[win[:, None] + np.arange(nfft)[None, :]]  # (S, nfft)
    if freq_offset_hz:  # x[w + m] e^{-j 2 pi f (w + m) / rate}: one phasor per frame times one common vector
        step = -2 * np.pi * freq_offset_hz / bb.rate_hz
        frames *= np.exp(1j * step * win)[:, None].astype(np.complex64)
        frames *= np.exp(1j * step * np.arange(nfft))[None, :].astype(np.complex64)
    y = np.fft.fftshift(scipy.fft.fft(frames, axis=1, workers=1, overwrite_x=True), axes=1)
    f0 = bb.centre_hz + freq_offset_hz - (nfft // 2) * scs_hz
    return SymbolGrid(y, float(scs_hz), float(f0), bb.to_recording_sample(starts), index, bb.sample_rate_hz, advance)


def window_ramp(
    grid: SymbolGrid, a: np.ndarray, b: np.ndarray, bins: np.ndarray, *, symbols: int, long_cps: int = 0
) -> np.ndarray:
    """(O, len(bins)) phase ramps that put the FFT window of each symbol ``b`` where that of symbol ``a`` lies
    relative to its own symbol, for Y[b] Y*[a] products (an SSS against the channel seen on its PSS); ``b`` lies
    ``symbols`` normal symbols and ``long_cps`` long-CP excesses after ``a`` on the air (negative: before).

    The grid gives the long CP (16 kappa Tc longer) to the symbol it takes for the first of each 0.5 ms. When the
    CP correlation put that boundary a symbol off (at low SNR it may), windows on either side of a wrongly
    placed long CP lie the excess apart relative to their symbols (1/128 of a 15 kHz symbol, 1/64 of a 30 kHz
    one): across the subcarriers of a product that is a phase ramp of half a turn over an LTE SSS's 62, one turn
    over a 15 kHz NR SSS's 127 and two at 30 kHz, which costs the SSS its detection (docs/RESULTS.md, session
    36) and which the ramp returned here undoes. All ones (exactly) when the boundaries are right, so nothing
    changes then. A phase common to a row is left in."""
    nfft = grid.y.shape[1]
    nf15 = int(round(nfft * grid.scs_hz / BASE_SCS_HZ))
    _, _, cps = half_ms_layout(grid.scs_hz, nf15)
    normal, excess = nfft + int(cps[1]), int(cps[0] - cps[1])
    window = grid.start_sample * (nf15 * BASE_SCS_HZ / grid.sample_rate_hz) + cps[grid.symbol_in_half_ms]
    slip = np.round(window[b] - window[a] - (symbols * normal + long_cps * excess))  # 0 or +-excess
    return np.exp(-2j * np.pi * slip[:, None] * np.asarray(bins)[None, :] / nfft).astype(np.complex64)


def diff_correlate(y: np.ndarray, patterns: np.ndarray, first: int = 0, count: int | None = None) -> np.ndarray:
    """Differential correlation of every symbol of ``y`` (S, K) with each pattern (P, L) along frequency.

    A pattern is the sequence as mapped on L consecutive subcarriers (zeros where nothing is sent, e.g. LTE's DC).
    Returns float32 (P, S, M): metric[p, s, i] for pattern element 0 at bin m = first + i, i < M = ``count``
    (default: every position, K - L + 1 - first) is |sum_n d[s, m+n] t_p*[n]| / sqrt(sum_n |d[s, m+n]|^2 w_p[n]
    * sum_n |t_p[n]|^2) with d[s, k] = y[s, k+1] y*[s, k], t_p the same products of pattern p and w_p = 1 where
    t_p is not zero. A few positions are correlated directly, many through FFTs along frequency.
    """
    s, k = y.shape
    n_pat, length = patterns.shape
    count = k - length + 1 - first if count is None else count
    if first < 0 or count < 0 or first + count > k - length + 1:
        raise ConfigError(f"cell search: correlation positions [{first}, {first + count}) outside [0, {k - length}]")
    d = y[:, 1:] * np.conj(y[:, :-1])  # (S, K-1)
    t = (patterns[:, 1:] * np.conj(patterns[:, :-1])).astype(np.complex64)  # (P, L-1)
    w = (np.abs(t) > 1e-6).astype(np.float32)
    t_norm = np.sqrt(np.sum(np.abs(t) ** 2, axis=1))  # (P,)
    a = (d.real**2 + d.imag**2).astype(np.float32)  # |d|^2
    out = np.empty((n_pat, s, count), dtype=np.float32)
    if count <= 64:
        win_d = np.lib.stride_tricks.sliding_window_view(d, length - 1, axis=1)[:, first : first + count]
        win_a = np.lib.stride_tricks.sliding_window_view(a, length - 1, axis=1)[:, first : first + count]
        for p in range(n_pat):
            out[p] = np.abs(win_d @ np.conj(t[p])) / (np.sqrt(np.maximum(win_a @ w[p], 1e-30)) * t_norm[p])
        return out
    dpad = np.zeros((s, k), dtype=np.complex64)
    dpad[:, : k - 1] = d
    spec_d = scipy.fft.fft(dpad, axis=1, workers=1, overwrite_x=True)
    # float64: a window's energy is a difference of running sums, and a symbol can hold 60 dB of |d|^2 range
    # (a strong PSS beside empty subcarriers), beyond float32's 7 digits
    csum = np.zeros((s, k), dtype=np.float64)
    np.cumsum(a, axis=1, out=csum[:, 1:])
    tiny = 1e-12 * csum[:, -1:] + 1e-30  # (S, 1): relative floor against rounding
    sl = slice(first, first + count)
    norm = None
    for p in range(n_pat):
        spec_t = np.conj(scipy.fft.fft(t[p], n=k)).astype(np.complex64)
        c = scipy.fft.ifft(spec_d * spec_t, axis=1, workers=1, overwrite_x=True)[:, sl]
        if norm is None or not np.array_equal(w[p], w[p - 1]):  # the window energy, shared by equal supports
            e = csum[:, first + length - 1 : first + length - 1 + count] - csum[:, sl]
            for z in np.flatnonzero(w[p] == 0):  # remove the products the pattern does not weigh
                e -= a[:, first + z : first + z + count]
            np.maximum(e, tiny, out=e)
            norm = (1.0 / np.sqrt(e)).astype(np.float32)
        np.abs(c, out=out[p])
        out[p] *= norm
        out[p] *= np.float32(1.0 / t_norm[p])
    return out
