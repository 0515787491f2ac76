"""Traffic regimes of the NR/LTE generator: which resource blocks carry PDSCH when, for NR and LTE alike.

Each carrier draws its regime from a mix (``radiofm generate nrlte --traffic``; default: all five with the
probabilities below, renormalised over the names given). The NR and LTE columns are what the carrier's resource
grid then holds besides what every cell always sends (NR: SS/PBCH blocks and a PDCCH CORESET in every downlink
slot; LTE: CRS, the control region of every subframe and PSS/SSS/PBCH; see :mod:`~radiofm.synth.nrlte.nr`
and :mod:`~radiofm.synth.nrlte.lte`).

- ``random`` (default p = 0.25; [ours], the generator before issue 8). NR: a new random PRB set every slot,
  mean load U(0.2, 1); half the carriers one contiguous block per slot (allocation type 1), half random resource
  block groups (type 0). LTE: the same per subframe.
- ``matlab`` (p = 0.25; the MATLAB example "Spectrum sensing with deep learning to identify 5G and LTE signals", the
  papers' data: its helpers ``helperSpecSenseNRSignal`` and ``helperSpecSenseLTESignal``, and issue 8). NR: PDSCH in
  1-3 contiguous slot groups covering 10-80 % of the 8-slot window of slots 3-10 of each 20-slot period (the
  helper's ``assignREs``: 1-6 slots) x 1-3 contiguous RB groups covering 20-70 % of the RBs, the same PRBs in every
  allocated slot; each of the L = 4 or 8 SS blocks sent with p = 1/2 (at least one); SSB period 20 ms (case A/B),
  FDD, no SSB/PSS power offset; CORESET 0 over the whole band for 2 symbols with one PDCCH of aggregation level 8
  every slot; NR carriers of 10-50 MHz; Doppler 0, 10 or 500 Hz. LTE: reference channel R.2/R.6/R.8/R.9 with one CRS
  port, no CRS boost and the RMC's CFI, no PDSCH in subframe 5; with p = 1/2 light load (in each of the 10 subframes
  its own PRB set: PRBs 0-1 plus 0-2 of PRBs 4-8), else every PRB with 1-8 of the 10 subframes' transport blocks
  off; no OCNG; Doppler 0, 10 or 500 Hz.
- ``full`` (p = 0.20; 36.101 Annex A.5 OCNG). NR: every PRB of every downlink slot, every CORESET CCE group
  used. LTE: every PRB of every subframe (subframe 5 too): PDSCH + OCNG fill every RE left.
- ``idle`` (p = 0.10; [ours]). NR: SS/PBCH blocks + CORESET only. LTE: CRS + control region + PSS/SSS/PBCH only.
- ``gated`` (p = 0.20; [ours], replaces the old 20 % partial-span carriers). On for one contiguous slot-aligned
  span >= 5 ms: starts on and stops inside ("off"), starts inside and stays on ("on") or both edges inside
  ("burst"), each 1/3. Inside, the traffic of a regime drawn from the other selected ones (their weights
  renormalised; all four when ``gated`` is the only one). NR and LTE alike.

An LTE carrier of any regime but ``matlab`` may also be TDD or have MBSFN subframes (drawn from
:data:`~radiofm.synth.nrlte.lte.FRAME_MIX`, see :mod:`~radiofm.synth.nrlte.lte`): whatever its regime, its uplink
subframes, guard periods and MBSFN regions stay empty, as the uplink slots of a TDD NR carrier do.

Every regime also draws a random circular time shift of the carrier's frame (whole slots, uniform over the
capture): the MATLAB example shifts each waveform; for the others it is the arbitrary timing of a capture
against the cell's frame. Gating is applied after the shift, in capture time; the label and the SigMF
annotation follow the gated span.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiofm.errors import check_names

REGIMES = ("random", "matlab", "full", "idle", "gated")
GRID_REGIMES = ("random", "matlab", "full", "idle")  # what a grid is built with (gated wraps one of these)
DEFAULT_MIX = {"random": 0.25, "matlab": 0.25, "full": 0.20, "idle": 0.10, "gated": 0.20}
GATE_MIN_S = 5e-3  # shortest gated on-span
GATE_MODES = ("off", "on", "burst")  # starts on and stops / starts inside and stays on / both edges inside
MATLAB_PERIOD_SLOTS = 20  # NR PDSCH slot pattern period of the MATLAB regime
MATLAB_SLOT_WINDOW = (3, 8)  # first slot and length of the window the NR PDSCH slots lie in (slots 3-10)
MATLAB_SLOT_FRACTION = (0.1, 0.8)  # allocated share of that window
MATLAB_RB_FRACTION = (0.2, 0.7)  # allocated share of the carrier's RBs
MATLAB_MAX_GROUPS = 3  # contiguous groups, slots and RBs alike


def resolve_mix(traffic: Sequence[str] | str | None) -> dict[str, float]:
    """The regime mix for ``traffic`` (names, a comma list, or None = all five): {name: probability}.

    Names read as ``--traffic`` reads them (:func:`radiofm.errors.check_names`: whatever their case, each once);
    unknown or no names, or neither a string nor a sequence -> :class:`~radiofm.errors.ConfigError`.
    """
    names = list(REGIMES) if traffic is None else check_names(traffic, REGIMES, "traffic regime", "traffic")
    total = sum(DEFAULT_MIX[n] for n in names)
    return {n: DEFAULT_MIX[n] / total for n in REGIMES if n in names}


def gated_mix(mix: dict[str, float]) -> dict[str, float]:
    """The mix a gated carrier draws its inside traffic from: the other selected regimes, renormalised."""
    inner = {n: p for n, p in mix.items() if n != "gated"} or {n: DEFAULT_MIX[n] for n in GRID_REGIMES}
    total = sum(inner.values())
    return {n: p / total for n, p in inner.items()}


def _choose(rng: np.random.Generator, mix: dict[str, float]) -> str:
    names = list(mix)
    return names[int(rng.choice(len(names), p=[mix[n] for n in names]))]


def draw_regime(rng: np.random.Generator, mix: dict[str, float]) -> tuple[str, str]:
    """(traffic name from ``mix``, the grid regime): the same name unless gated, then the traffic inside."""
    name = _choose(rng, mix)
    return name, (_choose(rng, gated_mix(mix)) if name == "gated" else name)


def contiguous_groups(rng: np.random.Generator, n: int, total: int, n_groups: int) -> list[list[int]]:
    """``n_groups`` runs (fewer if they do not fit) of ``total`` units in 0..n-1, separated by >= 1 gap.

    Returns ``[[start, length], ...]`` sorted by start; lengths sum to ``total`` (1 <= total <= n).
    """
    total = int(np.clip(total, 1, n))
    n_groups = int(max(1, min(n_groups, total, n - total + 1)))
    cuts = np.sort(rng.choice(np.arange(1, total), size=n_groups - 1, replace=False)) if n_groups > 1 else []
    lengths = np.diff(np.r_[0, cuts, total]).astype(int)
    free = n - total - (n_groups - 1)  # spare units after one mandatory gap between neighbours
    spare = rng.multinomial(free, np.full(n_groups + 1, 1.0 / (n_groups + 1)))
    gaps = spare + np.r_[0, np.ones(n_groups - 1, dtype=int), 0]
    starts = np.cumsum(np.r_[gaps[0], lengths[:-1] + gaps[1:-1]])
    return [[int(s), int(w)] for s, w in zip(starts, lengths)]


def groups_mask(groups: list[list[int]], n: int) -> np.ndarray:
    """bool (n,): True inside any ``[start, length]`` group."""
    mask = np.zeros(n, dtype=bool)
    for start, length in groups:
        mask[start : start + length] = True
    return mask


def draw_groups(rng: np.random.Generator, n: int, fraction: tuple[float, float]) -> list[list[int]]:
    """1..MATLAB_MAX_GROUPS contiguous groups covering a share of ``n`` drawn uniformly in ``fraction``.

    The count is rounded and then kept inside ceil(low n) .. floor(high n) so the realised share stays in range.
    """
    low, high = int(np.ceil(fraction[0] * n - 1e-9)), int(np.floor(fraction[1] * n + 1e-9))
    total = int(np.clip(np.rint(rng.uniform(*fraction) * n), max(1, low), max(1, high)))
    return contiguous_groups(rng, n, total, int(rng.integers(1, MATLAB_MAX_GROUPS + 1)))


def gate_rows(rng: np.random.Generator, n_rows: int, slot_rows: int, phase: int) -> tuple[int, int, str]:
    """A gated on-span ``[r0, r1)`` of symbol rows, on slot boundaries, and its mode ("off", "on", "burst").

    Slot boundaries lie at rows ``phase + k * slot_rows`` (the carrier's frame shifted by ``phase`` symbols);
    the capture edges 0 and ``n_rows`` count as well. The span covers >= GATE_MIN_S (n_rows / 40 ms rows / s).
    """
    min_rows = int(np.ceil(GATE_MIN_S / 40e-3 * n_rows))
    inner = np.arange(phase % slot_rows, n_rows, slot_rows)
    inner = inner[(inner > 0) & (inner < n_rows)]
    mode = GATE_MODES[int(rng.integers(len(GATE_MODES)))]
    if mode == "off":
        return 0, int(rng.choice(inner[inner >= min_rows])), mode
    if mode == "on":
        return int(rng.choice(inner[inner <= n_rows - min_rows])), n_rows, mode
    r0 = int(rng.choice(inner[inner + min_rows <= inner.max()]))
    return r0, int(rng.choice(inner[inner >= r0 + min_rows])), mode
