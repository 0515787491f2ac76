"""The NR/LTE test captures the annotate and cell benchmarks share (``from _nrlte_cases import ...``).

Capture ``i`` of a generator (``main``: :func:`radiofm.synth.nrlte.make_frame`; ``alt``: the independent
:func:`radiofm.synth.nrlte_alt.make_capture`) and traffic regime: a 40 ms, 61.44 MS/s test-split capture holding
carriers of that regime only, drawn from ``SeedSequence([seed, generator index, regime index, i])``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from radiofm.dsp import ofdm_rx
from radiofm.synth import nrlte, nrlte_alt

FS = 61.44e6
REGIMES = ("random", "matlab", "full", "idle", "gated")
GENERATORS = {"main": 0, "alt": 1}


def capture(generator: str, regime: str, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """(iq, the true carriers' metadata) of one capture."""
    if generator == "main":
        # FDD LTE, as both generators' default captures were when these benchmarks' results were recorded
        iq, meta = nrlte.make_frame(rng, split="test", traffic_mix=[regime], lte_frames=["fdd"])
    else:
        iq, meta = nrlte_alt.make_capture(rng, split="test", traffic=[regime])
    return iq, meta["carriers"]


def cases(
    captures: int, seed: int, generators: Sequence[str] = tuple(GENERATORS), regimes: Sequence[str] = REGIMES
) -> Iterator[tuple[str, str, int, np.ndarray, list[dict]]]:
    """(generator, regime, i, iq, carriers) of ``captures`` captures per generator and regime, in that order."""
    for gen in generators:
        for regime in regimes:
            for i in range(captures):
                ss = np.random.SeedSequence([seed, GENERATORS[gen], REGIMES.index(regime), i])
                yield (gen, regime, i, *capture(gen, regime, np.random.default_rng(ss)))


def carriers_of(
    kind: str, captures: int, seed: int, span_ms: float
) -> Iterator[tuple[str, str, int, np.ndarray, np.ndarray, dict, int]]:
    """(generator, regime, i, the first ``span_ms`` of the capture, its span spectrum, carrier, its PCI) of every
    ``kind`` ("NR" or "LTE") carrier of :func:`cases`."""
    for gen, regime, i, iq, truth in cases(captures, seed):
        x = np.asarray(iq[: int(span_ms * 1e-3 * FS)], dtype=np.complex64)
        spectrum = ofdm_rx.span_spectrum(x)
        for c in truth:
            if c["type"] == kind:
                yield gen, regime, i, x, spectrum, c, c.get("pci", c.get("n_id_cell"))
