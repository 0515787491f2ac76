"""LTE cells found around the model's pieces: one carrier per cell, with the band its reference signals show.

The spectrogram model sees an idle or lightly loaded LTE cell in pieces (its central six RBs, scheduled RBs)
and two adjacent cells as one block; a piece whose centre is not the cell's DC gives the per-carrier PSS search
of :mod:`radiofm.annotate.decide` nothing. So, after the per-carrier decisions and the NR cells'
(:mod:`radiofm.annotate.nr_scan`), every carrier not already identified (an NR cell found by its SSB, an LTE
cell with a measured band) is searched again for LTE cells:
:func:`radiofm.dsp.lte_cells.scan_lte_cells` looks for an LTE PSS + SSS at every DC position within
:data:`SCAN_REACH_HZ` of the piece (half the widest LTE channel: a piece of a 20 MHz cell may lie that far
from its DC), over :data:`SCAN_MS` of samples around the piece (a weak cell may show only in a few milliseconds
of the model's image, too few PSS to find it; the part of a reach that an earlier piece's scan of the same
samples searched is not searched again, :func:`_unscanned`; where the carrier's own PSS and SSS gave a cell's DC,
the scan starts there and skips the sub-bands inside the band that cell's CRS show, ``known_dc_hz``), and
measures each cell's band from its CRS. Every
box lying at least half inside a cell's band, or covering at least half of it while sticking out of the cells it
covers by at most :data:`BLUR_HZ` (a 1.4 MHz cell the model drew 2.4 MHz wide) or whose own PSS/SSS gave the
cell's PCI, becomes part of that cell (a box covering two cells goes to both): one annotation per cell and time
run, labelled LTE with the cell's PCI and band (``radiofm:edges`` "measured", ``radiofm:evidence`` ``scan``). A
cell needs PSS, SSS and CRS to agree, so a false cell is unlikely (each test ~1e-3 or rarer on noise,
``radiofm.dsp.lte_cells``).
"""

from __future__ import annotations

from collections.abc import Sequence

from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision, in_time_order, is_cell, overlap_hz, phy_decision, sync_evidence
from radiofm.annotate.plan import Plan
from radiofm.annotate.spans import LastSpan
from radiofm.data.recording import Recording
from radiofm.dsp.lte_cells import PSS_HALF_BAND_HZ, scan_lte_cells

SCAN_REACH_HZ = 9.0e6  # a piece of a 20 MHz cell lies within 9 MHz of the cell's DC
MIN_SCAN_MS = 5.0  # a box shorter than one PSS period is not scanned
SCAN_MS = 40.0  # samples scanned around a piece (8 PSS; more than ``max_ms`` when that is shorter)
SAME_SPAN = 0.9  # scans whose spans share this much of their length search the same samples (_unscanned)
MIN_PART_HZ = 30e3  # a part of a reach narrower than two subcarriers is not scanned on its own
BLUR_HZ = 1.5e6  # a box may stick out of its cell by this much in all (the model's rows blur past narrow cells)


def _covered(reach: tuple[float, float], span: tuple[int, int], done: tuple) -> bool:
    """True when the scan ``done`` ((reach, span)) already searched most of ``reach`` over most of ``span``: the
    pieces of one weak cell would each scan the same band again."""
    (lo, hi), (t0, t1) = done
    width, length = reach[1] - reach[0], span[1] - span[0]
    return overlap_hz(reach, (lo, hi)) >= 0.8 * width and min(span[1], t1) - max(span[0], t0) >= 0.5 * length


def _unscanned(reach: tuple[float, float], span: tuple[int, int], done: Sequence[tuple]) -> list[tuple[float, float]]:
    """The parts of ``reach`` that no scan of ``done`` ((reach, span) each) over (nearly) the same span searched:
    the pieces of one carrier the model drew in many boxes lie within SCAN_REACH_HZ of each other, and scanning
    each piece's whole reach searched most DC positions several times over (a 48 MHz NR carrier in nine pieces:
    141 MHz of sub-bands for 60 MHz of band). Parts narrower than two subcarriers are left out."""
    length = span[1] - span[0]
    parts = [reach]
    for (lo, hi), (t0, t1) in done:
        if min(span[1], t1) - max(span[0], t0) < SAME_SPAN * length:
            continue
        parts = [q for a, b in parts for q in ((a, min(b, lo)), (max(a, hi), b)) if q[1] > q[0]]
    return [q for q in parts if q[1] - q[0] >= MIN_PART_HZ]


