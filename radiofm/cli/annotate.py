"""``radiofm annotate REC --model RUN --out PREFIX``: find NR/LTE carriers in a recording with a segmentation model.

Writes ``PREFIX.sigmf-meta`` (one annotation per carrier and time span), ``PREFIX.sigmf-data`` (a byte copy of
the input samples) and ``PREFIX.png`` (spectrogram overlay), all or nothing; the input is only read. The
pipeline and its assumptions are described in :mod:`radiofm.annotate`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from radiofm.cli import _args

_EPILOG = (
    "Supported input: complex single-channel SigMF (any SigMF datatype) or a complex .npy with a .json sidecar "
    "giving sample_rate_hz; sample rates 1.92 MS/s to 491.52 MS/s (61.44 MS/s natively; lower rates are resampled "
    "to it, higher ones analysed in 61.44 MHz windows); durations from 10 ms up (any length, processed in "
    "blocks). Frequencies are absolute when the recording gives a centre frequency, baseband otherwise."
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "annotate",
        help="detect NR/LTE carriers in a recording and write annotated SigMF + an overlay PNG",
        description="Slide a segmentation model over a recording (40 ms frames at 61.44 MS/s, 256x256 dB images) "
        "and write one SigMF annotation per detected NR/LTE carrier and time span.",
        epilog=_EPILOG,
    )
    p.add_argument("recording", metavar="REC", type=Path, help=".sigmf-meta, .sigmf-data, base name, or .npy")
    p.add_argument(
        "--model", required=True, type=Path, help="segmentation model folder (radiofm finetune segmentation)"
    )
    p.add_argument("--out", required=True, type=Path, help="output prefix: writes PREFIX.sigmf-meta/-data and .png")
    p.add_argument(
        "--threshold",
        type=_args.ratio,
        default=0.5,
        metavar="P",
        help="a pixel is a carrier when p(NR) + p(LTE) >= P (default 0.5; lower finds weaker carriers)",
    )
    p.add_argument(
        "--min-duration-ms",
        metavar="MS",
        type=_args.positive_float,
        default=1.0,
        help="drop shorter detections (default 1 ms)",
    )
    p.add_argument(
        "--min-bandwidth-khz",
        type=_args.positive_float,
        default=900.0,
        metavar="KHZ",
        help="drop narrower detections (default 900 kHz; LTE 1.4 MHz occupies 1.08 MHz)",
    )
    p.add_argument(
        "--batch-size", metavar="B", type=_args.positive_int, default=16, help="images per model call (default 16)"
    )
    p.add_argument(
        "--repair-nonfinite",
        action="store_true",
        help="set NaN/Inf samples to 0 for the analysis instead of refusing (the data copy keeps them)",
    )
    p.add_argument(
        "--sample-rate",
        dest="sample_rate_hz",
        type=_args.positive_float,
        default=None,
        metavar="HZ",
        help="sample rate for a recording that gives none (a .npy without .json sidecar); overrides the file's",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from radiofm.annotate import AnnotateConfig, annotate_file

    config = AnnotateConfig(
        threshold=args.threshold,
        min_duration_ms=args.min_duration_ms,
        min_bandwidth_khz=args.min_bandwidth_khz,
        batch_size=args.batch_size,
        repair_nonfinite=args.repair_nonfinite,
        device=args.device,
        progress=not args.no_progress,
        sample_rate_hz=args.sample_rate_hz,
    )
    result, paths = annotate_file(args.recording, args.model, args.out, config)
    if result.n_repaired:
        print(f"radiofm: repaired {result.n_repaired} non-finite samples (set to 0 for the analysis)", file=sys.stderr)
    counts = {lab: sum(a.label == lab for a in result.annotations) for lab in ("NR", "LTE")}
    print(
        f"{len(result.annotations)} carrier annotations ({counts['NR']} NR, {counts['LTE']} LTE) in "
        f"{Path(args.recording).name}; wrote {paths['meta']}, {paths['data']}, {paths['png']}"
    )
    return 0
