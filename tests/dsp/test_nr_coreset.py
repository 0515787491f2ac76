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
