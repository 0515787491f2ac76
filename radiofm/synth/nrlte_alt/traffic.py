"""Traffic regimes: which PRBs carry PDSCH in each slot (NR) or subframe (LTE), and how loaded control is.

Each carrier owns one :class:`Traffic` object; the grid builders ask it for a :class:`SlotPlan` slot by slot
(in increasing slot order, so the random draws are reproducible). Regimes:

- ``random``: every slot independently schedules 0–4 allocations, each either a contiguous PRB range
  (resource allocation type 1) or a random RBG bitmap (type 0; RBG size P from TS 36.213 Table 7.1.6.1-1 /
  TS 38.214 Table 5.1.2.2.1-1, configuration 1), with a random modulation (QPSK..256QAM) and a PDSCH EPRE
  offset of −3..0 dB; NR sends one PDCCH per allocation plus 0–2 more (uplink grants).
- ``matlab``: the allocation pattern of MathWorks' "Spectrum Sensing with Deep Learning to Identify 5G and
  LTE Signals" example. NR: in each 20-slot period, 1–3 groups of consecutive slots holding 10–80 % of an
  8-slot window (slots 2–9), and 1–3 groups of consecutive RBs holding 20–70 % of the RBs, the same PRB set
  in every allocated slot, PDSCH from symbol 0, one PDCCH per slot. LTE: reference channels R.2/R.6/R.8/R.9
  (TS 36.101 Annex A.3: 10/5/15/20 MHz, QPSK/64QAM/64QAM/64QAM, full PRB allocation, no PDSCH in
  subframe 5 for FDD); with probability ½ a light load (per subframe PRBs 0–1 plus up to two of PRBs 4–8),
  otherwise 1–8 random subframes' transport blocks switched off (drawn with replacement, as the example).
  Both repeat every period, as a generated-then-circularly-shifted waveform does.
- ``full``: every PRB of every downlink slot, all control resources used (LTE: unused REGs → OCNG, random
  QPSK, as the E-TM test models fill them, TS 36.141 §6.1.1).
- ``idle``: no PDSCH; LTE control region lightly loaded (5–30 % of PDCCH REGs), NR a PDCCH in 30 % of slots.
- ``gated``: the carrier is on for one contiguous span only (the scene draws it); its traffic is one of the
  four regimes above.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TRAFFIC_REGIMES = ("random", "matlab", "full", "idle", "gated")
BASE_REGIMES = ("random", "matlab", "full", "idle")
MATLAB_LTE_RC = {  # reference channel -> (bandwidth MHz, N_RB, bits per symbol), TS 36.101 Annex A.3.3
    "R.2": (10.0, 50, 2),
    "R.6": (5.0, 25, 6),
    "R.8": (15.0, 75, 6),
    "R.9": (20.0, 100, 6),
}
MATLAB_NR_BANDWIDTHS_MHZ = (10, 15, 20, 25, 30, 40, 50)  # the example's NR channel bandwidths
MATLAB_PERIOD_SLOTS = 20
MATLAB_WINDOW = (2, 10)  # allocated slots lie in [2, 10) of each period: an 8-slot window


@dataclass
class Alloc:
    """One PDSCH allocation in one slot."""

    rbs: np.ndarray  # (N_RB,) bool
    bits: int  # bits per symbol: 2 QPSK, 4 16QAM, 6 64QAM, 8 256QAM
    gain: float = 1.0  # amplitude relative to the 0 dB reference RE


@dataclass
class SlotPlan:
    """What one slot (NR) or subframe (LTE) carries besides the always-on signals."""

    allocs: list[Alloc] = field(default_factory=list)
    dci_levels: tuple[int, ...] = ()  # NR: aggregation level of each PDCCH sent
    fill_control: bool = False  # every control resource used (NR: all CCEs; LTE: all REGs)
    control_load: float = 0.0  # LTE: fraction of free PDCCH REGs carrying a PDCCH
    ocng: bool = False  # LTE: fill REs left empty in the PDSCH region with random QPSK


def rbg_size(n_rb: int, lte: bool) -> int:
    """Resource block group size P (TS 36.213 Table 7.1.6.1-1; TS 38.214 Table 5.1.2.2.1-1 config. 1)."""
    if lte:
        return 1 if n_rb <= 10 else 2 if n_rb <= 26 else 3 if n_rb <= 63 else 4
    return 2 if n_rb <= 36 else 4 if n_rb <= 72 else 8 if n_rb <= 144 else 16


def _composition(rng: np.random.Generator, total: int, parts: int) -> np.ndarray:
    """``parts`` positive integers summing to ``total`` (uniform over compositions)."""
    cuts = np.sort(rng.choice(np.arange(1, total), parts - 1, replace=False)) if parts > 1 else np.array([], int)
    return np.diff(np.concatenate([[0], cuts, [total]])).astype(int)


def groups_in_window(rng: np.random.Generator, width: int, total: int, n_groups: int) -> np.ndarray:
    """(width,) bool: ``n_groups`` runs of consecutive Trues holding ``total`` positions, ≥ 1 gap between runs."""
    n_groups = max(1, min(n_groups, total, width - total + 1))
    sizes = _composition(rng, total, n_groups)
    free = width - total - (n_groups - 1)  # spare positions after the mandatory 1-wide inner gaps
    gaps = rng.multinomial(free, np.ones(n_groups + 1) / (n_groups + 1))
    gaps[1:-1] += 1
    mask = np.zeros(width, bool)
    pos = gaps[0]
    for size, gap in zip(sizes, gaps[1:]):
        mask[pos : pos + size] = True
        pos += size + gap
    return mask


class Traffic:
    """Per-carrier traffic generator; ``plan(slot, rng)`` returns the :class:`SlotPlan` of an absolute slot."""

    def __init__(self, regime: str, n_rb: int, lte: bool, rng: np.random.Generator, matlab_rc: str | None = None):
        self.regime, self.n_rb, self.lte = regime, n_rb, lte
        self.info: dict = {"regime": regime}
        if regime == "matlab":
            self._init_matlab(rng, matlab_rc)

    # ---- the MATLAB example's allocation, drawn once per carrier ----
    def _init_matlab(self, rng: np.random.Generator, rc: str | None) -> None:
        if self.lte:
            rc = rc or "R.9"
            self.rc_bits = MATLAB_LTE_RC[rc][2]
            self.light = bool(rng.integers(0, 2))
            if self.light:
                self.sf_prbs = []
                for _ in range(10):
                    extra = rng.integers(4, 9, int(rng.integers(0, 3)))
                    self.sf_prbs.append(np.unique(np.concatenate([[0, 1], extra])).astype(int))
                off = {5}
            else:
                off = set(rng.integers(0, 10, int(rng.integers(1, 9))).tolist()) | {5}
            self.sf_off = off
            self.info.update(rc=rc, light_load=self.light, subframes_off=sorted(off))
        else:
            w0, w1 = MATLAB_WINDOW
            width = w1 - w0
            n_slots = max(1, int(round(width * rng.uniform(0.1, 0.8))))
            slots = np.zeros(MATLAB_PERIOD_SLOTS, bool)
            slots[w0:w1] = groups_in_window(rng, width, n_slots, int(rng.integers(1, 4)))
            n_rbs = max(1, int(round(self.n_rb * rng.uniform(0.2, 0.7))))
            self.slot_mask = slots
            self.prb_mask = groups_in_window(rng, self.n_rb, n_rbs, int(rng.integers(1, 4)))
            self.info.update(
                period_slots=MATLAB_PERIOD_SLOTS,
                allocated_slots=np.flatnonzero(slots).tolist(),
                slot_fraction=float(slots.sum() / width),
                prb_fraction=float(self.prb_mask.mean()),
                prbs=np.flatnonzero(self.prb_mask).tolist(),
            )

    def _random_alloc(self, rng: np.random.Generator) -> Alloc:
        n = self.n_rb
        if rng.random() < 0.3:  # type 0: RBG bitmap
            p = rbg_size(n, self.lte)
            groups = rng.random(-(-n // p)) < rng.uniform(0.1, 0.9)
            rbs = np.repeat(groups, p)[:n]
        else:  # type 1: contiguous
            length = int(np.clip(np.ceil(n * rng.random() ** 1.5), 1, n))
            start = int(rng.integers(0, n - length + 1))
            rbs = np.zeros(n, bool)
            rbs[start : start + length] = True
        bits = 2 * int(rng.integers(1, 5))
        return Alloc(rbs, bits, float(10 ** (rng.uniform(-3.0, 0.0) / 20)))

    def plan(self, slot: int, rng: np.random.Generator) -> SlotPlan:
        """The plan of absolute slot (NR) / subframe (LTE) ``slot``."""
        r = self.regime
        if r == "full":
            return SlotPlan([Alloc(np.ones(self.n_rb, bool), int(rng.choice([2, 4, 6, 8])))], (), True, 1.0, True)
        if r == "idle":
            dci = (int(rng.choice([4, 8])),) if rng.random() < 0.3 else ()
            return SlotPlan([], dci, False, float(rng.uniform(0.05, 0.3)))
        if r == "matlab":
            return self._matlab_plan(slot, rng)
        allocs = [self._random_alloc(rng) for _ in range(int(rng.choice(5, p=[0.15, 0.3, 0.25, 0.15, 0.15])))]
        levels = tuple(int(x) for x in rng.choice([1, 2, 4, 8, 16], len(allocs) + int(rng.integers(0, 3))))
        return SlotPlan(allocs, levels, False, float(rng.uniform(0.2, 1.0)))

    def _matlab_plan(self, slot: int, rng: np.random.Generator) -> SlotPlan:
        if self.lte:
            sf = slot % 10
            load = float(rng.uniform(0.2, 0.6))
            if sf in self.sf_off:
                return SlotPlan([], (), False, load)
            if self.light:
                rbs = np.zeros(self.n_rb, bool)
                rbs[self.sf_prbs[sf]] = True
            else:
                rbs = np.ones(self.n_rb, bool)
            return SlotPlan([Alloc(rbs, self.rc_bits)], (), False, load)
        allocs = [Alloc(self.prb_mask.copy(), 2)] if self.slot_mask[slot % MATLAB_PERIOD_SLOTS] else []
        return SlotPlan(allocs, (-1,), False)  # -1: the example's single PDCCH at its fixed aggregation level
