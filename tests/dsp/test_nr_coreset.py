"""dsp.nr_coreset: a cell's control region from the power of its slots' first symbols."""

from __future__ import annotations

import numpy as np

from radiofm.dsp import nr_coreset
from radiofm.dsp.ofdm_rx import SymbolGrid

K, SLOTS = 1200, 40


def _grid(*, shift: int, control: tuple[int, int], level: float, use: float, extra=(), seed: int = 0) -> SymbolGrid:
    """Unit noise on K bins over SLOTS slots of 14 symbols, the grid starting ``shift`` symbols into a slot; QPSK of
    power ``level`` on the first two symbols of a slot over bins ``control`` in a share ``use`` of the slots, and
    each (lo, hi, power) of ``extra`` on every symbol (a carrier on another clock)."""
    rng = np.random.default_rng(seed)
    n = SLOTS * 14
    y = (rng.standard_normal((n, K)) + 1j * rng.standard_normal((n, K))).astype(np.complex64) / np.sqrt(2)
    phase = np.exp(2j * np.pi * rng.random((n, K)))
    for i in range(n):
        u = i + shift
        if u % 14 < 2 and rng.random() < use:
            y[i, control[0] : control[1]] += np.sqrt(level) * phase[i, control[0] : control[1]]
    for lo, hi, power in extra:
        y[:, lo:hi] += (np.sqrt(power) * phase[:, lo:hi]).astype(np.complex64)
    return SymbolGrid(y, 30e3, 0.0, np.arange(n) * 1.0, np.zeros(n, np.int64), 61.44e6, 0)


def test_the_slot_offset_and_how_far_the_control_region_runs():
    """A control region over bins 120..840 (RBs 10..69 from bin 0) at 1.5x the noise in a quarter of the slots: the
    slot start is found from the known RBs 10..19 and the walk from RB 19 stops within one window of RB 69."""
    grid = _grid(shift=5, control=(120, 840), level=1.5, use=0.25)
    found = nr_coreset.coreset_contrast(grid, (120, 240))
    assert found is not None and found["slot_offset"] == 14 - 5
    top = nr_coreset.walk_up(*nr_coreset.rb_windows(found, 0, 100), 19)
    assert 69 - nr_coreset.WINDOW_RB < top <= 69


def test_noise_a_carrier_on_another_clock_and_leakage_do_not_extend_a_band():
    """Above the control region: a gap, then a strong carrier on every symbol (no contrast on our slots); a weak
    control-like contrast right above the edge (2 % of the region's: a strong carrier's leakage) stops the walk."""
    grid = _grid(shift=0, control=(120, 600), level=20.0, use=0.5, extra=((720, 1100, 30.0),))
    found = nr_coreset.coreset_contrast(grid, (120, 240))
    top = nr_coreset.walk_up(*nr_coreset.rb_windows(found, 0, 100), 19)
    assert 49 - nr_coreset.WINDOW_RB < top <= 49
    leaky = _grid(shift=0, control=(120, 600), level=50.0, use=1.0)
    leaky.y[0::14, 600:700] += np.complex64(1.0)  # 1 on the slot-start symbol: 1/50 of the region's contrast...
    leaky.y[1::14, 600:700] += np.complex64(1.0)  # ...but, over 40 slots and 100 bins, far above the noise's
    found = nr_coreset.coreset_contrast(leaky, (120, 240))
    z, mean = nr_coreset.rb_windows(found, 0, 100)
    assert z[50] >= nr_coreset.Z_THRESHOLD  # significant, yet a few per cent of the cell's own
    assert nr_coreset.walk_up(z, mean, 19) <= 49
    noise = _grid(shift=0, control=(0, 0), level=0.0, use=0.0)
    found = nr_coreset.coreset_contrast(noise, (120, 240))
    assert nr_coreset.walk_up(*nr_coreset.rb_windows(found, 0, 100), 19) == 19


