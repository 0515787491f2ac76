"""An NR cell's CORESET seen in the power of its slots' first symbols: RBs of the carrier that carry no PDSCH.

PDCCH is sent in a CORESET on the first 1-3 symbols of a slot (38.211 §7.3.2.2), over RBs that PDSCH may leave
empty: a lightly loaded cell's scheduled RBs and SSB cover part of its carrier, its control region more (the
MATLAB example's helper puts CORESET 0 over the whole band, and a scheduler moves its PDCCHs around the CORESET
from slot to slot). Averaged over the whole span, that power is a few per cent of the noise and no energy walk
sees it; averaged over the cell's own slot starts only, it stands several standard deviations clear. It is the
cell's own: a carrier on another clock spreads its power evenly over our slot's symbols.

:func:`coreset_contrast`: on a symbol grid timed on the cell (its PSS), the mean power per bin of the two
symbols starting each slot minus that of symbols 4-13, at the slot timing (one of 14 symbol offsets) where this
contrast is largest over the bins known to be the cell's; per RB a z-score against the contrast's own noise.
:func:`walk_up`: how far RBs whose contrast stands clear (over a window of :data:`WINDOW_RB` RBs) continue above
the cell's known RBs. :func:`radiofm.dsp.nr_cells.nr_cell_band` uses it for the upper edge of a cell whose DMRS
gave point A (its lower edge), which the narrowest 38.101-1 bandwidth holding every RB seen then rounds up.

Not used for cells without point A: there, nothing bounds the walk from below, and on captures of our generator
(every carrier on one slot clock, as in a synchronised network) it stopped inside a lightly used CORESET or ran
on across the gap to a neighbour's (docs/RESULTS.md, session 58).
"""

from __future__ import annotations

import numpy as np

from radiofm.dsp.ofdm_rx import SymbolGrid

SLOT_SYMBOLS = 14
CONTROL_SYMBOLS = 2  # the symbols compared: a CORESET has 1-3, the first two are its commonest (38.331)
QUIET_FROM = 4  # symbols 4..13: past every CORESET and the PDSCH DMRS at 2-3
WINDOW_RB = 6  # RBs tested together (one CORESET REG group of 6 RBs)
Z_THRESHOLD = 6.0  # window z to extend a band (one-sided Gaussian: ~1e-9 per window on noise)
# and its mean contrast against the strongest window of the cell's known RBs: a strong carrier's spectral leakage
# beside its edge is significant but a few per cent of its own
RELATIVE_THRESHOLD = 0.1
MAX_DIP_RB = WINDOW_RB  # windows under the relative threshold that the walk may cross (see walk_up)


def coreset_contrast(
    grid: SymbolGrid, core_bins: tuple[int, int], slot_symbol: np.ndarray | None = None
) -> dict | None:
    """Per-bin contrast of slot-start power on ``grid`` (the cell's numerology, windows on its symbols) and its
    per-bin standard deviation under noise. ``slot_symbol``: each grid symbol's index in its slot (0-13), known
    from the cell's DMRS (:func:`radiofm.dsp.nr_cells.nr_dmrs_search`'s ``slot_symbol``); None: the slot offset
    where the contrast is largest over ``core_bins`` [lo, hi) (the cell's known bins). The second is wrong for a
    cell whose PDSCH fills most of its known RBs and whose PDCCHs are few: there the first symbols of a slot hold
    less power than the PDSCH's, and the largest contrast falls on another offset (a 160-RB cell at 2 dB then
    showed its CORESET as negative, docs/RESULTS.md, session 60). None when the grid holds fewer than two slots or
    the core is empty."""
    p = (grid.y.real**2 + grid.y.imag**2).astype(np.float64)
    n_slots = p.shape[0] // SLOT_SYMBOLS - 1  # every offset gets the same whole slots
    lo, hi = max(core_bins[0], 0), min(core_bins[1], p.shape[1])
    if n_slots < 2 or hi <= lo:
        return None
    if slot_symbol is not None:
        control, quiet = p[slot_symbol < CONTROL_SYMBOLS], p[slot_symbol >= QUIET_FROM]
        if len(control) < 2 or len(quiet) < 2:
            return None
        c = control.mean(0) - quiet.mean(0)
        sd = p.mean(0) * np.sqrt(1.0 / len(control) + 1.0 / len(quiet))
        return {"contrast": c, "sd": sd, "slot_offset": None, "slots": int(n_slots)}
    best = None
    for r0 in range(SLOT_SYMBOLS):
        q = p[r0 : r0 + n_slots * SLOT_SYMBOLS].reshape(n_slots, SLOT_SYMBOLS, -1).mean(0)  # (14, K)
        c = q[:CONTROL_SYMBOLS].mean(0) - q[QUIET_FROM:].mean(0)
        score = float(c[lo:hi].sum())
        if best is None or score > best[0]:
            best = (score, r0, c, q.mean(0))
    _, r0, c, level = best
    # a bin of noise-like power P: the two means' variances P^2 / count
    count_ctl, count_quiet = CONTROL_SYMBOLS * n_slots, (SLOT_SYMBOLS - QUIET_FROM) * n_slots
    sd = level * np.sqrt(1.0 / count_ctl + 1.0 / count_quiet)
    return {"contrast": c, "sd": sd, "slot_offset": int(r0), "slots": int(n_slots)}


