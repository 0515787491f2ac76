"""Carrier labels from ``radiofm annotate`` on captures of both NR/LTE generators, per traffic regime and class.

For each generator (``main``: :func:`radiofm.synth.nrlte.make_frame`; ``alt``: the independent
:func:`radiofm.synth.nrlte_alt.make_capture`) and each traffic regime, ``--captures`` test-split captures (40 ms,
61.44 MS/s, every carrier of that regime; seeds ``SeedSequence([seed, generator, regime, i])``) are written as
SigMF and annotated with the segmentation model ``--model`` (:func:`radiofm.annotate.annotate_recording`, PHY
stage on). Each true carrier is matched to the annotation overlapping it in time with the largest frequency IoU
(>= 0.5: found; else missed); its label with the PHY stage is that annotation's ``core:label``, without it the
rule applied to the same annotation's pooled spectrogram scores (``radiofm.annotate.decide.decide(scores,
None)``: the boxes are the same, only the decision differs — exactly what ``--no-phy`` writes). Annotations
matching no carrier are counted as false boxes, each recorded with the share of its band inside a true carrier on
at the same time (>= 0.5: a fragment of that carrier, else spurious). ``--model energy`` replaces the model by a
model-free energy detector (a pixel is a carrier when >= 3 dB above the image's 30th percentile, p(NR) = p(LTE)):
it isolates the physical-layer stage (without it, every carrier is "unknown").

    .venv/bin/python benchmarks/annotate_labels.py --model RUN [--captures 8] [--generators main,alt]
        [--regimes random,matlab,full,idle,gated] [--seed 0] [--threshold 0.5] [--no-lte-scan] [--no-nr-scan]
        [--no-scan-nr] [--no-scan-lte] [--scan-all] [--name annotate_labels]

Prints one row per generator x regime x class (right / wrong / unknown / missed, with and without PHY; the
frequency IoU of each true carrier's band with its best annotation, 0 when none overlaps it, as a mean and as the
share >= 0.9; how many found carriers got PHY-measured edges), totals per generator and class over all carriers
(a missed carrier is not right), and the PHY stage's CPU time per carrier; writes
``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import print_table, write_results
from _nrlte_cases import FS, REGIMES, cases

from radiofm.annotate import annotate_recording, model_predictor
from radiofm.annotate.decide import MIN_SCORE, PHY_MAX_MS, decide
from radiofm.annotate.score import AnnotateScore, match
from radiofm.data import open_recording, write_sigmf
from radiofm.data.sigmf_format import Annotation
from radiofm.tasks.segmentation import load_segmentation_model


def energy_predictor(images: np.ndarray, frames) -> np.ndarray:
    """Model-free stand-in: carrier where a 3-column average is >= 3 dB above the image's 30th percentile."""
    from scipy import ndimage

    out = np.zeros((len(images), 3, 256, 256), np.float32)
    for i, img in enumerate(images):
        smooth = ndimage.uniform_filter1d(img, 3, axis=1)
        m = (smooth >= np.percentile(img, 30) + 3.0).astype(np.float32)
        out[i, 1] = out[i, 2] = 0.49 * m
        out[i, 0] = 1 - 0.98 * m
    return out


def _false_box(a, truth: list[dict]) -> dict:
    """An annotation matching no carrier: its band, label, and the largest share of its band that lies inside one
    true carrier active at the same time (>= 0.5: a fragment of that carrier; else a spurious box)."""
    lo, hi = a.freq_lower_edge_hz, a.freq_upper_edge_hz
    inside, kind = 0.0, None
    for c in truth:
        t0, t1 = c["sample_start"], c["sample_start"] + c["sample_count"]
        if a.sample_start >= t1 or a.sample_start + a.sample_count <= t0:
            continue
        share = max(min(hi, c["upper_edge_hz"]) - max(lo, c["lower_edge_hz"]), 0.0) / max(hi - lo, 1.0)
        if share > inside:
            inside, kind = share, c["type"]
    return {
        "band_mhz": [round(lo / 1e6, 2), round(hi / 1e6, 2)],
        "label": a.label,
        "inside_carrier": round(inside, 3),
        "carrier_type": kind,
        "fragment": inside >= 0.5,
    }