def _measured_cells(boxes: Sequence[Box], decisions: Sequence[Decision], carriers: dict, spc: float) -> list[tuple]:
    """(band, (first sample, last sample)) of every NR cell whose band was measured (its DMRS, numbered from point
    A), from its first box to its last: no LTE cell's DC lies inside it. An NR band without DMRS (``band_source``
    "estimated": grown from its SSB over the power beside it) is left out, and so is an LTE cell's band: the scan
    around an unidentified piece of a measured LTE cell must find that cell's DC again for the piece to join it."""
    out = []
    for members in carriers.values():
        d = decisions[members[0]]
        if _identified(d) and d.label == "NR" and d.band_hz is not None and d.band_source == "measured":
            t0 = int(min(boxes[i].col_lo for i in members) * spc)
            out.append((d.band_hz, (t0, int(max(boxes[i].col_hi for i in members) * spc))))
    return out


def _covered_hz(band: tuple[float, float], cells: Sequence[tuple[float, float]]) -> float:
    """How much of ``band`` the union of the ``cells``' bands covers (Hz)."""
    parts = sorted((max(lo, band[0]), min(hi, band[1])) for lo, hi in cells if min(hi, band[1]) > max(lo, band[0]))
    total, reach = 0.0, band[0]
    for lo, hi in parts:
        if hi > reach:
            total += hi - max(lo, reach)
            reach = hi
    return total


def _identified(d: Decision) -> bool:
    """A carrier the per-carrier stage already pinned down: an NR cell by its sync signals, an LTE cell with a
    measured band."""
    return is_cell(d) and (d.label == "NR" or d.band_hz is not None)


def cell_decision(cell: dict, members: Sequence[Box], span_ms: float, reach: tuple[float, float]) -> Decision:
    """The decision of an LTE cell the scan found (:func:`radiofm.dsp.lte_cells.scan_lte_cells`'s ``cell``)."""
    lo, hi = cell["lower_hz"], cell["upper_hz"]
    evidence = sync_evidence(
        "LTE",
        cell["pci"],
        span_ms,
        occupied_hz=[round(lo), round(hi)],
        edges_confident=True,
        duplex=cell["duplex"],
        lte_band_hz=[round(lo), round(hi)],
        lte_n_rb=cell["n_rb"],
        scan={
            "reach_hz": [round(reach[0]), round(reach[1])],
            "dc_hz": round(cell["dc_hz"]),
            "pss_z": round(cell["z"], 2),
            "sss_z": round(cell["sss_z"], 2),
            "duplex": cell["duplex"],
            "crs_z": round(cell["z_inside"], 2),
            "crs_z2": round(cell["z2_inside"], 2),
        },
        items=[
            f"LTE PSS z {cell['z']:.1f} and SSS z {cell['sss_z']:.1f}: PCI {cell['pci']}, DC at "
            f"{cell['dc_hz'] / 1e6:.3f} MHz (scan of {reach[0] / 1e6:.2f}..{reach[1] / 1e6:.2f} MHz)",
            crs_item(cell),
        ],
    )
    return phy_decision("LTE", members, evidence, cell["pci"], (lo, hi))


def crs_item(cell: dict) -> str:
    """The evidence line of a scanned cell's CRS band (one edge seen where the other lies past the capture, or
    beyond the CRS reach)."""
    unseen = cell["unseen"]
    where = f"up to the edges of {cell['n_rb']} RB and not beyond"
    if unseen:
        side = unseen[0]
        seen = "upper" if side == "lower" else "lower"
        why = ("lies past the capture's edge (cut there)" if side in cell["cut"]
               else "lies beyond the CRS reach (the band is symmetric about its DC)")  # fmt: skip
        where = f"up to the {seen} edge of {cell['n_rb']} RB and not beyond; its {side} edge {why}"
    return f"CRS of PCI {cell['pci']} {where} (weaker edge z {cell['z_inside']:.1f}, Z^2 {cell['z2_inside']:.0f})"


