"""``radiofm annotate`` on NR carriers whose every value on the air comes from py3gpp, a third-party implementation
of TS 38.211 (https://github.com/catkira/py3gpp, a Python port of MATLAB 5G Toolbox functions) that no one on this
project wrote.

Each scene is planned by the independent generator (:func:`radiofm.synth.nrlte_alt.scene.plan_scene`, test split,
every traffic regime, scene ``i`` from ``SeedSequence([seed, i])``): carriers, positions, SNR, fading, CFO, gating
and, for each NR carrier, its schedule (which resource elements carry the SSB, PDCCH, TRS, PDSCH and its DMRS, at
what power: :func:`radiofm.synth.nrlte_alt.nr_grid.build_nr_grid`). Three renderings of the same scenes:

- ``alt``: every carrier as :mod:`radiofm.synth.nrlte_alt` renders it (the reference);
- ``py3gpp``: each NR carrier's values replaced by py3gpp's: PSS, SSS, PBCH (scrambled) and PBCH DMRS placed in
  the SS/PBCH block by py3gpp's index functions; PDSCH, PDCCH and TRS symbols from ``nrSymbolModulate``; PDSCH
  and PDCCH DMRS from ``nrPRBS`` with the 38.211 initialisations; the OFDM symbols, cyclic prefixes and the
  38.211 §5.4 symbol phase compensation from ``nrOFDMModulate`` at a random RF carrier of 0.6-6 GHz (a receiver
  whose LO runs continuously sees a phase step between every two symbols, as it does on the air), with no
  windowing. LTE carriers, the channel and the noise stay the alt generator's;
- ``py3gpp-f0``: the same without the phase compensation (``CarrierFrequency=0``), to tell its effect apart.

Scored by :func:`radiofm.annotate.evaluate.evaluate_annotate` (``radiofm evaluate annotate``) with ``--model``;
prints pixel and carrier scores and false boxes per rendering; writes ``benchmarks/results/<name>.json``.

py3gpp is AGPL-3.0 and alpha software: this benchmark imports it, radiofm never does. Install it by hand:

    .venv/bin/pip install py3gpp==0.6.0
    PYTHONPATH=. .venv/bin/python benchmarks/annotate_py3gpp.py --model DEMO/segmentation --work W [--captures 24]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from _common import print_table, scene_arguments, write_results

from radiofm.annotate.evaluate import evaluate_annotate
from radiofm.data import write_sigmf
from radiofm.synth.nrlte import scene as main_scene
from radiofm.synth.nrlte_alt import TRAFFIC_REGIMES, ofdm, scene
from radiofm.synth.nrlte_alt import grid as g
from radiofm.synth.nrlte_alt.capture import carrier_meta
from radiofm.synth.nrlte_alt.nr import ssb_positions

try:
    import py3gpp
except ImportError:  # pragma: no cover - an optional, hand-installed benchmark dependency
    py3gpp = None

FS, MS = 61.44e6, 40.0  # default rate and capture length
RENDERINGS = ("alt", "py3gpp", "py3gpp-f0")
MODULATION = {2: "qpsk", 4: "16qam", 6: "64qam", 8: "256qam"}
F0_RANGE_HZ = (0.6e9, 6e9)


@functools.cache
def _qpsk_sequence(c_init: int, n_qpsk: int) -> np.ndarray:
    """QPSK of the 38.211 §5.2.1 Gold sequence (py3gpp's ``nrPRBS`` and ``nrSymbolModulate``)."""
    bits = py3gpp.nrPRBS(int(c_init) % 2**31, 2 * n_qpsk).astype(int)
    return py3gpp.nrSymbolModulate(bits, "qpsk").astype(np.complex64)


def _random_symbols(rng: np.random.Generator, n: int, bits_per_symbol: int) -> np.ndarray:
    bits = rng.integers(0, 2, n * bits_per_symbol)
    return py3gpp.nrSymbolModulate(bits, MODULATION[bits_per_symbol]).astype(np.complex64)


def _ss_block(pci: int, ssb_index: int, big_l: int, half_frame: int, rng: np.random.Generator) -> np.ndarray:
    """(4, 240) SS/PBCH block at unit EPRE from py3gpp (its indices count k + 240 l)."""
    ibar = ssb_index + 4 * half_frame if big_l == 4 else ssb_index  # 38.211 §7.4.1.4.1
    block = np.zeros(4 * 240, np.complex128)
    block[py3gpp.nrPSSIndices()] = py3gpp.nrPSS(pci)
    block[py3gpp.nrSSSIndices()] = py3gpp.nrSSS(pci)
    block[py3gpp.nrPBCHDMRSIndices(pci)] = py3gpp.nrPBCHDMRS(pci, ibar)
    v = ssb_index % (4 if big_l == 4 else 8)  # scrambling phase, 38.211 §7.3.3.1
    block[py3gpp.nrPBCHIndices(pci)] = py3gpp.nrPBCH(pci, v, rng.integers(0, 2, 864))
    return block.reshape(4, 240).astype(np.complex64)


def py3gpp_values(grid: g.Grid, cell, rng: np.random.Generator) -> np.ndarray:
    """The grid's schedule with every value drawn or computed by py3gpp: (S, K) complex64."""
    kind, nid, n_rb = grid.kind, cell.pci, cell.n_rb
    spf, big_l = 10 * 2**cell.mu, len(cell.ssb_bitmap)
    out = np.zeros_like(grid.values)
    amp = np.abs(grid.values)  # reference signals keep their power (boosts included)
    for bits in np.unique(grid.bits[np.isin(kind, (g.PDSCH, g.PDCCH))]):
        sel = np.isin(kind, (g.PDSCH, g.PDCCH)) & (grid.bits == bits)
        out[sel] = grid.gain[sel] * _random_symbols(rng, int(sel.sum()), int(bits))
    sc = np.arange(12 * n_rb)
    for r in range(kind.shape[0]):
        slot, l = grid.first_slot + r // 14, r % 14
        ns = slot % spf
        row = kind[r]
        dm = np.flatnonzero(row == g.PDSCH_DMRS)
        if dm.size:  # 38.211 §7.4.1.1: 6 (type 1) or 4 (type 2) per RB from CRB 0
            seq = _qpsk_sequence(2**17 * (14 * ns + l + 1) * (2 * nid + 1) + 2 * nid, 6 * n_rb)
            idx = dm // 2 if cell.dmrs_type == 1 else 2 * (dm // 6) + dm % 6
            out[r, dm] = amp[r, dm] * seq[idx]
        pd = np.flatnonzero(row == g.PDCCH_DMRS)
        if pd.size:  # 38.211 §7.4.1.3: 3 per RB, subcarriers 1, 5, 9
            seq = _qpsk_sequence(2**17 * (14 * ns + l + 1) * (2 * nid + 1) + 2 * nid, 3 * n_rb)
            out[r, pd] = amp[r, pd] * seq[3 * (pd // 12) + (pd % 12) // 4]
        trs = np.flatnonzero(row == g.CSI_RS)
        if trs.size:  # 38.211 §7.4.1.5: density 3, one per 4 subcarriers
            seq = _qpsk_sequence(2**10 * (14 * ns + l + 1) * (2 * nid + 1) + nid, 3 * n_rb)
            out[r, trs] = amp[r, trs] * seq[np.minimum(sc[trs] // 4, 3 * n_rb - 1)]
    ssb_kinds = np.isin(kind, scene.SSB_KINDS)
    out[ssb_kinds] = 0
    a = 10 ** (cell.ssb_gain_db / 20)
    for slot, l, i in ssb_positions(cell, grid.first_slot, grid.n_slots):
        r = (slot - grid.first_slot) * 14 + l
        if not ssb_kinds[r].any():  # gated off
            continue
        block = _ss_block(nid, i, big_l, int(slot % spf >= spf // 2), rng) * np.float32(a)
        block[0] *= np.float32(10 ** (cell.pss_boost_db / 20))
        span = out[r : r + 4, cell.ssb_sc0 : cell.ssb_sc0 + 240]
        span[block != 0] = block[block != 0]
    left = (kind != g.EMPTY) & (out == 0)
    if np.any(left & (amp > 0)):
        raise RuntimeError(f"kinds without a py3gpp value: {sorted(set(kind[left & (amp > 0)].tolist()))}")
    return out


def py3gpp_modulate(values: np.ndarray, cell, first_slot: int, f0_hz: float, fs: float) -> np.ndarray:
    """OFDM of whole slots by ``nrOFDMModulate`` (one call per slot), scaled to the alt modulator's convention."""
    n_fft, _, slot_len = ofdm.slot_layout(cell.scs_hz, fs)
    carrier = py3gpp.nrCarrierConfig(NCellID=cell.pci, NSizeGrid=cell.n_rb, SubcarrierSpacing=int(cell.scs_hz / 1e3))
    out = np.empty(values.shape[0] // 14 * slot_len, np.complex64)
    for s in range(values.shape[0] // 14):
        carrier.NSlot = (first_slot + s) % (10 * 2**cell.mu)
        wave, _ = py3gpp.nrOFDMModulate(carrier=carrier, grid=values[14 * s : 14 * s + 14].T.astype(complex),
                                        initialNSlot=0, SampleRate=int(fs), CarrierFrequency=f0_hz)  # fmt: skip
        if wave.size != slot_len:
            raise RuntimeError(f"py3gpp slot of {wave.size} samples, expected {slot_len}")
        out[s * slot_len : (s + 1) * slot_len] = wave * n_fft  # numpy's ifft divides by n_fft, the alt one does not
    return out


def visible_iou(plan, grid: g.Grid) -> float:
    """Frequency IoU of the carrier's true band with the band its grid actually used during the capture (the
    lowest to the highest subcarrier holding anything; the first and last slot may reach up to one slot outside
    the capture): what the best detector could see. An idle cell's SSB and CORESET only, for instance."""
    used = np.flatnonzero((grid.kind != g.EMPTY).any(axis=0))
    if not used.size:
        return 0.0
    f = ofdm.subcarrier_freqs_hz(grid.kind.shape[1], plan.scs_hz, False)
    lo, hi = scene.occupied_edges(plan)
    a, b = plan.center_hz + f[used[0]] - plan.scs_hz / 2, plan.center_hz + f[used[-1]] + plan.scs_hz / 2
    return float(max(0.0, min(b, hi) - max(a, lo)) / (max(b, hi) - min(a, lo)))


def render_nr(
    plan, rng: np.random.Generator, f0_hz: float, values_rng: np.random.Generator, fs: float, n: int
) -> np.ndarray:
    """One NR carrier of the scene through py3gpp; the rest as :func:`scene.render_carrier` does it, with the same
    draws from ``rng`` (schedule, fading); py3gpp's data bits come from ``values_rng``."""
    grid = scene.carrier_grid(plan, rng, fs, n)
    x = py3gpp_modulate(py3gpp_values(grid, plan.cell, values_rng), plan.cell, grid.first_slot, f0_hz, fs)
    return scene.transmit(plan, x, rng, fs, n)


def write_captures(
    work: Path, renderings: list[str], captures: int, seed: int, fs: float = FS, ms: float = MS
) -> list[dict]:
    """Write every scene (``ms`` long at ``fs``) in every rendering; returns one row per NR carrier (its plan's
    knobs)."""
    carriers, n = [], int(round(ms * 1e-3 * fs))
    for i in range(captures):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        plans = scene.plan_scene(rng, split="test", regimes=list(TRAFFIC_REGIMES), sample_rate_hz=fs, n_samples=n)
        # py3gpp's grid puts an SSB on the carrier's subcarriers: a cell whose odd k_SSB puts it half a subcarrier
        # up (session 61) keeps it on the grid in both renderings, so that they stay the same scene
        plans = [scene.replace(p, cell=dataclasses.replace(p.cell, ssb_half=False)) if p.kind == "NR" else p
                 for p in plans]  # fmt: skip
        noise = rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(math.sqrt(0.5))
        truth = main_scene.annotations([carrier_meta(p, fs, n, -10 * math.log10(fs)) for p in plans])
        f0 = [float(rng.uniform(*F0_RANGE_HZ)) for _ in plans]
        for name in renderings:
            x = noise.copy()
            for j, plan in enumerate(plans):  # each carrier's own draws, the same in every rendering
                crng = np.random.default_rng(np.random.SeedSequence([seed, i, 1 + j]))
                if name == "alt" or plan.kind != "NR":
                    x += scene.render_carrier(plan, crng, fs, n)[0]
                else:
                    vrng = np.random.default_rng(np.random.SeedSequence([seed, i, 1 + j, 1]))
                    x += render_nr(plan, crng, f0[j] if name == "py3gpp" else 0.0, vrng, fs, n)
            write_sigmf(work / name / f"capture_{i:03d}", x, sample_rate_hz=fs, datatype="cf32_le",
                        center_freq_hz=main_scene.CENTER_FREQ_HZ, annotations=truth)  # fmt: skip
        for j, plan in enumerate(plans):
            if plan.kind == "NR":
                lower = main_scene.CENTER_FREQ_HZ + scene.occupied_edges(plan)[0]
                grid = scene.carrier_grid(plan, np.random.default_rng(np.random.SeedSequence([seed, i, 1 + j])), fs, n)
                knobs = {"traffic": plan.traffic, "scs_khz": plan.scs_hz / 1e3, "snr_db": round(plan.snr_db, 1),
                         "visible_iou": round(visible_iou(plan, grid), 4)}  # fmt: skip
                where = {"recording": f"capture_{i:03d}.sigmf-meta", "lower_hz": round(lower), "pci": plan.cell.pci}
                carriers.append(where | {"bandwidth_mhz": plan.cell.bandwidth_hz / 1e6, **knobs})
        print(f"scene {i}: {len(plans)} carriers ({sum(p.kind == 'NR' for p in plans)} NR)", flush=True)
    return carriers


def per_regime(results: list[dict], carriers: list[dict]) -> list[dict]:
    """NR carriers per rendering and traffic regime: how many, labelled right, frequency IoU >= 0.9, PCI found; and
    how many used at least 0.9 (IoU) of their band during the capture (``visible``: :func:`visible_iou`), and of
    those how many ``annotate`` gave IoU >= 0.9."""
    truth = {(c["recording"], c["lower_hz"]): c for c in carriers}
    rows = []
    for res in results:
        records = json.loads(Path(res["report"]).read_text())["records"]
        groups: dict[str, list[dict]] = {}
        for r in records:
            if r["type"] == "NR":
                groups.setdefault(r["group"], []).append(r)
        for regime, recs in sorted(groups.items()) + [("all", [r for v in groups.values() for r in v])]:
            known = [(r, truth[(r["recording"], round(r["lower_hz"]))]) for r in recs]
            visible = [r for r, c in known if c["visible_iou"] >= 0.9]
            row = {"rendering": res["rendering"], "regime": regime, "NR": len(recs)}
            row |= {
                "right": sum(r["outcome"] == "right" for r in recs),
                "IoU>=0.9": sum(r["freq_iou"] >= 0.9 for r in recs),
            }
            row |= {"PCI found": sum(r["pci"] == c["pci"] for r, c in known), "visible": len(visible)}
            row["visible, IoU>=0.9"] = sum(r["freq_iou"] >= 0.9 for r in visible)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scene_arguments(ap, captures=24, seed=91)
    ap.add_argument("--renderings", default=",".join(RENDERINGS))
    ap.add_argument("--sample-rate", type=float, default=FS, help="Hz (the generators' rates: 30.72e6, 61.44e6, ...)")
    ap.add_argument("--ms", type=float, default=MS, help="capture length")
    ap.add_argument("--name", default="annotate_py3gpp")
    ap.add_argument("--results-dir", type=Path, default=None, help="where the JSON goes (default benchmarks/results)")
    args = ap.parse_args(argv)
    if py3gpp is None:
        print("annotate_py3gpp: py3gpp is not installed (pip install py3gpp==0.6.0; AGPL, benchmark only)",
              file=sys.stderr)  # fmt: skip
        return 2
    renderings = [r for r in args.renderings.split(",") if r]
    if set(renderings) - set(RENDERINGS):
        ap.error(f"unknown renderings {sorted(set(renderings) - set(RENDERINGS))}; choose from {', '.join(RENDERINGS)}")

    t0 = time.perf_counter()
    carriers = write_captures(args.work, renderings, args.captures, args.seed, args.sample_rate, args.ms)
    print(f"{args.captures} scenes x {len(renderings)} renderings written in {time.perf_counter() - t0:.0f} s")
    rows, results = [], []
    for name in renderings:
        t = time.perf_counter()
        out = args.work / f"score_{name}"
        rep = evaluate_annotate(args.model, args.work / name, out, progress=False)
        px, car = rep["pixel"], rep["carriers"]
        nr, lte = car["NR"], car.get("LTE", {})
        row = {"rendering": name, "pixel mean": px["mean_class_accuracy"], "NR px": px["per_class_accuracy"]["NR"]}
        row |= {"NR right": nr["accuracy"], "NR n": nr["n"], "LTE right": lte.get("accuracy"), "LTE n": lte.get("n")}
        row |= {"NR IoU": nr["freq_iou_mean"], "NR IoU>=0.9": nr["freq_iou_ge_0.9"], "false boxes": rep["false_boxes"]}
        row["s"] = time.perf_counter() - t
        rows.append(row)
        results.append(row | {"report": str(out / "annotate_score.json")})
    print_table(rows)
    regimes = per_regime(results, carriers)
    print_table(regimes)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    write_results(
        args.name,
        {"settings": settings, "rows": results, "per_regime": regimes, "nr_carriers": carriers},
        args.results_dir,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
