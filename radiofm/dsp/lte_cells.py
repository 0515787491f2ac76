"""LTE cells in a band: PSS/SSS anywhere in it, each cell's occupied band from its reference signals (CRS).

A spectrogram model sees an idle or lightly loaded LTE cell in pieces (the central six RBs with the sync signals
and PBCH, scheduled RBs), or two adjacent cells as one block. An LTE cell is fully identified by its PSS/SSS,
which sit on the 62 subcarriers around its DC (36.211 §6.11), and its band is fixed by its cell-specific
reference signals (CRS, §6.10.1), sent on every downlink subframe over the whole band, loaded or not. So:

1. :func:`scan_lte_cells` searches the LTE PSS at every DC position of a band (:func:`radiofm.dsp.cellsearch.
   lte_search_baseband`, sub-band by sub-band, each CP-synchronised on its own), keeps a cell only when its SSS is
   confirmed (a PCI) and its CRS show a band (step 2), strongest first.
2. :func:`lte_band_from_crs` correlates the received grid with the cell's port-0 CRS. With the DC known (PSS) and
   the PCI known (SSS), the CRS sequence value at a subcarrier depends only on its distance from the DC, not on
   the cell's bandwidth: r(m') with m' = m + N_RB^max - N_RB (§6.10.1.2), i.e. the CRS element ``j`` RBs from
   the DC (j in [-N_RB, N_RB), two per RB) sits at subcarrier 6 j + (v + v_shift) mod 6 + [j >= 0] from the DC
   and carries r(j + 110). The statistic is the product of neighbouring CRS channel estimates
   z(j + 1) z*(j), z = Y r* (its phase is the channel's phase step over 90 kHz; any common phase of a symbol
   cancels), tested two ways on a few neighbouring pairs: summed coherently over the whole span
   (:func:`crs_z2`, the most sensitive for a static flat channel) and in blocks of a few consecutive CRS symbols
   combined non-coherently (:func:`crs_z`, robust to fading); either passing its threshold marks the CRS
   present. The cell's CRS must show in its central 6 RBs (inside every band); the band is the 36.101 bandwidth
   (6, 15, 25, 50, 75 or 100 RB) whose outermost :data:`EDGE_PAIRS` pairs (4 RB) on both sides are present while
   the as many beyond are absent (neighbouring bandwidths differ by at least 9 RB): the band of an idle cell, at
   in-band SNRs where its spectrum shows no edge. (Tests on 3 pairs, until session 19, missed cells at ~3 dB
   whose channel faded over those 1.5 RB: ``benchmarks/lte_cell_bands.py`` 49 -> 51 of 65 right, no wrong cell.)
   The grid is timed on the cell itself (its frame start from the SSS),
   since neighbouring carriers need not share its timing.

Frame timing (which slot each symbol is, for the CRS sequence of that slot) comes from the SSS
(``frame_start_sample``). Only port 0 is used: its REs exist for 1, 2 and 4 ports, and other ports leave them
empty (§6.10.1.2). TDD uplink subframes carry no CRS: they only add noise to the sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from radiofm.dsp import ofdm_rx
from radiofm.dsp.bandwidth import LTE_N_RB
from radiofm.dsp.cellsearch import LTE_COHERENT_Z_THRESHOLD, lte_search_baseband
from radiofm.dsp.ofdm_rx import SymbolGrid
from radiofm.dsp.sequences import lte_crs
from radiofm.dsp.threads import blas_threads, usable_cores
from radiofm.errors import RadioFMError

N_RB_MAX = 110  # N_RB^max,DL (36.211 §6.10.1.1)
LTE_RBS = tuple(sorted(LTE_N_RB.values()))  # 6 .. 100 RB (36.101 Table 5.6-1)
CRS_Z_THRESHOLD = 6.0  # blockwise CFAR z of an edge test (crs_z); noise and a wrong PCI: about 0 +- 1
CRS_Z2_THRESHOLD = 16.0  # coherent test (crs_z2): on noise P(Gamma(2, 1) >= 16) = 17 e^-16 ~ 2e-6
EDGE_PAIRS = 8  # neighbouring CRS pairs (4 RB) tested at each edge (inside and outside)
BLOCK_SYMBOLS = 8  # CRS symbols of one index summed coherently in crs_z (4 ms)
PSS_HALF_BAND_HZ = 0.6e6  # the PSS occupies +-0.47 MHz around the DC; kept beside a scanned band
MAX_GRID_REFINEMENT_HZ = 2.0e3  # a CP-measured grid offset beyond this is not the cell's (see _cell_grid)
# a sub-band whose every 200 kHz block lies within this of the span's noise floor (ofdm_rx.noise_floor) holds no
# cell's DC and is not searched: 0.3 dB above the quietest 100 kHz block, ~0.1 dB above the floor itself (40 ms of
# noise measures a 200 kHz block to ~0.05 dB). Measured on the annotate_labels captures (session 20): the central
# 1 MHz of every LTE cell at in-band SNR <= 2 dB, idle ones at -4.2..1.9 dB included, stood 0.6-7 dB out.
QUIET_DB = 0.3
# a band running past the capture is fitted on the CRS within +-CRS_REACH x fs of the centre: a receiver's anti-alias
# filter (or a resampler before the file was written) attenuates the outer part of the band (a 10 MHz cell cut by a
# 25 MS/s capture, resampled with scipy's resample_poly, showed its CRS up to 0.93 x fs/2:
# benchmarks/annotate_receivers.py rate25)
CRS_REACH = 0.45
# the retry's CP synchronisation band reaches this far beyond a sub-band (a 20 MHz idle cell at 1.4 dB, 26 ms of 40
# on: synchronised on its DC's 2.4 MHz the PSS pointed 0.34 MHz off and no SSS confirmed it; on 9.6 MHz, PCI found)
RETRY_SYNC_PAD_HZ = 3.6e6
MAX_WORKERS = 4  # threads of one band scan (scan_lte_cells)
SCAN_STEP_HZ = 1.2e6  # DC positions searched per sub-band (each on a grid of 2.4 MHz with its own timing)
HALF_MS_S = 0.5e-3


def crs_offsets(pci: int, symbol: int) -> np.ndarray:
    """Subcarrier offsets from the DC of the port-0 CRS on symbol ``symbol`` (0 or 4) of a slot, for RB-pair
    index j = -110..109 (element j carries r(j + 110)): int64 (220,)."""
    v = 0 if symbol == 0 else 3
    j = np.arange(-N_RB_MAX, N_RB_MAX)
    return 6 * j + (v + pci % 6) % 6 + (j >= 0)


def _slot_of_symbols(grid: SymbolGrid, frame_start_sample: float) -> np.ndarray:
    """Slot number (0..19) of every symbol of ``grid``, from a radio frame start (span samples)."""
    half = HALF_MS_S * grid.sample_rate_hz
    # each symbol's CP start lies in its half millisecond; the long-CP symbol starts on the boundary
    h = np.floor((grid.start_sample - frame_start_sample) / half + 0.05).astype(np.int64)
    return h % 20


def crs_products(
    grid: SymbolGrid, *, dc_hz: float, pci: int, frame_start_sample: float, reach_hz: tuple[float, float] | None = None
) -> tuple:
    """Per CRS symbol index (0, 4): z(j + 1) z*(j) for every symbol of that index, j = -110..108, with z = Y r*
    at the port-0 CRS of the cell (zero where the grid does not reach). Returns ([(R0, 219), (R4, 219)]
    complex64, valid (219,) bool: both elements on the grid, within (219,) bool: valid and both elements inside
    ``reach_hz`` (Hz from the recording centre; ``valid`` itself when None))."""
    k = grid.y.shape[1]
    dc = grid.bin_of(dc_hz)
    slots = _slot_of_symbols(grid, frame_start_sample)
    products = []
    valid = np.ones(2 * N_RB_MAX - 1, bool)
    within = valid.copy()
    for sym in (0, 4):
        rows = np.flatnonzero(grid.symbol_in_half_ms == sym)
        bins = dc + crs_offsets(pci, sym)
        inside = (bins >= 0) & (bins < k)
        valid &= inside[:-1] & inside[1:]
        if reach_hz is not None:
            freqs = grid.f0_hz + bins * grid.scs_hz
            near = (freqs >= reach_hz[0]) & (freqs <= reach_hz[1])
            within &= near[:-1] & near[1:]
        ref = lte_crs(pci, slots[rows], np.full(rows.size, sym))  # (R, 220): all 110 RB, indexed from the DC
        z = grid.y[rows][:, np.clip(bins, 0, k - 1)] * np.conj(ref)
        z[:, ~inside] = 0
        products.append(z[:, 1:] * np.conj(z[:, :-1]))
    return products, valid, valid & within


def crs_z(products: list[np.ndarray], lo: int, hi: int, *, block: int = BLOCK_SYMBOLS) -> float:
    """Blockwise CFAR z of the CRS pairs [lo, hi): each pair's products summed coherently over ``block``
    consecutive CRS symbols of one index, T = sum over pairs and blocks of |sum|^2 / sum |.|^2 (each term
    ~ Exp(1) on noise, up to ``block`` on a strong CRS), z = (T - B) / sqrt(B) for B terms. Robust to fading
    and to a channel that changes across the pairs."""
    total, count = 0.0, 0
    for p in products:
        n = (p.shape[0] // block) * block
        if n == 0:
            continue
        q = p[:n, lo:hi].reshape(n // block, block, hi - lo)
        e = (np.abs(q) ** 2).sum(axis=1)
        ok = e > 0
        total += float((np.abs(q.sum(axis=1))[ok] ** 2 / e[ok]).sum())
        count += int(ok.sum())
    return (total - count) / np.sqrt(count) if count else 0.0


def crs_z2(products: list[np.ndarray], lo: int, hi: int) -> float:
    """Coherent statistic of the CRS pairs [lo, hi): per symbol index |sum over pairs and symbols|^2 / sum |.|^2,
    added over the two indices (~ Gamma(2, 1) on noise). The most sensitive test for a static, flat channel."""
    total = 0.0
    for p in products:
        q = p[:, lo:hi]
        e = float((np.abs(q) ** 2).sum())
        if e > 0:
            total += float(np.abs(q.sum()) ** 2 / e)
    return total


def crs_present(products: list[np.ndarray], lo: int, hi: int) -> tuple[bool, float, float]:
    """(present, z, Z^2) of the CRS pairs [lo, hi): either test passing its threshold (each ~1e-6 on noise)."""
    z, z2 = crs_z(products, lo, hi), crs_z2(products, lo, hi)
    return bool(z >= CRS_Z_THRESHOLD or z2 >= CRS_Z2_THRESHOLD), z, z2


def lte_band_from_crs(
    grid: SymbolGrid, *, dc_hz: float, pci: int, frame_start_sample: float, reach_hz: tuple[float, float] | None = None
) -> dict | None:
    """The occupied band of the LTE cell ``pci`` whose DC is at ``dc_hz``, from its CRS (module docstring), or None.

    ``grid``: a 15 kHz :class:`SymbolGrid` timed on this cell, reaching a few RBs beyond the band;
    ``frame_start_sample``: a radio frame start in the grid's span samples (``lte_search_grid(...)
    ["frame_start_sample"]``). Returns ``n_rb``, ``lower_hz``, ``upper_hz`` (Hz from the recording centre, DC +-
    (90 kHz N_RB + 7.5 kHz)), the weaker inner edge's statistics ``z_inside``, ``z2_inside`` and ``unseen``: the
    side ("lower" or "upper") whose edge was not tested, if any.

    Both edges are looked for on the whole grid first. Where no bandwidth fits there and ``reach_hz`` is given
    (the part of the band a receiver's filter leaves flat), one side's edge may lie beyond the reach: a band is
    symmetric about its DC, so the edge seen on the other side fixes it, as long as the CRS is present on that
    side's inner edge pairs where the reach holds them, else on the last :data:`EDGE_PAIRS` pairs it holds on
    that side. With neither edge seen: None.
    """
    kw = {"dc_hz": dc_hz, "pci": pci, "frame_start_sample": frame_start_sample, "reach_hz": reach_hz}
    products, valid, within = crs_products(grid, **kw)
    centre = _crs_test(products, valid, -6, 5)  # the central 6 RBs: inside every LTE band
    if centre is None or not centre[0]:
        return None
    band = _fit_band(products, valid, dc_hz, cut_ok=False)
    if band is None and reach_hz is not None:
        band = _fit_band(products, within, dc_hz, cut_ok=True)
    return band


def _crs_test(products: list[np.ndarray], valid: np.ndarray, j0: int, j1: int) -> tuple[bool, float, float] | None:
    """:func:`crs_present` of the pairs whose lower element j is in [j0, j1), or None where one is not ``valid``."""
    a, b = j0 + N_RB_MAX, j1 + N_RB_MAX  # pair index of j = 0 is N_RB_MAX (pair p joins elements p - 110, p - 109)
    if a < 0 or b > valid.size or not valid[a:b].all():
        return None
    return crs_present(products, a, b)


def _fit_band(products: list[np.ndarray], valid: np.ndarray, dc_hz: float, *, cut_ok: bool) -> dict | None:
    """The widest 36.101 bandwidth whose edges the CRS show (:func:`lte_band_from_crs`) among the ``valid`` pairs;
    with ``cut_ok``, one side may run past them."""
    held = np.flatnonzero(valid) - N_RB_MAX  # lower elements j of the pairs held
    if held.size == 0:  # the whole grid beyond the reach (a DC near the edge of a very wide capture)
        return None
    lowest, highest = int(held.min()), int(held.max())

    def edge(inner, outer, last) -> tuple[bool | None, tuple | None]:
        """(True: the band ends here; False: it does not; None: the pairs end first, the CRS present up to their
        end), and the inner test's (present, z, Z^2) where held."""
        a, b = _crs_test(products, valid, *inner), _crs_test(products, valid, *outer)
        if a is not None and b is not None:
            return a[0] and not b[0], a
        if not cut_ok:
            return False, a
        run = a if a is not None else _crs_test(products, valid, *last)
        return (None if run is not None and run[0] else False), a

    best, e = None, EDGE_PAIRS
    for n_rb in LTE_RBS:
        low = edge((-n_rb, -n_rb + e), (-n_rb - 1 - e, -n_rb - 1), (lowest, lowest + e))
        high = edge((n_rb - 1 - e, n_rb - 1), (n_rb, n_rb + e), (highest + 1 - e, highest + 1))
        ends = (low[0], high[0])
        if False in ends or True not in ends:
            continue
        inner = [v for _, v in (low, high) if v is not None]
        half = 90e3 * n_rb + 7.5e3
        unseen = tuple(side for side, end in zip(("lower", "upper"), ends, strict=True) if end is None)
        best = {"n_rb": n_rb, "lower_hz": dc_hz - half, "upper_hz": dc_hz + half, "unseen": unseen,
                "z_inside": min(v[1] for v in inner), "z2_inside": min(v[2] for v in inner)}  # fmt: skip
    return best


def _search(x: np.ndarray, fs: float, lo: float, hi: float, spectrum: np.ndarray) -> dict | None:
    """:func:`lte_search_baseband` for DCs in [lo, hi] on a 15 kHz grid of the band plus the PSS's half width, CP-
    synchronised on that band alone; None when the band or the span is too short. Where a PSS stands out (coherent
    z >= its threshold) but no SSS confirms it, the search runs again CP-synchronised on the band plus
    :data:`RETRY_SYNC_PAD_HZ` each side: the CP correlation of a weak idle cell's few central RBs (mostly CRS) can
    miss its symbol timing, and a wrong timing puts the DC on a PSS alias the SSS does not confirm."""
    hit = _search_synced(x, fs, lo, hi, spectrum, PSS_HALF_BAND_HZ)
    if hit is not None and hit.get("pci") is None and hit.get("z", 0.0) >= LTE_COHERENT_Z_THRESHOLD:
        wide = _search_synced(x, fs, lo, hi, spectrum, RETRY_SYNC_PAD_HZ)
        if wide is not None and wide.get("pci") is not None:
            return wide | {"sync_band": "wide"}
    return hit


def _search_synced(x: np.ndarray, fs: float, lo: float, hi: float, spectrum: np.ndarray, pad_hz: float) -> dict | None:
    """One :func:`_search`: DCs in [lo, hi], the grid and its CP synchronisation on [lo - pad_hz, hi + pad_hz]."""
    lower_hz, upper_hz = max(lo - pad_hz, -0.49 * fs), min(hi + pad_hz, 0.49 * fs)
    if upper_hz - lower_hz < 2 * PSS_HALF_BAND_HZ:
        return None
    centre = 0.5 * (lower_hz + upper_hz)
    bb = ofdm_rx.extract_band(x, fs, centre_hz=centre, lower_hz=lower_hz, upper_hz=upper_hz, spectrum=spectrum)
    try:
        sync = ofdm_rx.cp_sync(bb, 15e3)
    except RadioFMError:  # span shorter than 0.5 ms at this rate
        return None
    kw = {"tau0": sync.tau0, "freq_offset_hz": sync.freq_offset_hz}
    hit, _ = lte_search_baseband(bb, center_hz=0.5 * (lo + hi), max_offset_hz=0.5 * (hi - lo), beyond=True, **kw)
    return hit  # a grid of fewer than 2 symbols: not detected (lte_search_grid)


def _cell_grid(x: np.ndarray, fs: float, dc_hz: float, frame_start_sample: float, spectrum: np.ndarray):
    """15 kHz grid of ``x`` around an LTE DC, wide enough for a 20 MHz cell and timed on that cell: symbol timing
    from its frame start (its PSS/SSS); a neighbour in the wide band may have other timing. The DC comes from the
    PSS search to within ~1.3 kHz (:func:`radiofm.dsp.cellsearch.lte_search_baseband`); the CP correlation of
    the cell's central 1.2 MHz (sync signals, PBCH and CRS: always sent) refines the grid's offset when it
    agrees (|offset| <= :data:`MAX_GRID_REFINEMENT_HZ`); further off it measured something else (a neighbour's
    leakage, an IQ image) and is not used."""
    half = 90e3 * (LTE_RBS[-1] + EDGE_PAIRS + 2) + 60e3
    lower, upper = max(dc_hz - half, -0.49 * fs), min(dc_hz + half, 0.49 * fs)
    if upper - dc_hz < PSS_HALF_BAND_HZ or dc_hz - lower < PSS_HALF_BAND_HZ:
        return None
    kw = {"centre_hz": dc_hz, "spectrum": spectrum}
    narrow = ofdm_rx.extract_band(x, fs, lower_hz=dc_hz - PSS_HALF_BAND_HZ, upper_hz=dc_hz + PSS_HALF_BAND_HZ, **kw)
    wide = ofdm_rx.extract_band(x, fs, lower_hz=lower, upper_hz=upper, **kw)
    try:
        sync = ofdm_rx.cp_sync(narrow, 15e3)
    except RadioFMError:  # span shorter than 0.5 ms
        return None
    period = int(round(7.5 * wide.nf15))  # samples per 0.5 ms at the wide rate
    tau0 = int(round(frame_start_sample * wide.rate_hz / fs)) % period
    offset = sync.freq_offset_hz if abs(sync.freq_offset_hz) <= MAX_GRID_REFINEMENT_HZ else 0.0
    grid = ofdm_rx.symbol_grid(wide, 15e3, tau0=tau0, freq_offset_hz=offset)
    return grid if grid.y.shape[0] >= 2 * BLOCK_SYMBOLS else None


def _confirmed(hit: dict | None) -> bool:
    """A sub-band search's hit with its PSS detected and its SSS confirmed (a PCI)."""
    return hit is not None and bool(hit.get("detected")) and hit.get("pci") is not None


def cell_band(x: np.ndarray, fs: float, *, dc_hz: float, pci: int, frame_start_sample: float, spectrum=None):
    """:func:`lte_band_from_crs` of the cell ``pci`` with its DC at ``dc_hz`` in the span ``x``, or None; a band
    running past the span is fitted within :data:`CRS_REACH` of it (a receiver's filter rolls off beyond)."""
    spectrum = ofdm_rx.span_spectrum(x) if spectrum is None else spectrum
    grid = _cell_grid(x, fs, dc_hz, frame_start_sample, spectrum)
    if grid is None:
        return None
    reach = (-CRS_REACH * fs, CRS_REACH * fs)
    return lte_band_from_crs(grid, dc_hz=dc_hz, pci=pci, frame_start_sample=frame_start_sample, reach_hz=reach)


def scan_lte_cells(
    x: np.ndarray,
    fs: float,
    *,
    lower_hz: float,
    upper_hz: float,
    max_cells: int = 4,
    spectrum: np.ndarray | None = None,
    floor: float | None = None,
    workers: int | None = None,
    occupied: Sequence[tuple[float, float]] = (),
    known_dc_hz: float | None = None,
) -> list[dict]:
    """LTE cells whose DC lies in [lower_hz, upper_hz] (Hz from the centre of the span ``x`` at ``fs``).

    The band is searched in sub-bands of :data:`SCAN_STEP_HZ` (each DC position once), each on its own 15 kHz
    grid of the sub-band plus the PSS's half width, CP-synchronised on that sub-band alone: neighbouring
    carriers need not share a cell's timing, and the sub-band around a cell's DC is the cell's own. A PSS
    counts only with a confirmed SSS (a PCI) and a CRS band (:func:`cell_band`); the strongest cells are kept
    first and a detection inside a kept cell's band is dropped. Each cell: ``pci``, ``dc_hz``, ``z`` (PSS CFAR
    z), ``sss_z``, ``duplex``, ``frame_start_sample`` and the band (``n_rb``, ``lower_hz``, ``upper_hz``,
    ``z_inside``, ``z2_inside``, ``unseen``: the side whose edge was not tested, ``cut``: the side where the band
    runs past the span's, which ends it there).
    Sub-bands holding only noise (:data:`QUIET_DB`) are skipped, and so is every sub-band lying wholly inside one of
    the ``occupied`` bands (Hz, the measured bands of cells already identified over these samples: no other cell's
    DC lies inside a cell's band); the others are the same sub-bands, searched the same way, as without them.
    ``known_dc_hz``: the DC of a cell another search found here (its PSS and SSS): the sub-bands whose grid holds
    it are searched first and, when they confirm a cell whose CRS show a band, the other sub-bands wholly inside
    the band of the strongest are not searched (for the same reason): the cells are those of the whole search
    unless a sub-band inside that band would have found a detection stronger than the cell's own.
    ``spectrum`` / ``floor``: the span's
    :func:`ofdm_rx.span_spectrum` / :func:`ofdm_rx.noise_floor` when already computed.
    ``workers``: threads the sub-bands are searched on (None: the usable cores, at most :data:`MAX_WORKERS`; the
    result does not depend on it). Cost: ~50 ms per sub-band searched on one core for 20 ms of samples."""
    spectrum = ofdm_rx.span_spectrum(x) if spectrum is None else spectrum
    floor = ofdm_rx.noise_floor(spectrum, fs) if floor is None else floor
    quiet = floor * 10 ** (QUIET_DB / 10)
    bands = []
    for lo in np.arange(lower_hz, upper_hz, SCAN_STEP_HZ):
        hi = min(lo + SCAN_STEP_HZ, upper_hz)
        if any(a <= lo and hi <= b for a, b in occupied):
            continue  # inside a cell already identified
        if ofdm_rx.block_powers(spectrum, fs, lo, hi, 200e3).max() < quiet:
            continue  # noise only where the DC would be: no cell (its central 6 RB are always sent)
        bands.append((lo, hi))
    bands_of: dict[int, dict | None] = {}  # id(hit) -> its cell's CRS band (cell_band), computed once

    def band_of(hit: dict) -> dict | None:
        if id(hit) not in bands_of:
            bands_of[id(hit)] = cell_band(x, fs, dc_hz=float(hit["center_hz"]), pci=hit["pci"],
                                          frame_start_sample=hit["frame_start_sample"], spectrum=spectrum)  # fmt: skip
        return bands_of[id(hit)]

    def searched(some: list[tuple[float, float]]) -> list[dict | None]:
        n = min(len(some), min(usable_cores(), MAX_WORKERS) if workers is None else workers)
        if n > 1:  # sub-bands are independent: one per thread, each product on one BLAS thread (numpy frees the GIL)
            with blas_threads(1), ThreadPoolExecutor(n, thread_name_prefix="radiofm-lte-scan") as pool:
                return list(pool.map(lambda b: _search(x, fs, b[0], b[1], spectrum), some))
        return [_search(x, fs, lo, hi, spectrum) for lo, hi in some]

    hits = []
    if known_dc_hz is not None:  # first the sub-bands whose grid holds the known DC (each may find the cell)
        first = [b for b in bands if b[0] - PSS_HALF_BAND_HZ <= known_dc_hz <= b[1] + PSS_HALF_BAND_HZ]
        hits = searched(first)
        bands = [b for b in bands if b not in first]
        strongest = sorted((h for h in hits if _confirmed(h)), key=lambda h: -h["z"])
        band = next((band_of(h) for h in strongest if band_of(h) is not None), None)
        if band is not None:  # then only the sub-bands outside its band: no other cell's DC lies inside it
            bands = [b for b in bands if not (band["lower_hz"] <= b[0] and b[1] <= band["upper_hz"])]
    hits += searched(bands)
    found = [h for h in hits if _confirmed(h)]
    cells: list[dict] = []
    for hit in sorted(found, key=lambda h: -h["z"]):
        dc = float(hit["center_hz"])
        if len(cells) >= max_cells or any(c["lower_hz"] <= dc <= c["upper_hz"] for c in cells):
            continue
        band = band_of(hit)
        if band is None:
            continue
        band = dict(band)
        cut = tuple(side for side in band["unseen"] if abs(band[f"{side}_hz"]) > 0.5 * fs)
        band |= {"lower_hz": max(band["lower_hz"], -0.5 * fs), "upper_hz": min(band["upper_hz"], 0.5 * fs), "cut": cut}
        cells.append(
            {"pci": int(hit["pci"]), "dc_hz": dc, "z": float(hit["z"]), "sss_z": float(hit["sss_z"]),
             "duplex": hit.get("duplex"), "frame_start_sample": int(hit["frame_start_sample"])} | band
        )  # fmt: skip
    return sorted(cells, key=lambda c: c["dc_hz"])
