"""``radiofm annotate REC --model RUN --out PREFIX``: find NR/LTE carriers in a recording with a segmentation model.

Writes ``PREFIX.sigmf-meta`` (one annotation per carrier and time span, beside the input's own annotations; an
earlier annotate's are replaced), ``PREFIX.sigmf-data`` (the input samples: a hard link to the input's data file
where the filesystem allows, else a byte copy) and ``PREFIX.png`` (spectrogram overlay), all or nothing; the input
is only read. The pipeline and its assumptions are described in :mod:`radiofm.annotate`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from radiofm.cli import _args, _types

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
        "and write one SigMF annotation per detected NR/LTE carrier and time span (core:generator 'radiofm VERSION "
        "annotate'), beside the recording's own annotations.",
        epilog=_EPILOG,
    )
    p.add_argument("recording", metavar="REC", type=Path, help=".sigmf-meta, .sigmf-data, base name, or .npy")
    p.add_argument(
        "--model", required=True, type=Path, help="segmentation model folder (radiofm finetune segmentation)"
    )
    p.add_argument("--out", required=True, type=Path, help="output prefix: writes PREFIX.sigmf-meta/-data and .png")
    p.add_argument(
        "--threshold",
        type=_types.ratio,
        default=0.5,
        metavar="P",
        help="a pixel is a carrier when p(NR) + p(LTE) >= P (default 0.5; lower finds weaker carriers)",
    )
    p.add_argument(
        "--min-duration-ms",
        metavar="MS",
        type=_types.positive_float,
        default=1.0,
        help="drop shorter detections (default 1 ms)",
    )
    p.add_argument(
        "--min-bandwidth-khz",
        type=_types.positive_float,
        default=900.0,
        metavar="KHZ",
        help="drop narrower detections (default 900 kHz; LTE 1.4 MHz occupies 1.08 MHz)",
    )
    p.add_argument(
        "--batch-size", metavar="B", type=_types.positive_int, default=16, help="images per model call (default 16)"
    )
    p.add_argument(
        "--repair-nonfinite",
        action="store_true",
        help="set NaN/Inf samples to 0 for the analysis instead of refusing (the data copy keeps them)",
    )
    p.add_argument(
        "--no-phy",
        action="store_true",
        help="label carriers from the spectrogram scores only (no PSS/SSS, DC-null and bandwidth evidence)",
    )
    p.add_argument(
        "--scan-all",
        action="store_true",
        help="search the band outside the identified cells (first 40 ms) for NR and LTE cells the model missed: the "
        "default since session 22, kept so older commands run (not with --follow, --no-phy or --no-scan-*)",
    )
    p.add_argument(
        "--no-scan-nr",
        action="store_true",
        help="do not search the band outside the identified cells for NR SSBs the model missed (first 40 ms; "
        "~1.4 CPU-s per recording; implied by --follow and --no-phy)",
    )
    p.add_argument(
        "--no-scan-lte",
        action="store_true",
        help="do not search the band outside the identified cells for LTE cells the model missed (first 40 ms; "
        "~2 CPU-s per recording; implied by --follow and --no-phy)",
    )
    p.add_argument(
        "--phy-max-ms",
        type=_types.positive_float,
        default=20.0,
        metavar="MS",
        help="samples of each carrier the physical-layer stage analyses (default 20 ms)",
    )
    p.add_argument(
        "--min-score",
        type=_types.ratio,
        default=0.75,
        metavar="P",
        help="pooled spectrogram score a label needs without decisive physical-layer evidence, else 'unknown' "
        "(default 0.75)",
    )
    p.add_argument(
        "--sample-rate",
        dest="sample_rate_hz",
        type=_types.positive_float,
        default=None,
        metavar="HZ",
        help="sample rate for a recording that gives none (a .npy without .json sidecar); overrides the file's",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-picture", action="store_true", help="write no PREFIX.png (and spend no time on it)")
    p.add_argument(
        "--copy-data",
        action="store_true",
        help="write PREFIX.sigmf-data as a byte copy of the input's samples (default: a hard link to the input's "
        "data file where both are on one filesystem: no time or space spent; with --follow, a link only when the "
        "samples analysed are the whole file when the run ends, else a copy of exactly those; a linked output shares "
        "the input's bytes, so pass --copy-data when the writer may go on writing)",
    )
    p.add_argument(
        "--quantize",
        choices=("none", "int8", "bf16"),
        default="none",
        help="int8: dynamically quantised transformer blocks on the CPU; bf16: bfloat16 autocast (CPUs with "
        "AVX512-BF16 or AMX, and CUDA); both faster, with slightly different probabilities (measured in the "
        "project's docs/RESULTS.md); default none",
    )
    p.add_argument(
        "--threads",
        type=_types.threads,
        default=None,
        metavar="N",
        help="torch threads (default: one per core; with --quantize bf16 on the CPU, all but the reader thread's)",
    )
    p.add_argument(
        "--engine",
        choices=_args.ENGINES,
        default="auto",
        help="model inference: numpy (no torch import, ~2 s faster start; fp32 on the CPU, MAE models), torch, "
        "or auto: numpy on a CPU-only machine when the model allows and neither --quantize nor --threads is set "
        "(default auto)",
    )
    p.add_argument(
        "--frame-step",
        type=_types.positive_int,
        default=1,
        metavar="K",
        help="analyse only every K-th 40 ms frame (about K times faster, for monitoring long recordings): a carrier "
        "seen in consecutive analysed frames is one annotation, its start and stop known to within K-1 frames; a "
        "carrier on only in skipped frames is missed (default 1: every frame; with --follow: keeps up with a live "
        "61.44 MS/s stream on 2 cores at K=4)",
    )
    p.add_argument(
        "--prefetch",
        type=_types.non_negative_int,
        default=1,
        metavar="K",
        help="blocks a reader thread prepares ahead of the model (default 1; 0: no reader thread)",
    )
    follow = p.add_argument_group("growing recordings")
    follow.add_argument(
        "--follow",
        action="store_true",
        help="REC is still being written (meta first, samples appended): annotate blocks as they complete, "
        "append each carrier to PREFIX.live.jsonl once no later block can extend it (decided on its own; the outputs "
        "written when the stream ends decide all carriers together and are the result, and the log ends with the "
        "ones not yet in it), stop on --duration or --idle-timeout; the data file must only grow",
    )
    follow.add_argument(
        "--duration", type=_types.positive_float, default=None, metavar="SECONDS",
        help="with --follow: stop once SECONDS of samples have arrived (annotate just those)",
    )  # fmt: skip
    follow.add_argument(
        "--idle-timeout", type=_types.positive_float, default=None, metavar="SECONDS",
        help="with --follow: stop when the data file has not grown for SECONDS (default 10)",
    )  # fmt: skip
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    import json

    from radiofm.annotate import AnnotateConfig, annotate_file
    from radiofm.annotate.clean import CLIP_WARN
    from radiofm.annotate.output import output_paths
    from radiofm.heap import retain_freed_memory

    if args.scan_all and (args.follow or args.no_phy or args.no_scan_nr or args.no_scan_lte):
        print("radiofm: error: --scan-all cannot be used with --follow, --no-phy or --no-scan-*", file=sys.stderr)
        return 2
    if (args.duration is not None or args.idle_timeout is not None) and not args.follow:
        print("radiofm: error: --duration and --idle-timeout need --follow (see --help)", file=sys.stderr)
        return 2
    config = AnnotateConfig(
        threshold=args.threshold,
        min_duration_ms=args.min_duration_ms,
        min_bandwidth_khz=args.min_bandwidth_khz,
        batch_size=args.batch_size,
        repair_nonfinite=args.repair_nonfinite,
        device=args.device,
        progress=not args.no_progress,
        phy=not args.no_phy,
        phy_max_ms=args.phy_max_ms,
        min_score=args.min_score,
        scan_nr=not args.no_scan_nr,
        scan_lte=not args.no_scan_lte,
        picture=not args.no_picture,
        quantize=None if args.quantize == "none" else args.quantize,
        threads=args.threads,
        engine=args.engine,
        prefetch=args.prefetch,
        follow=args.follow,
        duration_s=args.duration,
        idle_timeout_s=10.0 if args.idle_timeout is None else args.idle_timeout,
        sample_rate_hz=args.sample_rate_hz,
        copy_data=args.copy_data,
        frame_step=args.frame_step,
    )
    retain_freed_memory()  # the analysis frees and allocates arrays of megabytes hundreds of times a second
    live: list = []  # the live log, opened (emptied) with its first row: a run that fails first leaves the old one
    logged: set = set()

    def on_annotations(anns) -> None:
        if not live:
            live_path = output_paths(args.out)["meta"].with_suffix(".live.jsonl")
            live_path.parent.mkdir(parents=True, exist_ok=True)
            live.append(open(live_path, "w", encoding="utf-8"))  # noqa: SIM115 - closed below
        for a in anns:
            row = {"core:sample_start": a.sample_start, "core:sample_count": a.sample_count,
                   "core:freq_lower_edge": a.freq_lower_edge_hz, "core:freq_upper_edge": a.freq_upper_edge_hz,
                   "core:label": a.label, **a.extra}  # fmt: skip
            live[0].write(json.dumps(row) + "\n")
            logged.add(_key(a))
        live[0].flush()

    try:
        result, paths = annotate_file(
            args.recording, args.model, args.out, config, on_annotations=on_annotations if args.follow else None
        )
        if args.follow:  # the carriers still open when the stream ended: the log ends with every final carrier
            on_annotations([a for a in result.annotations if _key(a) not in logged])
    finally:
        if live:
            live[0].close()
    if result.n_repaired:
        print(f"radiofm: repaired {result.n_repaired} non-finite samples (set to 0 for the analysis)", file=sys.stderr)
    if result.tunings > 1:
        print(f"radiofm: note: the recording retunes: its {result.tunings} tunings were analysed one by one"
              f"{'' if args.no_picture else ', and no picture was drawn (one image shows one band)'}",
              file=sys.stderr)  # fmt: skip
    if result.clipped is not None and result.clipped >= CLIP_WARN:
        share = 100 * result.clipped
        print(f"radiofm: warning: {share:.2g} % of the I/Q values sit at the ADC's full scale: the receiver clipped, "
              "and its intermodulation may be boxed as carriers; lower the gain", file=sys.stderr)  # fmt: skip
    if result.image_rejection_range_db is not None:
        worst, best = result.image_rejection_range_db
        print(f"radiofm: undid the receiver's frequency-dependent I/Q imbalance (mirror images {worst:.1f} to "
              f"{best:.1f} dB under their carriers across the band) before the analysis", file=sys.stderr)  # fmt: skip
    elif result.image_rejection_db is not None:
        irr = result.image_rejection_db
        print(f"radiofm: undid the receiver's I/Q imbalance (every carrier's mirror image {irr:.1f} dB under it) "
              "before the analysis", file=sys.stderr)  # fmt: skip
    if result.lines_hz:
        where = ", ".join(f"{f / 1e6:+.4f}" for f in result.lines_hz)
        k = len(result.lines_hz)
        print(f"radiofm: removed {k} narrow receiver line{'s' if k > 1 else ''} (LO leakage or spurs) at {where} MHz "
              "from the centre before the analysis", file=sys.stderr)  # fmt: skip
    required = _required_extensions(paths["meta"])
    if required:
        names = ", ".join(required)
        print(f"radiofm: note: {Path(args.recording).name} declares the SigMF extension(s) {names} required "
              "(optional: false); radiofm does not interpret them", file=sys.stderr)  # fmt: skip
    linked = paths["data"].stat().st_nlink > 1  # made as a hard link: nothing else links a fresh copy
    wrote = [f"{p} (hard link to the input's samples)" if k == "data" and linked else str(p) for k, p in paths.items()]
    print(
        f"{len(result.annotations)} carrier annotations ({label_counts(result.annotations)}) in "
        f"{Path(args.recording).name}; wrote {', '.join(wrote)}"
    )
    return 0


def _required_extensions(meta_path: Path) -> list[str]:
    """The extensions other than radiofm's that the recording declares required, as its metadata (carried into
    the output's) lists them: the specification asks a reader that does not implement one to say so."""
    import json

    exts = json.loads(meta_path.read_text(encoding="utf-8"))["global"].get("core:extensions", [])
    return [str(e.get("name")) for e in exts if e.get("optional") is False and e.get("name") != "radiofm"]


def _key(a) -> tuple:
    return a.sample_start, a.sample_count, a.freq_lower_edge_hz, a.freq_upper_edge_hz, a.label


def label_counts(annotations) -> str:
    """The annotations' labels, and what left each "unknown" (its ``radiofm:decision``), e.g.
    "3 NR, 1 LTE, 2 unknown: 1 NR unconfirmed, 1 no OFDM"."""
    n = {lab: sum(a.label == lab for a in annotations) for lab in ("NR", "LTE", "unknown")}
    why = Counter((a.extra or {}).get("radiofm:decision") or "undecided" for a in annotations if a.label == "unknown")
    reasons = ": " + ", ".join(f"{k} {r}" for r, k in sorted(why.items())) if why else ""
    return f"{n['NR']} NR, {n['LTE']} LTE, {n['unknown']} unknown{reasons}"
