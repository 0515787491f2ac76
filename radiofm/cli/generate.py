"""``radiofm generate``: synthetic datasets (ISM pretraining corpus, NR/LTE segmentation set, 60 GHz beams, CSI
sensing and positioning, signal identification)."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def add_parser(sub) -> None:
    p = sub.add_parser("generate", help="generate a synthetic dataset", description="Generate a synthetic dataset.")
    gsub = p.add_subparsers(dest="generator", metavar="GENERATOR", parser_class=type(p))
    gsub.required = True

    g = gsub.add_parser(
        "ism",
        help="ISM 2.4–2.65 GHz pretraining corpus as SigMF recordings",
        description="Wi-Fi, Bluetooth, BLE, Zigbee, microwave ovens, LTE/NR TDD carriers with fading "
        "and SDR impairments; one SigMF annotation per emission.",
    )
    g.add_argument("--out", required=True, type=Path, help="output folder")
    recordings = _types.count_up_to(1_000_000)
    g.add_argument("--recordings", type=recordings, default=32, help="number of recordings (default 32)")
    g.add_argument("--seed", type=_types.seed, default=0, help="seed: same seed, same bytes")
    g.add_argument("--workers", type=_types.workers, default=1, help="parallel worker processes")
    g.add_argument("--no-progress", action="store_true")
    g.set_defaults(run=_run_ism)

    n = gsub.add_parser(
        "nrlte",
        help="NR/LTE segmentation set: 256x256 spectrograms + label images",
        description="61.44 MS/s 40 ms frames with 5G NR and LTE carriers in adjacent bands; labels "
        "0 noise, 1 NR, 2 LTE. Each carrier's traffic regime is drawn from a mix (--traffic): random (per-slot "
        "random PRBs), matlab (the MATLAB 5G/LTE spectrum-sensing example's schedules), full (every PRB, LTE "
        "OCNG), idle (reference and sync signals only), gated (on for one span >= 5 ms). Each carrier also "
        "draws what real networks vary (CRS ports and boost, CFI, CORESET, SSB period/position/power, TDD "
        "pattern, LTE frame structure (--lte-frames: FDD, TDD, MBSFN subframes), fading, Doppler, frame timing); "
        "each capture gets in-band SNRs of -5..30 dB and receiver "
        "CFO, DC spike and IQ imbalance. Ranges and sources: the radiofm.synth.nrlte module docstrings.",
    )
    n.add_argument("--out", required=True, type=Path, help="output folder")
    frames = _types.count_up_to(10_000_000)
    n.add_argument("--frames", type=frames, default=64, help="number of 40 ms frames (default 64)")
    n.add_argument(
        "--split",
        choices=["train", "test"],
        default="train",
        help="train: normal noise power; test: uniform noise power",
    )
    n.add_argument("--seed", type=_types.seed, default=0)
    n.add_argument(
        "--traffic",
        default=None,
        metavar="NAMES",
        help="comma list of traffic regimes from random, matlab, full, idle, gated (default: all five, "
        "probabilities 0.25/0.25/0.20/0.10/0.20, renormalised over the names given)",
    )
    n.add_argument(
        "--generator",
        choices=["main", "alt"],
        default="main",
        help="main (default): radiofm.synth.nrlte, for training; alt: the independent second generator "
        "radiofm.synth.nrlte_alt (same layout; regimes drawn uniformly from --traffic), for validation only",
    )
    n.add_argument(
        "--lte-frames",
        default=None,
        metavar="NAMES",
        help="comma list of LTE frame structures to draw each LTE carrier's from: fdd, tdd (TS 36.211 "
        "uplink-downlink configurations 0-6, silent uplink), mbsfn (FDD with empty MBSFN subframes) (default: main "
        "generator all three, in the mix 0.6/0.25/0.15; alt generator fdd)",
    )
    n.add_argument("--iq", action="store_true", help="also write each capture as SigMF with carrier annotations")
    n.add_argument("--workers", type=_types.workers, default=1, help="parallel worker processes")
    n.add_argument("--no-progress", action="store_true")
    n.set_defaults(run=_run_nrlte)

    b = gsub.add_parser(
        "beams",
        help="60 GHz beam data in the DeepBeam HDF5 layout (4 front ends, AoA files)",
        description="A phased-array TX with a 24- or 12-beam codebook seen by a receiver in a room; front ends "
        "differ by element gain/phase errors, IQ imbalance, phase noise, CFO, PA compression. Writes "
        "OUT/*-tx-ant-<i>-rx-ant-0.h5 and OUT/aoa/*.h5 (angle of arrival).",
    )
    b.add_argument("--out", required=True, type=Path, help="output folder")
    b.add_argument("--codebook", type=int, choices=[24, 12], default=24, help="beams in the codebook (default 24)")
    b.add_argument("--front-ends", type=_types.count_up_to(64), default=4, help="transmit front ends (default 4)")
    b.add_argument(
        "--frames", type=_types.count_up_to(100_000), default=32, help="frames per (gain, beam) (default 32)"
    )
    b.add_argument("--waveform", choices=["ofdm", "sc", "mixed"], default="ofdm", help="TX waveform (default ofdm)")
    b.add_argument("--no-aoa", action="store_true", help="skip the angle-of-arrival files")
    b.add_argument("--seed", type=_types.seed, default=0, help="seed: same seed, same bytes")
    b.add_argument("--workers", type=_types.workers, default=1, help="parallel worker processes")
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(run=_run_beams)

    s = gsub.add_parser(
        "signals",
        help="signal identification: SigMF captures of the 20 CommRad RF classes",
        description="IQ captures at 2.048 MS/s of ADS-B, airband, AIS, APT, Bluetooth, cellular, DAB, digital "
        "speech, FM, LoRa, Morse, OOK, packet, POCSAG, RTTY, keyless entry, RS41, SSTV, VOR and Wi-Fi, each from its "
        "modulation and timing, through fading, noise and an SDR front end. Writes OUT/<class>/<class>_NNNN.sigmf-* "
        "(core:label = class in every annotation) and OUT/manifest.json.",
    )
    s.add_argument("--out", required=True, type=Path, help="output folder")
    s.add_argument("--per-class", type=_types.count_up_to(100_000), default=50, help="captures per class (default 50)")
    s.add_argument("--duration", type=_types.positive_float, default=0.25, help="capture length in s (default 0.25)")
    s.add_argument("--classes", default=None, metavar="NAMES", help="comma list of class names (default: all 20)")
    s.add_argument(
        "--datatype",
        choices=["cu8", "ci8", "ci16_le", "cf32_le"],
        default="cu8",
        help="sample format (default cu8, as an RTL-SDR records)",
    )
    s.add_argument("--seed", type=_types.seed, default=0, help="seed: same seed, same bytes")
    s.add_argument("--workers", type=_types.workers, default=1, help="parallel worker processes")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(run=_run_signals)

    from radiofm.cli.generate_csi import add_generators

    add_generators(gsub)


def _run_ism(args: argparse.Namespace) -> int:
    from radiofm.data.ism import generate_corpus

    paths = generate_corpus(
        args.out, n_recordings=args.recordings, seed=args.seed, workers=args.workers, progress=not args.no_progress
    )
    print(f"wrote {len(paths)} recordings to {args.out}")
    return 0


def _run_nrlte(args: argparse.Namespace) -> int:
    from radiofm.data.nrlte import generate_dataset
    from radiofm.synth.nrlte.traffic import REGIMES
    from radiofm.synth.nrlte_alt.lte import FRAME_STRUCTURES

    traffic = None if args.traffic is None else _args.name_list(args.traffic, REGIMES, "--traffic", "traffic regime")
    lte_frames = (
        None
        if args.lte_frames is None
        else _args.name_list(args.lte_frames, FRAME_STRUCTURES, "--lte-frames", "LTE frame structure")
    )
    out = generate_dataset(
        args.out,
        n_frames=args.frames,
        split=args.split,
        seed=args.seed,
        traffic=traffic,
        iq=args.iq,
        generator=args.generator,
        lte_frames=lte_frames,
        workers=args.workers,
        progress=not args.no_progress,
    )
    which = "" if args.generator == "main" else f" ({args.generator} generator)"
    print(f"wrote {args.frames} {args.split} frames{which} to {out}")
    return 0


def _run_beams(args: argparse.Namespace) -> int:
    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.synth.beams import BeamConfig

    config = BeamConfig(
        n_beams=args.codebook, n_front_ends=args.front_ends, frames_per_beam_gain=args.frames, waveform=args.waveform
    )
    manifest = generate_beam_dataset(
        args.out, config, seed=args.seed, aoa=not args.no_aoa, workers=args.workers, progress=not args.no_progress
    )
    print(f"wrote {len(manifest['files'])} DeepBeam files to {args.out}")
    return 0


def _run_signals(args: argparse.Namespace) -> int:
    from radiofm.data.signals import write_signal_dataset
    from radiofm.synth.signals import CLASSES

    classes = _args.name_list(args.classes, CLASSES, "--classes", "signal class") if args.classes else None
    files = write_signal_dataset(
        args.out,
        per_class=args.per_class,
        seed=args.seed,
        duration_s=args.duration,
        workers=args.workers,
        progress=not args.no_progress,
        classes=classes,
        datatype=args.datatype,
    )
    print(f"wrote {len(files)} captures of {len(files.classes)} classes to {args.out}")
    return 0