def find_lte_cells(
    boxes: Sequence[Box],
    decisions: Sequence[Decision],
    rec: Recording,
    plan: Plan,
    *,
    max_ms: float,
    nonfinite: str = "error",
    span: LastSpan | None = None,
) -> tuple[list[Box], list[Decision], int]:
    """(boxes, decisions, scans run) with every LTE cell found around an unidentified carrier made one carrier
    (module docstring). Boxes of identified carriers are never changed. ``span``: the reader of the recording's
    spans (one the other stages share; default: a new one)."""
    fs, spc = plan.sample_rate_hz, plan.samples_per_column
    edge = 0.5 * fs - PSS_HALF_BAND_HZ
    cells: list[dict] = []
    scans = 0
    scanned: list[tuple] = []  # (reach, span) of every scan run
    span = LastSpan(rec, nonfinite) if span is None else span
    carriers: dict[int, list[int]] = {}
    for i, d in enumerate(decisions):
        carriers.setdefault(id(d), []).append(i)
    cell_bands = _measured_cells(boxes, decisions, carriers, spc)
    for members in carriers.values():
        if _identified(decisions[members[0]]):
            continue
        bands = [plan.band_hz(boxes[i].row_lo, boxes[i].row_hi) for i in members]
        lo, hi = min(b[0] for b in bands), max(b[1] for b in bands)
        main = max((boxes[i] for i in members), key=lambda b: b.col_hi - b.col_lo)
        start = int(round(main.col_lo * spc))
        count = min(int(round(main.col_hi * spc)), plan.n_samples) - start
        if count < MIN_SCAN_MS * 1e-3 * fs:
            continue
        # a short piece of a weak cell holds too few PSS: read at least SCAN_MS around it (the recording allowing)
        wanted = min(max(count, int(round(SCAN_MS * 1e-3 * fs))), int(round(max(max_ms, SCAN_MS) * 1e-3 * fs)))
        wanted = min(wanted, plan.n_samples)
        start = min(max(start + count // 2 - wanted // 2, 0), plan.n_samples - wanted)
        count = wanted
        t0, t1 = start, start + count
        known = [c for c in cells if overlap_hz((lo, hi), (c["lower_hz"], c["upper_hz"])) >= 0.5 * (hi - lo)
                 and c["t0"] < t1 and c["t1"] > t0]  # fmt: skip
        if known:  # a piece of a cell already found
            continue
        reach = (max(lo - SCAN_REACH_HZ, -edge), min(hi + SCAN_REACH_HZ, edge))
        if reach[1] <= reach[0] or any(_covered(reach, (t0, t1), s) for s in scanned):
            continue
        parts = _unscanned(reach, (t0, t1), scanned)
        scanned.append((reach, (t0, t1)))
        if not parts:
            continue
        x, spectrum = span(start, count)
        scans += 1
        # no LTE DC lies inside an NR cell measured on (any of) the same samples: an NR carrier beside the piece
        occupied = [band for band, (c0, c1) in cell_bands if c0 < t1 and c1 > t0]
        # the DC of the LTE cell the carrier's own PSS and SSS gave (decide.carrier_decision sets it for LTE only):
        # the sub-bands inside that cell's band hold no other
        kw = {"spectrum": spectrum, "floor": span.floor(), "occupied": occupied,
              "known_dc_hz": decisions[members[0]].dc_hz}  # fmt: skip
        for part in parts:
            for cell in scan_lte_cells(x, fs, lower_hz=part[0], upper_hz=part[1], **kw):
                cell |= {"t0": t0, "t1": t1, "reach": reach, "span_ms": count / fs * 1e3}
                if not any(c["pci"] == cell["pci"] and abs(c["dc_hz"] - cell["dc_hz"]) < 30e3 for c in cells):
                    cells.append(cell)
    if not cells:
        return list(boxes), list(decisions), scans
    joined: list[list[int]] = [[] for _ in cells]
    # a box is covered by every cell's band, found here or identified before, not only by the cells it joins (a box
    # over a 3 MHz cell and the edge of a 10 MHz one beside it stayed "unknown"; session 62's review)
    every = [(c["lower_hz"], c["upper_hz"]) for c in cells]
    every += list(dict.fromkeys(tuple(d.band_hz) for d in decisions if is_cell(d) and d.band_hz is not None))
    for i, (b, d) in enumerate(zip(boxes, decisions, strict=True)):
        if _identified(d):
            continue
        band = plan.band_hz(b.row_lo, b.row_hi)
        width = band[1] - band[0]
        hits = [k for k, c in enumerate(cells) if (ov := overlap_hz(band, (c["lower_hz"], c["upper_hz"]))) > 0
                and (ov >= 0.5 * width or ov >= 0.5 * (c["upper_hz"] - c["lower_hz"]))]  # fmt: skip
        covered = _covered_hz(band, every) if hits else 0.0
        same = d.label == "LTE" and any(cells[k]["pci"] == d.pci for k in hits)  # its own PSS/SSS named the cell
        if hits and (covered >= 0.5 * width or width - covered <= BLUR_HZ or same):
            for k in hits:
                joined[k].append(i)
    out_b: list[Box] = []
    out_d: list[Decision] = []
    taken = {i for members in joined for i in members}
    for i, (b, d) in enumerate(zip(boxes, decisions, strict=True)):
        if i not in taken:
            out_b.append(b)
            out_d.append(d)
    for cell, members in zip(cells, joined, strict=True):
        if not members:
            continue
        same = [d for d in decisions if d.label == "LTE" and d.pci == cell["pci"] and d.band_hz is not None
                and overlap_hz(d.band_hz, (cell["lower_hz"], cell["upper_hz"])) > 0]  # fmt: skip
        # a cell the per-carrier stage already measured keeps one decision (one annotation per time run)
        decision = same[0] if same else cell_decision(cell, [boxes[i] for i in members], cell["span_ms"], cell["reach"])
        for i in members:
            out_b.append(Box(**vars(boxes[i])))
            out_d.append(decision)
    return *in_time_order(out_b, out_d), scans