def rb_windows(found: dict, first_bin: int, n_rb: int) -> tuple[np.ndarray, np.ndarray]:
    """Per RB i (bins first_bin + 12 i ..): the window of it and the next :data:`WINDOW_RB` - 1 RBs, as (z-score,
    mean contrast per bin), float (n_rb,) each; bins outside the grid count as nothing (z 0)."""
    c, sd = found["contrast"], found["sd"]
    k = c.size
    bins = first_bin + np.arange(12 * (n_rb + WINDOW_RB))
    ok = (bins >= 0) & (bins < k)
    cs = np.where(ok, c[np.clip(bins, 0, k - 1)], 0.0).reshape(-1, 12).sum(1)
    vs = np.where(ok, sd[np.clip(bins, 0, k - 1)] ** 2, 0.0).reshape(-1, 12).sum(1)
    ns = ok.reshape(-1, 12).sum(1)
    wc, wv, wn = (np.convolve(v, np.ones(WINDOW_RB), "valid")[:n_rb] for v in (cs, vs, ns))
    z = np.where(wv > 0, wc / np.sqrt(np.maximum(wv, 1e-300)), 0.0)
    return z, np.where(wn > 0, wc / np.maximum(wn, 1), 0.0)


def walk_up(z: np.ndarray, mean: np.ndarray, top: int) -> int:
    """The highest RB reached from RB ``top`` upwards while the window starting just above stands clear: z >=
    :data:`Z_THRESHOLD` and a mean contrast of at least :data:`RELATIVE_THRESHOLD` of the strongest window
    among RBs 0..``top`` (``z``, ``mean``: :func:`rb_windows` from point A). A band's last few RBs, where the
    window holds more beyond the edge than inside, stay out: the result is a lower bound.

    The walk crosses a dip of at most :data:`MAX_DIP_RB` windows whose contrast is under the relative threshold
    but whose z still stands clear, when a window above it passes both tests again. A scheduler places few PDCCHs
    on some RBs of a lightly loaded CORESET, and there the contrast dips below a tenth of the strongest window's
    and rises again above (a 216-RB CORESET stopped the walk at RB 149, docs/RESULTS.md, session 60). A strong
    carrier's leakage beside its edge falls away from it and does not rise again, and a gap between two carriers
    wider than a window holds windows of noise (z under the threshold), which end the walk."""
    ref = float(mean[: max(top - WINDOW_RB + 2, 1)].max(initial=0.0))
    if ref <= 0:
        return top
    hi = i = top
    while i + 1 < z.size and z[i + 1] >= Z_THRESHOLD:
        i += 1
        if mean[i] >= RELATIVE_THRESHOLD * ref:
            hi = i
        elif i - hi > MAX_DIP_RB:
            break
    return hi
