"""``radiofm fewshot train|evaluate|classify``: prototypical networks (ProtoBeam, ProtoAoA) and encoder prototypes."""

from __future__ import annotations

import argparse
from pathlib import Path

from radiofm.cli import _args, _types


def shot_list(text: str) -> tuple[int, ...]:
    """'2,4,8' -> (2, 4, 8): distinct shot counts in the order given."""
    if not text.replace(" ", "").replace(",", ""):
        raise argparse.ArgumentTypeError("expected a comma-separated list of shots, e.g. 2,4,8,16,32")
    return tuple(_types.distinct_int_list(text))


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fewshot",
        help="few-shot classification: ProtoBeam/ProtoAoA and encoder prototypes",
        description="Prototypical networks on DeepBeam-layout I/Q, and prototypes on any radiofm encoder.",
    )
    fsub = p.add_subparsers(dest="fewshot_command", metavar="COMMAND", parser_class=type(p))
    fsub.required = True

    t = fsub.add_parser(
        "train",
        help="episodic training on one front end (ProtoBeam; --skip K for ProtoAoA)",
        description="Episodic prototypical-network training on the DeepBeam files of one RF front end.",
    )
    t.add_argument("--data", required=True, type=Path, help="folder of DeepBeam .h5 files")
    t.add_argument(
        "--front-end",
        required=True,
        help="front end from the file names, e.g. tx-ant-0; with the file names' set-up where a folder holds several "
        "(DeepBeam's download): srf-basic-config-24-beams-tx-ant-0",
    )
    t.add_argument("--out", required=True, type=Path, help="run folder (a checkpoint)")
    t.add_argument("--model", type=_types.model_name, default="protobeam", help="model preset (default protobeam)")
    t.add_argument("--no-data-norm", action="store_true", help="no per-frame min-max scaling")
    t.add_argument("--no-augment", action="store_true", help="no amplitude/phase augmentation")
    t.add_argument("--no-proto-norm", action="store_true", help="no prototype normalisation")
    t.add_argument(
        "--proto-norm-mode",
        choices=["support", "cosine", "prototypes"],
        default=None,
        help="support: every embedding dimension standardised by the support set's statistics (default); "
        "cosine: embeddings and prototypes unit-norm, distances scaled; prototypes: only prototypes unit-norm",
    )
    t.add_argument("--proto-scale", type=_types.positive_float, default=10.0, help="cosine/support: initial scale (10)")
    t.add_argument(
        "--fixed-scale", action="store_true", help="cosine/support: keep the scale fixed instead of learning it"
    )
    t.add_argument(
        "--augment-stage",
        choices=["normalised", "raw"],
        default=None,
        help="augment after the data norm (normalised) or before it (raw) (default: ProtoTrainConfig's)",
    )
    t.add_argument("--learn-filter-bank", action="store_true", help="train the DFT-initialised filter bank too")
    t.add_argument(
        "--filter-bank-lr-scale",
        type=_types.positive_float,
        default=1.0,
        help="with --learn-filter-bank: the bank's learning rate as a share of --lr (default 1)",
    )
    t.add_argument(
        "--skip",
        type=_types.positive_int,
        default=None,
        help="ProtoAoA: angle-of-arrival files, train on the skip-K angles (one kept, K skipped)",
    )
    t.add_argument(
        "--skip-mode",
        choices=["train-every", "hold-every"],
        default=None,
        help="with --skip: train-every: keep one angle, skip K (default); hold-every: hold out every K-th",
    )
    t.add_argument("--episodes", type=_types.count_up_to(_types.MAX_EPISODES, "an episode count"), default=3000,
                   help="training episodes (default 3000)")  # fmt: skip
    t.add_argument("--n-way", type=_types.positive_int, default=8, help="classes per episode N_B (default 8)")
    t.add_argument("--n-support", type=_types.positive_int, default=4, help="support frames per class (default 4)")
    t.add_argument("--n-query", type=_types.positive_int, default=8, help="query frames per class (default 8)")
    t.add_argument("--lr", type=_types.positive_float, default=1e-3, help="peak learning rate (default 1e-3)")
    t.add_argument("--test-fraction", type=float, default=0.3, help="held out per class for TTSA (default 0.3)")
    t.add_argument(
        "--max-frames-per-label",
        type=_types.positive_int,
        default=None,
        help="read at most this many frames per label combination (large real files)",
    )
    t.add_argument("--seed", type=_types.seed, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(run=_run_train)

    e = fsub.add_parser(
        "evaluate",
        help="TTSA/TOTA accuracy vs shots (ProtoAoA runs: angle error vs shots)",
        description="Few-shot evaluation on a front end: the run's own (TTSA, held-out queries) or "
        "another (TOTA, support and queries from it).",
    )
    e.add_argument("--model", required=True, type=Path, help="run folder written by fewshot train")
    e.add_argument("--data", required=True, type=Path, help="folder of DeepBeam .h5 files")
    e.add_argument(
        "--front-end",
        required=True,
        help="front end to test on, e.g. tx-ant-1 (or srf-diagonal-config-24-beams-tx-ant-0: a set-up's files only)",
    )
    e.add_argument("--shots", type=shot_list, default=None, help="comma list (default 2,4,8,16,32; AoA 1,...,32)")
    e.add_argument("--out", required=True, type=Path, help="folder for report.json and plots")
    e.add_argument("--episodes", type=_types.count_up_to(100_000, "an episode count"), default=100,
                   help="episodes per k (default 100)")  # fmt: skip
    e.add_argument(
        "--queries",
        type=_types.positive_int,
        default=None,
        help="queries per class per episode (default 16; ProtoAoA runs: per unseen angle, default 8)",
    )
    e.add_argument("--n-way", type=_types.positive_int, default=None, help="classes per episode (default all)")
    e.add_argument("--adapt-bn", action="store_true", help="TOTA: batch-norm statistics of the new front end (AdaBN)")
    e.add_argument("--seed", type=_types.seed, default=0)
    e.add_argument("--device", default="cpu")
    e.add_argument("--no-progress", action="store_true")
    e.set_defaults(run=_run_evaluate)

    c = fsub.add_parser(
        "classify",
        help="prototypes from a labelled SigMF folder on a frozen encoder",
        description="Build class prototypes from the frozen embeddings of labelled support recordings "
        "(class = sub-folder name, or core:label annotations) and score query recordings.",
    )
    c.add_argument("--encoder", required=True, type=Path, help="any radiofm checkpoint with an encoder (mae, protonet)")
    c.add_argument("--support", required=True, type=Path, help="folder of labelled recordings")
    c.add_argument("--query", required=True, nargs="+", type=Path, help="recording(s) to classify")
    c.add_argument("--max-units", type=_types.positive_int, default=16, help="segments/frames per recording (16)")
    c.add_argument("--json", type=Path, default=None, help="also write the scores as JSON here")
    c.add_argument("--repair-nonfinite", action="store_true", help="set NaN/Inf samples to 0 instead of refusing")
    c.add_argument("--device", default="cpu")
    c.set_defaults(run=_run_classify)


def _check_train_flags(args: argparse.Namespace) -> None:
    """ConfigError for a flag the others make void (each was ignored without a word) or a model that is no
    prototypical network."""
    from radiofm.errors import ConfigError
    from radiofm.models.registry import get_family

    if get_family(args.model) != "protonet":
        raise ConfigError(f"fewshot train needs a prototypical network (protobeam, protobeam-tiny), not {args.model!r}")
    mode = args.proto_norm_mode or "support"
    void = [
        ("--proto-norm-mode", args.no_proto_norm and args.proto_norm_mode is not None, "--no-proto-norm"),
        ("--fixed-scale", args.fixed_scale and (args.no_proto_norm or mode == "prototypes"),
         "there is no scale without prototype normalisation or with --proto-norm-mode prototypes"),
        ("--augment-stage", args.no_augment and args.augment_stage is not None, "--no-augment"),
        ("--skip-mode", args.skip_mode is not None and args.skip is None, "it applies with --skip"),
    ]  # fmt: skip
    for flag, given, why in void:
        if given:
            raise ConfigError(f"{flag} has no effect here: {why}")


def _run_train(args: argparse.Namespace) -> int:
    from radiofm.tasks.fewshot import EpisodeConfig, ProtoTrainConfig, train_protonet

    _check_train_flags(args)
    label, classes = "tx_beam", None
    if args.skip is not None:
        from radiofm.data.deepbeam import load_front_end
        from radiofm.tasks.protoaoa import skip_split

        label = "angle"
        data = load_front_end(args.data, args.front_end, aoa=True, max_frames_per_label=args.max_frames_per_label)
        classes, unseen = skip_split(data.angle, args.skip, mode=args.skip_mode or "train-every")
        print(f"ProtoAoA skip-{args.skip}: training on {len(classes)} angles {classes}; {len(unseen)} held out")
    cfg = ProtoTrainConfig(
        data=str(args.data),
        front_end=args.front_end,
        model=args.model,
        data_norm=not args.no_data_norm,
        augment=not args.no_augment,
        proto_norm=not args.no_proto_norm,
        **({"proto_norm_mode": args.proto_norm_mode} if args.proto_norm_mode else {}),
        **({"augment_stage": args.augment_stage} if args.augment_stage else {}),
        proto_scale=args.proto_scale,
        learn_scale=not args.fixed_scale,
        label=label,
        classes=None if classes is None else tuple(classes),
        episode=EpisodeConfig(args.n_way, args.n_support, args.n_query),
        episodes=args.episodes,
        lr=args.lr,
        test_fraction=args.test_fraction,
        max_frames_per_label=args.max_frames_per_label,
        seed=args.seed,
        device=args.device,
        progress=not args.no_progress,
        train_filter_bank=args.learn_filter_bank,
        filter_bank_lr_scale=args.filter_bank_lr_scale,
    )
    r = train_protonet(cfg, args.out, resume=args.resume, log=_args.say)
    final = r["final"] or {}
    print(
        f"trained on {r['front_end']} ({r['n_classes']} classes, {r['frames']['train']} frames; "
        f"{r['frames']['held_out']} held out) -> {args.out}; last episode accuracy "
        f"{final.get('train_acc', float('nan')):.3f}"
    )
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from radiofm.errors import ConfigError
    from radiofm.io import atomic_path, write_json
    from radiofm.tasks.fewshot_eval import DEFAULT_SHOTS, FewShotEvalConfig, evaluate_run, load_protonet_run
    from radiofm.tasks.fewshot_plots import plot_accuracy_vs_shots, plot_aoa_error

    model, record = load_protonet_run(args.model)
    _note_unfinished(args.model, record)
    aoa = record.get("label") == "angle" and record.get("classes")
    if aoa:
        from radiofm.tasks.protoaoa import AoAEvalConfig, evaluate_aoa

        given = {"--n-way": args.n_way is not None, "--adapt-bn": args.adapt_bn}
        ignored = [flag for flag, on in given.items() if on]
        if ignored:
            raise ConfigError(f"{' and '.join(ignored)}: not for a ProtoAoA run (every unseen angle, no AdaBN)")
        cfg = AoAEvalConfig(
            shots=args.shots or (1, 2, 4, 8, 16, 32),
            episodes=args.episodes,
            n_query=args.queries or AoAEvalConfig.n_query,
            seed=args.seed,
            device=args.device,
            progress=not args.no_progress,
        )
        report = evaluate_aoa(model, record, args.data, args.front_end, cfg)
        report["ci95"] = report["ci95_deg"]
    else:
        cfg = FewShotEvalConfig(
            shots=args.shots or DEFAULT_SHOTS,
            episodes=args.episodes,
            n_query=args.queries or FewShotEvalConfig.n_query,
            n_way=args.n_way,
            seed=args.seed,
            adapt_bn=args.adapt_bn,
            device=args.device,
            progress=not args.no_progress,
        )
        report = evaluate_run(model, record, args.data, args.front_end, cfg)
    with atomic_path(args.out) as tmp:  # the folder is replaced whole: no plot of an earlier evaluation stays
        tmp.mkdir(parents=True)
        write_json(tmp / "report.json", report)
        if aoa:
            plot_aoa_error({report["front_end"]: report}, tmp / "aoa_error_vs_shots.png", title="ProtoAoA")
        else:
            setting = report["setting"].upper()
            title = f"{setting} on {report['front_end']}"
            plot_accuracy_vs_shots({setting: report}, tmp / "accuracy_vs_shots.png", title=title)
    if aoa:
        print(f"ProtoAoA on {report['front_end']}, {len(report['unseen_angles'])} unseen angles")
        for k, v in report["mae_deg"].items():
            print(
                f"  {k:>3}-shot  error {v:5.2f}° ± {report['ci95_deg'][k]:.2f}  exact angle {report['accuracy'][k]:.3f}"
            )
    else:
        print(
            f"{report['setting'].upper()} on {report['front_end']} (trained on {report['train_front_end']}), "
            f"{report['n_way']}-way, {report['episodes']} episodes"
        )
        for k, v in report["accuracy"].items():
            print(f"  {k:>3}-shot  {100 * v:5.1f} % ± {100 * report['ci95'][k]:.1f}")
    print(f"wrote {args.out / 'report.json'}")
    return 0


def _note_unfinished(run, record: dict) -> None:
    """A line on stdout when the run was stopped before its episodes were done (killed, then not resumed)."""
    from radiofm.train.resume import saved_steps

    done, planned = saved_steps(run), record.get("episodes")
    if done is not None and isinstance(planned, int) and done < planned:
        print(f"note: {run} stopped after {done} of its {planned} episodes; continue it with fewshot train --resume")


def _run_classify(args: argparse.Namespace) -> int:
    from radiofm.io import write_json
    from radiofm.tasks.fewshot_encoder import EncoderPrototypeConfig, classify_recordings

    cfg = EncoderPrototypeConfig(max_units_per_example=args.max_units, device=args.device,
                                 repair_nonfinite=args.repair_nonfinite)  # fmt: skip
    r = classify_recordings(args.encoder, args.support, list(args.query), cfg)
    shots = ", ".join(f"{c}: {n}" for c, n in r["shots"].items())
    print(
        f"{r['encoder']} encoder, {len(r['classes'])} classes ({shots} examples) at {r['sample_rate_hz'] / 1e6:g} MHz; "
        f"scores at the temperature the support set gives ({r['temperature_from']})"
    )
    for q in r["queries"]:
        ranked = sorted(q["scores"].items(), key=lambda kv: -kv[1])
        print(f"{q['path']}: {q['prediction']}  (" + ", ".join(f"{c} {p:.2f}" for c, p in ranked) + ")")
    if args.json:
        write_json(args.json, r)
    return 0
