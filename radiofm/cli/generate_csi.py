"""``radiofm generate sensing`` and ``radiofm generate positioning``: the synthetic CSI data sets (issue 10)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _types


def add_generators(gsub) -> None:
    """Add the ``sensing`` and ``positioning`` generators to ``radiofm generate``'s sub-parsers."""
    s = gsub.add_parser(
        "sensing",
        help="CSI human activity set in the NTU-Fi HAR layout (.mat, 6 activities)",
        description="NTU-Fi HAR stand-in: ROOT/{train_amp,test_amp}/<class>/*.mat with CSIamp 342x2000 (3 antennas "
        "x 114 subcarriers x 2000 packets at 500 Hz), classes box, circle, clean, fall, run, walk. One room: static "
        "multipath per link plus body paths whose Doppler and amplitude follow each activity's motion "
        "(radiofm.synth.csi_har). Default size = the official split, 156/44 files per class (936/264).",
    )
    s.add_argument("--out", required=True, type=Path, help="output folder ROOT")
    s.add_argument("--train-per-class", type=_types.positive_int, default=156, help="train files per class (156)")
    s.add_argument("--test-per-class", type=_types.positive_int, default=44, help="test files per class (44)")
    s.add_argument("--mat-version", choices=["5", "7.3"], default="5", help="MATLAB file version (default 5)")
    s.add_argument("--seed", type=_types.seed, default=0, help="seed: same seed, same bytes")
    s.add_argument("--workers", type=_types.workers, default=1, help="parallel worker processes")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(run=_run_sensing)

    p = gsub.add_parser(
        "positioning",
        help="5G NR positioning CSI (4 base stations) as MATLAB v7.3 train.mat / test.mat",
        description="UEs in an outdoor scene seen by 4 base stations through geometric multipath (LoS, buildings, "
        "scatterers); per-BS CSI magnitude images over antennas x subcarriers, in the public dataset's layout "
        "(features (N, 4, H, W), labels/position (N, 3) in m). Test UEs are >= 0.25 m from every training UE.",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder (train.mat, test.mat, scene.json)")
    p.add_argument("--train", type=_types.positive_int, default=3100, help="training UEs (default 3100)")
    p.add_argument("--test", type=_types.positive_int, default=776, help="test UEs (default 776)")
    p.add_argument("--seed", type=_types.seed, default=0, help="seed: same seed, same bytes")
    p.add_argument(
        "--phase",
        action="store_true",
        help="also 4 phase channels (each BS's phase relative to its first antenna and tone, in [-1, 1]): "
        "features (N, 8, H, W); the public files hold magnitude only",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_run_positioning)


def _run_sensing(args: argparse.Namespace) -> int:
    from radiofm.data.ntufi import write_ntufi

    root = write_ntufi(
        args.out,
        args.train_per_class,
        args.test_per_class,
        seed=args.seed,
        workers=args.workers,
        progress=not args.no_progress,
        mat_version=args.mat_version,
    )
    n = 6 * (args.train_per_class + args.test_per_class)
    print(f"wrote {n} NTU-Fi .mat files (v{args.mat_version}) to {root}")
    return 0


def _run_positioning(args: argparse.Namespace) -> int:
    from radiofm.data.positioning import write_positioning_files
    from radiofm.synth.positioning import PositioningConfig

    config = PositioningConfig(phase=args.phase)
    paths = write_positioning_files(
        args.out, args.train, args.test, seed=args.seed, config=config, progress=not args.no_progress
    )
    channels = "magnitude and phase" if args.phase else "magnitude"
    print(f"wrote {args.train} training and {args.test} test UEs ({channels}) to {paths['train'].parent}")
    return 0