def _dipped(dip: tuple[int, int], dip_level: float, *, seed: int = 0) -> SymbolGrid:
    """A control region over bins 120..840 at 20x the noise on every slot start, except bins ``dip``, where the
    scheduler's PDCCHs give ``dip_level`` only."""
    grid = _grid(shift=0, control=(120, 840), level=20.0, use=1.0, seed=seed)
    y = grid.y
    lo, hi = dip
    rng = np.random.default_rng(seed + 1)
    for s in range(0, y.shape[0], 14):
        for i in (s, s + 1):
            noise = (rng.standard_normal(hi - lo) + 1j * rng.standard_normal(hi - lo)) / np.sqrt(2)
            y[i, lo:hi] = (noise + np.sqrt(dip_level) * np.exp(2j * np.pi * rng.random(hi - lo))).astype(np.complex64)
    return grid


def test_the_walk_crosses_a_short_dip_of_a_lightly_used_coreset():
    """A 216-RB CORESET stopped the walk at RB 149 of a 40 MHz cell (session 60): on a few RBs the scheduler put
    few PDCCHs, and their contrast fell under a tenth of the strongest window's while still far above the noise.
    A dip of 10 RBs (5 windows under the threshold) is crossed and the walk ends within a window of RB 69; a tail
    under a tenth that never rises again (a strong cell's leakage, a weakly used top) is not."""
    grid = _dipped((480, 600), 0.6)  # RBs 40..49 at 3 % of the region's contrast
    found = nr_coreset.coreset_contrast(grid, (120, 240))
    z, mean = nr_coreset.rb_windows(found, 0, 100)
    ref = mean[:15].max()
    assert (mean[40:45] < nr_coreset.RELATIVE_THRESHOLD * ref).all() and (z[40:45] >= nr_coreset.Z_THRESHOLD).all()
    assert 69 - nr_coreset.WINDOW_RB < nr_coreset.walk_up(z, mean, 19) <= 69
    tail = _dipped((480, 840), 0.6)  # RBs 40..69 all weak: the band ends where the strong part does
    found = nr_coreset.coreset_contrast(tail, (120, 240))
    z, mean = nr_coreset.rb_windows(found, 0, 100)
    assert (z[40:60] >= nr_coreset.Z_THRESHOLD).all()  # significant all the way, but never strong again
    assert 40 - nr_coreset.WINDOW_RB < nr_coreset.walk_up(z, mean, 19) < 40


def test_the_slot_timing_of_the_cells_dmrs_beats_the_largest_contrast():
    """A 160-RB cell at 2 dB with a CORESET over its whole band and few PDCCHs (session 60): over its known RBs the
    SSB's symbols 2-5 held more power than its slot starts, so the largest contrast fell two symbols late, and
    there the CORESET above read negative. With each symbol's index in its slot (from the DMRS) it is found."""
    grid = _grid(shift=0, control=(120, 840), level=3.0, use=0.2)
    rng = np.random.default_rng(5)
    for slot in (0, 20):  # an SSB burst every 20 slots over bins 120..360 (RBs 10..29), symbols 2-5
        rows = slice(slot * 14 + 2, slot * 14 + 6)
        grid.y[rows, 120:360] += (np.sqrt(20.0) * np.exp(2j * np.pi * rng.random((4, 240)))).astype(np.complex64)
    core = (120, 360)
    guessed = nr_coreset.coreset_contrast(grid, core)
    assert guessed["slot_offset"] != 0
    assert nr_coreset.walk_up(*nr_coreset.rb_windows(guessed, 0, 100), 29) == 29
    timed = nr_coreset.coreset_contrast(grid, core, slot_symbol=np.arange(grid.y.shape[0]) % 14)
    assert 69 - nr_coreset.WINDOW_RB < nr_coreset.walk_up(*nr_coreset.rb_windows(timed, 0, 100), 29) <= 69