def _totals(counts: dict, ious: dict) -> dict:
    """Per generator and class over all regimes: labels right with PHY over ALL true carriers (a missed carrier
    counts as not right), and the frequency IoU (mean, share >= 0.9) over all true carriers."""
    out = {}
    for gen, kind in sorted({(g, k) for g, _, k in counts}):
        keys = [key for key in counts if key[0] == gen and key[2] == kind]
        n = sum(counts[key]["n"] for key in keys)
        iou = np.concatenate([ious[key] for key in keys])
        out[f"{gen}/{kind}"] = {
            "n": n,
            "right_phy_of_all": round(sum(counts[key]["phy_right"] for key in keys) / n, 3),
            "right_nophy_of_all": round(sum(counts[key]["nophy_right"] for key in keys) / n, 3),
            "iou_mean": round(float(iou.mean()), 3),
            "iou_ge_0.9": round(float((iou >= 0.9).mean()), 3),
        }
    return out


def _as_annotation(c: dict) -> Annotation:
    return Annotation(c["sample_start"], c["sample_count"], c["lower_edge_hz"], c["upper_edge_hz"], c["type"])


def _pixel_rows(pixels: dict) -> list[dict]:
    """Pixel scores of annotate's boxes per generator and regime, then per generator over the regimes other than
    ``matlab`` (the demo model's training regimes: in distribution for ``main``) and over ``matlab``."""
    groups = {f"{g}/{r}": [(g, r)] for g, r in sorted(pixels)}
    for gen in sorted({g for g, _ in pixels}):
        keys = [(g, r) for g, r in pixels if g == gen and r != "matlab"]
        if keys:
            groups[f"{gen}/not matlab"] = keys
    rows = []
    for name, keys in groups.items():
        score = AnnotateScore()
        for key in keys:
            score += pixels[key]
        px = score.report()["pixel"]
        acc = px["per_class_accuracy"]
        rows.append(
            {"group": name, "pixel_mca": round(px["mean_class_accuracy"], 4)}
            | {f"acc_{c}": None if v is None else round(v, 4) for c, v in acc.items()}
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="segmentation run folder, or 'energy' (no model)")
    ap.add_argument("--captures", type=int, default=8, help="captures per generator and regime")
    ap.add_argument("--generators", default="main,alt")
    ap.add_argument("--regimes", default=",".join(REGIMES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phy-max-ms", type=float, default=PHY_MAX_MS)
    ap.add_argument("--min-score", type=float, default=MIN_SCORE)
    ap.add_argument("--threshold", type=float, default=0.5, help="annotate's p(carrier) threshold")
    ap.add_argument("--no-lte-scan", action="store_true", help="skip annotate.lte_scan (compare without it)")
    ap.add_argument("--no-nr-scan", action="store_true", help="skip annotate.nr_scan (compare without it)")
    ap.add_argument("--no-scan-nr", action="store_true", help="annotate --no-scan-nr (no blind NR SSB search)")
    ap.add_argument("--no-scan-lte", action="store_true", help="annotate --no-scan-lte (no blind LTE cell search)")
    ap.add_argument("--scan-all", action="store_true", help="both blind searches: the default, kept for older commands")
    ap.add_argument("--name", default="annotate_labels")
    args = ap.parse_args()
    if args.scan_all and (args.no_scan_nr or args.no_scan_lte):
        ap.error("--scan-all cannot be used with --no-scan-nr or --no-scan-lte")
    skipped = [name for name, off in (("find_lte_cells", args.no_lte_scan), ("find_nr_cells", args.no_nr_scan)) if off]
    if skipped:  # compare against annotate without the LTE / NR cell stages
        import radiofm.annotate.run as annotate_run

        for name in skipped:
            setattr(annotate_run, name, lambda boxes, decisions, *a, **k: (list(boxes), list(decisions), 0))
    if args.model == "energy":
        predictor = energy_predictor
    else:
        model, info = load_segmentation_model(args.model)
        predictor = model_predictor(model, info)
    counts: dict = defaultdict(lambda: defaultdict(int))
    ious: dict = defaultdict(list)  # frequency IoU of each true carrier with its best annotation (0: none)
    measured: dict = defaultdict(int)  # found carriers whose edges the PHY stage measured
    carriers_out, phy_cpu, total_cpu, false_boxes, false_out = [], [], [], defaultdict(int), []
    pixels: dict = defaultdict(AnnotateScore)  # (generator, regime) -> annotate's boxes scored per pixel
    with tempfile.TemporaryDirectory() as tmp:
        for gen, regime, i, iq, truth in cases(
            args.captures, args.seed, args.generators.split(","), args.regimes.split(",")
        ):
            rec = open_recording(write_sigmf(Path(tmp) / "c", iq, sample_rate_hz=FS))
            t0 = time.process_time()
            res = annotate_recording(
                rec,
                predictor,
                phy=True,
                phy_max_ms=args.phy_max_ms,
                min_score=args.min_score,
                threshold=args.threshold,
                scan_nr=not args.no_scan_nr,
                scan_lte=not args.no_scan_lte,
            )
            total_cpu.append(time.process_time() - t0)
            if res.phy and res.phy["carriers"]:
                phy_cpu.append(res.phy["cpu_s"] / res.phy["carriers"])
            truth_anns = [_as_annotation(c) for c in truth]
            pixels[(gen, regime)].add(
                truth_anns,
                res.annotations,
                n_samples=len(iq),
                lower_hz=-FS / 2,
                upper_hz=FS / 2,
            )
            used = set()
            for c, c_ann in zip(truth, truth_anns, strict=True):
                a, iou = match(c_ann, res.annotations)
                key = (gen, regime, c["type"])
                counts[key]["n"] += 1
                ious[key].append(iou)
                if a is not None:
                    measured[key] += a.extra.get("radiofm:edges") == "measured"
                if a is None:
                    counts[key]["missed"] += 1
                    with_phy = without = "missed"
                else:
                    used.add(id(a))
                    with_phy = a.label
                    without = decide(a.extra["radiofm:scores"], None, min_score=args.min_score)[0]
                for tag, lab in (("phy", with_phy), ("nophy", without)):
                    if lab != "missed":
                        out = "right" if lab == c["type"] else "unknown" if lab == "unknown" else "wrong"
                        counts[key][f"{tag}_{out}"] += 1
                carriers_out.append(
                    {
                        "generator": gen,
                        "regime": regime,
                        "capture": i,
                        "type": c["type"],
                        "snr_db": round(float(c.get("snr_db", float("nan"))), 1),
                        "bandwidth_hz": c.get("bandwidth_hz"),
                        "freq_iou": round(float(iou), 4),
                        "edges": None if a is None else a.extra.get("radiofm:edges"),
                        "label_phy": with_phy,
                        "label_nophy": without,
                        "scores": None if a is None else a.extra["radiofm:scores"],
                        "decision": None if a is None else a.extra["radiofm:decision"],
                        "pci": None if a is None else a.extra.get("radiofm:pci"),
                        "true_pci": c.get("pci", c.get("n_id_cell")),
                    }
                )
            unmatched = [a for a in res.annotations if id(a) not in used]
            false_boxes[(gen, regime)] += len(unmatched)
            for a in unmatched:
                false_out.append({"generator": gen, "regime": regime, "capture": i} | _false_box(a, truth))
    rows = []
    for (gen, regime, kind), k in sorted(counts.items()):
        n = k["n"]
        rows.append(
            {
                "generator": gen,
                "regime": regime,
                "class": kind,
                "n": n,
                "missed": k["missed"],
                "iou_mean": round(float(np.mean(ious[(gen, regime, kind)])), 3),
                "iou_ge_0.9": round(float(np.mean(np.asarray(ious[(gen, regime, kind)]) >= 0.9)), 3),
                "edges_measured": measured[(gen, regime, kind)],
                "phy_right": round(k["phy_right"] / n, 3),
                "phy_wrong": round(k["phy_wrong"] / n, 3),
                "phy_unknown": round(k["phy_unknown"] / n, 3),
                "nophy_right": round(k["nophy_right"] / n, 3),
                "nophy_wrong": round(k["nophy_wrong"] / n, 3),
                "nophy_unknown": round(k["nophy_unknown"] / n, 3),
            }
        )
    print_table(rows)
    pixel_rows = _pixel_rows(pixels)
    print_table(pixel_rows)
    summary = {
        "all_carriers": _totals(counts, ious),
        "phy_cpu_s_per_carrier": {
            "median": float(np.median(phy_cpu)) if phy_cpu else None,
            "max": float(np.max(phy_cpu)) if phy_cpu else None,
        },
        "annotate_cpu_s_per_capture_median": float(np.median(total_cpu)),
        "false_boxes": {f"{g}/{r}": v for (g, r), v in sorted(false_boxes.items())},
        "false_boxes_that_are_fragments": sum(f["fragment"] for f in false_out),
    }
    print(summary)
    path = write_results(
        args.name,
        {
            "model": str(args.model),
            "captures_per_regime": args.captures,
            "seed": args.seed,
            "phy_max_ms": args.phy_max_ms,
            "min_score": args.min_score,
            "rows": rows,
            "summary": summary,
            "threshold": args.threshold,
            "lte_scan": not args.no_lte_scan,
            "nr_scan": not args.no_nr_scan,
            "scan_nr": not args.no_scan_nr,
            "scan_lte": not args.no_scan_lte,
            "pixels": pixel_rows,
            "carriers": carriers_out,
            "false_boxes": false_out,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
