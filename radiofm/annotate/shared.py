"""A carrier on which both an LTE and an NR cell were found: two cells, each annotated with its own PCI.

Dynamic spectrum sharing (DSS) runs an NR cell inside an LTE carrier's band: NR's PDSCH is rate-matched around
LTE's CRS, and its SSB and data go where LTE leaves room (often LTE's MBSFN subframes). It is deployed widely in
FDD bands since 2020 (3GPP 38.214 §5.1.4.2, ``lte-CRS-ToMatchAround``). The per-carrier stage
(:func:`radiofm.annotate.decide.phy_evidence`) then finds an LTE PSS and SSS and an NR SSB in the same band, and
:func:`radiofm.annotate.decide.decide` labels the carrier "unknown" ("both cells"). Before session 62 the NR
stage then took the carrier for its NR cell alone, and the LTE cell was lost; a spectrum monitor must see both
(two reviews with their own generators, docs/RESULTS.md).

:func:`split_shared` turns every such carrier into two identified cells before the cell stages run: its boxes
keep an NR decision (the NR stage then measures the cell's band from its DMRS), and copies of its boxes take an
LTE decision (its band from the PSS centre, where that was measured). Where the model merged two carriers side by
side, the two cells' bands come apart; where they share the band, the two annotations overlap, as the two cells
do on the air. Both annotations keep ``"both_cells": true`` in ``radiofm:evidence``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision, phy_decision


def split_shared(boxes: Sequence[Box], decisions: Sequence[Decision]) -> tuple[list[Box], list[Decision]]:
    """(boxes, decisions) with every "both cells" carrier whose evidence names both PCIs made an NR cell (its
    boxes) and an LTE cell (copies of them, appended after the others); everything else unchanged."""
    out_b, out_d = list(boxes), list(decisions)
    carriers: dict[int, list[int]] = {}
    for i, d in enumerate(decisions):
        if d.decided_by == "both cells":
            carriers.setdefault(id(d), []).append(i)
    for members in carriers.values():
        d = decisions[members[0]]
        ev = d.evidence or {}
        nr_pci, lte_pci = ev.get("nr_pci"), ev.get("lte_pci")
        if nr_pci is None or lte_pci is None or "ssb" not in ev:
            continue
        own = [boxes[i] for i in members]
        nr = phy_decision("NR", own, ev | {"label": "NR", "pci": nr_pci}, nr_pci)
        band = ev.get("lte_band_hz")
        lte = phy_decision("LTE", own, ev | {"label": "LTE", "pci": lte_pci}, lte_pci, band=band)
        lte.dc_hz = d.dc_hz
        for i in members:
            out_d[i] = nr
        out_b += [dataclasses.replace(b) for b in own]
        out_d += [lte] * len(own)
    return out_b, out_d
