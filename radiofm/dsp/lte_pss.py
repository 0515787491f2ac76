"""The coherent LTE PSS statistic of :func:`radiofm.dsp.cellsearch.lte_search_grid`: each PSS correlated on the
received grid at every DC and every residual timing (lag), and the DC candidates the SSS then decides between.

A slide of the pattern by d bins looks, coherently, like a timing offset of d u / 63 symbols modulo one (the
Zadoff-Chu time-frequency coupling); for d u = +-1 or +-2 (mod 63) that is 1-2 us of delay, inside the lags
searched, so the statistic also stands out at those aliases of the DC (:data:`ZC_ALIAS_BINS`).
"""

from __future__ import annotations

import functools

import numpy as np

from radiofm.dsp.ofdm_rx import SymbolGrid
from radiofm.dsp.sequences import lte_pss

# coherent LTE PSS: residual timing searched over +- LAG_REACH of the useful symbol (+-8.3 us: a CP correlation
# that a neighbour's leakage or an IQ image pulled off the cell's timing; 2.5 us did not cover what we saw), in
# steps of LAG_STEP of it (the phase ramp across the PSS's 63 bins moves by 3 rad per step: <= 0.5 dB lost)
LAG_REACH = 0.125
LAG_STEP = 0.0075
COHERENT_BLOCK = 1 << 18  # correlations per block of symbols in coherent_metric (2 MiB of complex64)


@functools.cache
def lte_patterns() -> np.ndarray:
    """The three LTE PSS mapped on 63 subcarriers around DC (index 31 = DC, empty): complex64 (3, 63)."""
    out = np.zeros((3, 63), dtype=np.complex64)
    for n2 in range(3):
        out[n2, np.r_[0:31, 32:63]] = lte_pss(n2)
    return out


@functools.cache
def lag_steering(nfft: int, advance: int, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Lags (+-``reach`` nfft samples at nfft * 15 kHz) and the matrix (63, 3 L) correlating a 63-bin window with
    each LTE PSS at each lag: conj(PSS) times the phase ramp of a window starting ``advance`` + lag samples early."""
    k = np.arange(63)
    lags = np.linspace(-reach * nfft, reach * nfft, 2 * int(round(reach / LAG_STEP)) + 1)
    ramp = np.exp(2j * np.pi * np.outer(k, lags + advance) / nfft)  # (63, L)
    steer = np.conj(lte_patterns())[:, :, None] * ramp[None]  # (3, 63, L)
    return lags, np.ascontiguousarray(steer.transpose(1, 0, 2).reshape(63, -1)).astype(np.complex64)


def coherent_metric(y: np.ndarray, advance: int, dcs: np.ndarray, reach: float) -> np.ndarray:
    """Coherent PSS metric float32 (3, L, S, D) of the grid rows ``y`` (S, nfft) whose windows start ``advance``
    samples early: |sum_k Y[s, d-31+k] conj(P_r[k]) ramp_l[k]|^2 / (62 sum_k |Y|^2) (DC bin d left out).

    In [0, 1] (Cauchy-Schwarz), about 1 / 62 for noise; for a PSS at SNR r per subcarrier, 62 r / (1 + r) times
    larger than noise when the timing is within the lags searched (a flat channel over the PSS's 0.93 MHz).
    """
    _, steer = lag_steering(y.shape[1], advance, reach)
    view = np.lib.stride_tricks.sliding_window_view(y, 63, axis=1)  # (S, K - 62, 63), no copy
    consecutive = dcs.size > 1 and np.all(np.diff(dcs) == 1)  # a search range: one copy of a slice per block
    s, d = y.shape[0], dcs.size
    energy = y.real**2 + y.imag**2
    cum = np.concatenate([np.zeros((s, 1), np.float64), np.cumsum(energy, axis=1, dtype=np.float64)], axis=1)
    window_energy = cum[:, dcs + 32] - cum[:, dcs - 31] - energy[:, dcs]  # (S, D): the 62 PSS bins
    norm = (62 * np.maximum(window_energy, 1e-30)).astype(np.float32)
    power = np.empty((s, d, steer.shape[1]), np.float32)
    # a block of symbols at a time, so the correlations (8 bytes each) stay in the cache between the product and
    # the squares: the whole (S D, 3 L) at once went to memory and back, and two searches side by side then
    # waited on it. On OpenBLAS's Haswell kernels each row's product has the same bits whatever the block, as long as
    # no block's product has a single row (a matrix-vector one); its AVX-512 kernels may sum a row in another order
    # (float32 rounding apart; the test checks the sums). Either way the blocks follow from the shapes alone, so the
    # same input gives the same bits on one machine
    rows = max(2 if d == 1 else 1, COHERENT_BLOCK // max(d * steer.shape[1], 1))
    starts = list(range(0, s, rows))
    if len(starts) > 1 and (s - starts[-1]) * d < 2:  # a one-row product is a matrix-vector one (other bits):
        starts.pop()  # the last symbol joins the block before
    for i, j in zip(starts, starts[1:] + [s]):
        block = view[i:j]
        # consecutive DCs: one copy of a slice; a few chosen DCs: a gather (not C-ordered: the reshape copies)
        windows = np.ascontiguousarray(block[:, dcs[0] - 31 : dcs[-1] - 30]) if consecutive else block[:, dcs - 31]
        n = windows.shape[0]
        corr = windows.reshape(n * d, 63) @ steer  # (n D, 3 L)
        pairs = corr.view(np.float32)  # re, im interleaved: squared in place, then each pair summed (the very bits
        np.square(pairs, out=pairs)  # of corr.real**2 + corr.imag**2, without its two temporaries)
        np.add(pairs[:, 0::2], pairs[:, 1::2], out=power[i : i + n].reshape(n * d, -1))
        power[i : i + n] /= norm[i : i + n, :, None]
    return power.reshape(s, d, 3, -1).transpose(2, 3, 0, 1)


ZC_ALIAS_BINS = {0: (5, 10), 1: (13, 26), 2: (13, 26)}  # d with d u = +-1, +-2 (mod 63): u = 25, 29, 34


def alias_candidates(
    grid: SymbolGrid, occ: np.ndarray, n_id2: int, best: int, dcs: np.ndarray, lag_reach: float
) -> list[tuple[int, float]]:
    """[(bin, lag)] of the DCs ``ZC_ALIAS_BINS`` away from the best coherent candidate ``best`` that lie outside
    ``dcs`` but inside the grid, each at its best lag (see :func:`dc_candidates`: a PSS slid by one of these
    distances passes for 1-2 us of delay, so the alias can stand out where the true DC lies just outside)."""
    k = grid.y.shape[1]
    bins = sorted({best + s * d for d in ZC_ALIAS_BINS[n_id2] for s in (-1, 1)} - set(dcs.tolist()))
    bins = np.array([b for b in bins if 31 <= b <= k - 32], dtype=np.int64)
    if bins.size == 0:
        return []
    values = coherent_metric(grid.y[occ], grid.advance, bins, lag_reach)[n_id2].sum(axis=1)  # (L, E)
    lags, _ = lag_steering(k, grid.advance, lag_reach)
    return [(int(b), float(lags[np.argmax(values[:, i])])) for i, b in enumerate(bins)]


def dc_candidates(values: np.ndarray, dcs: np.ndarray, lags: np.ndarray, keep: int = 4) -> list:
    """The DC bins among ``dcs`` where the PSS correlates best coherently, each with its best lag: [(bin, lag)].

    The differential products of a Zadoff-Chu sequence are a pure tone, so the differential metric barely changes
    when the pattern slides by a few bins. Coherently, a slide by d bins looks like a timing offset of d u / 63
    symbols modulo one (the ZC time-frequency coupling): far outside the timing uncertainty, except for the
    slides with d u = +-1 or +-2 (mod 63) (d = +-5, +-10 for u = 25; +-13, +-26 for u = 29, 34), which pass for
    1-2 us of delay. ``values`` (L, D) is the coherent metric (:func:`coherent_metric`, N_ID2 chosen) summed over
    the PSS symbols, for every lag of ``lags`` (residual timing: CP-sync error, channel delay) and every DC; the
    ``keep`` best local maxima over DCs (>= 0.6 of the best) are returned, best first, for the SSS to decide (with
    a wide lag range more slides pass, so the SSS decides more often).
    """
    best_lag = lags[np.argmax(values, axis=0)]
    values = values.max(axis=0)
    padded = np.r_[-np.inf, values, -np.inf]
    peaks = np.flatnonzero((values >= padded[:-2]) & (values >= padded[2:]) & (values >= 0.6 * values.max()))
    order = peaks[np.argsort(-values[peaks])][:keep]
    return [(int(dcs[i]), float(best_lag[i])) for i in order]
