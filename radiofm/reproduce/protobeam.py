"""``radiofm reproduce protobeam``: the seminar slides' Table I (ProtoBeam) and ProtoAoA on synthetic front ends.

Steps, each skipped when its output exists (so a rerun resumes; an interrupted training resumes mid-run):

1. a synthetic DeepBeam folder (:func:`radiofm.data.deepbeam.generate_beam_dataset`): four 60 GHz front ends,
   24-beam codebook, and angle-of-arrival files;
2. for each Table I row (none / data norm / + augmentation / + prototype norm) and training seed: episodic
   training on ``tx-ant-0`` (:func:`radiofm.tasks.fewshot.train_protonet`) and evaluation — TTSA on its
   held-out frames, TOTA on every other front end (:func:`radiofm.tasks.fewshot_eval.evaluate_run`);
3. the full row evaluated again with AdaBN (batch-norm statistics of the new front end's unlabelled frames);
4. baselines: a supervised classifier of the same network trained on ``tx-ant-0`` and applied to the other
   front ends unchanged, the same fine-tuned on the k shots, and prototypes of the untrained log-spectrum;
5. ProtoAoA: training on the skip-3 angles of ``tx-ant-0``'s AoA file, angle error on the unseen angles;
6. ``report.json``, ``table1.md`` (ours beside the slides' figures) and the plots: TTSA/TOTA vs shots, PCA
   of the embeddings coloured by beam, AoA error vs shots.

:func:`run_protobeam` is the library entry (settings in, report out, progress lines through ``log``);
``add_args``/``run`` are the command's thin argparse face.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from radiofm.io import atomic_path, write_json

# slides Table I (%): rows in the order the slides add the improvements
PAPER_TABLE1 = {
    "none": {"ttsa": {"2": 61.2, "32": 73.4}, "tota": {"2": 38.67, "32": 42.8}},
    "data norm": {"ttsa": {"2": 77.3, "32": 83.3}, "tota": {"2": 45.8, "32": 56.8}},
    "+ augmentation": {"ttsa": {"2": 79.69, "32": 83.68}, "tota": {"2": 49.9, "32": 60.4}},
    "+ prototype norm": {"ttsa": {"2": 81.9, "32": 84.5}, "tota": {"2": 55.26, "32": 64.2}},
}
SETUPS = {  # row -> (data_norm, augment, proto_norm)
    "none": (False, False, False),
    "data norm": (True, False, False),
    "+ augmentation": (True, True, False),
    "+ prototype norm": (True, True, True),
}
PAPER_AOA_DEG = {"4": 3.0, "32": 2.0}  # the authors' later paper, unseen angles (SPEC §5)


@dataclass
class ProtoBeamSettings:
    beam_config: dict = field(default_factory=dict)  # BeamConfig overrides of the generated data set
    train_front_end: str = "tx-ant-0"  # the front end every model trains on
    episodes: int = 1000  # episodic training steps per row
    n_way: int = 8  # N_B classes per training episode
    n_support: int = 4  # n_S
    n_query: int = 8  # n_Q
    lr: float = 1e-3  # peak learning rate
    shots: tuple[int, ...] = (2, 4, 8, 16, 32)  # k of the evaluation
    eval_episodes: int = 100  # evaluation episodes per k (≥ 100 for the reported intervals)
    eval_queries: int = 16  # queries per beam per evaluation episode
    adapt_bn: bool = True  # also report the full row with AdaBN on the new front ends
    supervised_steps: int = 1000  # steps of the supervised baseline
    finetune_steps: int = 100  # fine-tuning steps of the k-shot baseline
    finetune_repeats: int = 2  # fine-tunes per (front end, k)
    aoa: bool = True  # run ProtoAoA
    aoa_front_ends: tuple[int, ...] = (0, 1)  # front ends that get AoA files (train on the first)
    aoa_skip: int = 3  # skip-k set-up
    aoa_episodes: int = 600  # ProtoAoA training episodes
    aoa_shots: tuple[int, ...] = (1, 2, 4, 8, 16, 32)  # k of the AoA evaluation
    aoa_queries: int = 8  # queries per unseen angle per evaluation episode
    seeds: tuple[int, ...] = (0, 1)  # training seeds per row (results averaged over them)
    workers: int = 2  # processes for data generation
    device: str = "auto"  # training device
    threads: int | None = 1  # torch CPU threads (1 is faster than 2 for these small layers on a busy machine)
    seed: int = 0  # data set seed


PRESETS = {
    "cpu": ProtoBeamSettings(),
    "paper": ProtoBeamSettings(
        beam_config={"frames_per_beam_gain": 128, "frames_per_angle_gain": 32},
        episodes=5000,
        eval_episodes=600,
        supervised_steps=5000,
        finetune_repeats=5,
        aoa_front_ends=(0, 1, 2, 3),
        aoa_episodes=3000,
        seeds=(0, 1, 2),
        workers=8,
        threads=None,
    ),
    "test": ProtoBeamSettings(
        beam_config={
            "frames_per_beam_gain": 6,
            "n_beams": 6,
            "frames_per_angle_gain": 4,
            "gains_db": (40.0, 60.0),
            "aoa_angles_deg": (-20.0, -10.0, 0.0, 10.0, 20.0),
            "aoa_tx_beams": (2,),
            "n_front_ends": 2,
        },
        episodes=4,
        n_way=3,
        n_support=2,
        n_query=2,
        shots=(1, 2),
        eval_episodes=3,
        eval_queries=2,
        supervised_steps=4,
        finetune_steps=2,
        finetune_repeats=1,
        aoa_front_ends=(0,),
        aoa_skip=1,
        aoa_episodes=3,
        aoa_shots=(1,),
        aoa_queries=2,
        workers=1,
    ),
}


def _slug(row: str) -> str:
    return row.replace("+ ", "plus-").replace(" ", "-")


class _Steps:
    """Resumable steps: a step's result is kept in ``out/.steps/<name>.json`` and reused on a rerun."""

    def __init__(self, out: Path, log: Callable[[str], None]):
        self.out, self.log, self.results = out, log, {}

    def run(self, name: str, fn: Callable[[], dict]) -> dict:
        marker = self.out / ".steps" / f"{name.replace(' ', '_').replace('/', '_')}.json"
        if marker.exists():
            self.log(f"[protobeam] {name} (done, skipped)")
            result = json.loads(marker.read_text())
        else:
            self.log(f"[protobeam] {name}")
            t0 = time.perf_counter()
            result = {**fn(), "seconds": round(time.perf_counter() - t0, 1)}
            write_json(marker, result)
        self.results[name] = result
        return result


def run_protobeam(
    settings: ProtoBeamSettings,
    out: str | Path,
    *,
    preset: str = "custom",
    log: Callable[[str], None] = lambda line: None,
    progress: bool = False,
) -> dict:
    """Run (or resume) the whole reproduction into ``out``; returns the report (also written as report.json)."""
    import torch

    from radiofm.data.deepbeam import generate_beam_dataset, list_front_ends
    from radiofm.synth.beams import BeamConfig

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    t0 = time.perf_counter()
    steps = _Steps(out, log)
    s = settings
    config = BeamConfig(**s.beam_config)
    data = out / "data"
    steps.run(
        "generate data",
        lambda: {
            "manifest": generate_beam_dataset(
                data,
                config,
                seed=s.seed,
                aoa=s.aoa,
                aoa_front_ends=s.aoa_front_ends,
                workers=s.workers,
                progress=progress,
            )["kind"]
        },
    )
    identities = sorted(list_front_ends(data))
    train_fe = next(i for i in identities if i.startswith(s.train_front_end))
    targets = [i for i in identities if i != train_fe]
    for row, switches in SETUPS.items():
        for sd in s.seeds:
            run = out / "runs" / f"{_slug(row)}-s{sd}"
            steps.run(f"train {row} s{sd}", lambda run=run, sw=switches, sd=sd: _train(s, data, run, sw, sd, progress))
            steps.run(f"evaluate {row} s{sd}", lambda run=run: _evaluate(s, data, run, train_fe, targets, False))
            if s.adapt_bn and row == "+ prototype norm":
                steps.run(f"evaluate {row} s{sd} adabn", lambda run=run: _evaluate(s, data, run, None, targets, True))
    steps.run(
        "baseline supervised", lambda: _supervised(s, data, out / "runs" / "supervised", train_fe, targets, progress)
    )
    steps.run("baseline log-spectrum prototypes", lambda: _raw_spectrum(s, data, train_fe, targets))
    if s.aoa:
        steps.run("protoaoa", lambda: _aoa(s, data / "aoa", out / "runs" / "protoaoa", progress))
    report = build_report(steps.results, s, preset, train_fe, targets, total_s=time.perf_counter() - t0)
    _plots(report, out, data, train_fe, targets)
    write_json(out / "report.json", report)
    with atomic_path(out / "table1.md") as tmp:
        tmp.write_text(markdown(report))
    return report


# ------------------------------------------------------------------------------------------- steps


def _quiet():
    return contextlib.redirect_stdout(io.StringIO())  # fit's per-epoch JSON lines stay in the run's metrics.jsonl


def _train(s: ProtoBeamSettings, data: Path, run: Path, switches, seed: int, progress: bool) -> dict:
    from radiofm.tasks.fewshot import EpisodeConfig, ProtoTrainConfig, train_protonet

    dn, aug, pn = switches
    cfg = ProtoTrainConfig(
        data=str(data),
        front_end=s.train_front_end,
        data_norm=dn,
        augment=aug,
        proto_norm=pn,
        episode=EpisodeConfig(s.n_way, s.n_support, s.n_query),
        episodes=s.episodes,
        lr=s.lr,
        seed=seed,
        device=s.device,
        progress=progress,
    )
    with _quiet():
        r = train_protonet(cfg, run, resume=(run / "config.json").exists())
    final = r["final"] or {}
    return {"run": str(run), "train_loss": final.get("train_loss"), "train_acc": final.get("train_acc")}


def _eval_cfg(s: ProtoBeamSettings, adapt_bn: bool):
    from radiofm.tasks.fewshot_eval import FewShotEvalConfig

    return FewShotEvalConfig(
        shots=s.shots, episodes=s.eval_episodes, n_query=s.eval_queries, seed=s.seed, adapt_bn=adapt_bn, progress=False
    )


def _evaluate(s, data: Path, run: Path, train_fe: str | None, targets: list[str], adapt_bn: bool) -> dict:
    from radiofm.tasks.fewshot_eval import evaluate_run, load_protonet_run

    model, record = load_protonet_run(run)
    cfg = _eval_cfg(s, adapt_bn)
    out = {"tota": {fe: evaluate_run(model, record, data, fe, cfg) for fe in targets}}
    if train_fe is not None:
        out["ttsa"] = evaluate_run(model, record, data, train_fe, cfg)
    return out


def _supervised(s, data: Path, run: Path, train_fe: str, targets: list[str], progress: bool) -> dict:
    from radiofm.tasks.fewshot_baselines import SupervisedConfig, evaluate_supervised, train_supervised

    cfg = SupervisedConfig(
        data=str(data),
        front_end=s.train_front_end,
        steps=s.supervised_steps,
        finetune_steps=s.finetune_steps,
        finetune_repeats=s.finetune_repeats,
        seed=s.seed,
        device=s.device,
        progress=progress,
    )
    if not (run / "model.safetensors").exists():
        with _quiet():
            train_supervised(cfg, run)
    return evaluate_supervised(run, data, [train_fe, *targets], s.shots, cfg)


def _raw_spectrum(s, data: Path, train_fe: str, targets: list[str]) -> dict:
    from radiofm.data.deepbeam import load_front_end
    from radiofm.tasks.fewshot_eval import episode_accuracies, log_spectrum_embed, summarise

    cfg = _eval_cfg(s, False)
    out = {}
    for fe in targets:
        d = load_front_end(data, fe)
        emb = log_spectrum_embed(d.frames)
        out[fe] = summarise({k: episode_accuracies(emb, d.tx_beam, k, cfg, normalize=False) for k in s.shots})
    return {"tota": out}


def _aoa(s: ProtoBeamSettings, data: Path, run: Path, progress: bool) -> dict:
    from radiofm.data.deepbeam import list_front_ends, load_front_end
    from radiofm.tasks.fewshot import EpisodeConfig, ProtoTrainConfig, train_protonet
    from radiofm.tasks.fewshot_eval import load_protonet_run, log_spectrum_embed
    from radiofm.tasks.protoaoa import AoAEvalConfig, aoa_episode_errors, evaluate_aoa, skip_split

    first = load_front_end(data, s.train_front_end, aoa=True)
    seen, unseen = skip_split(first.angle, s.aoa_skip)
    cfg = ProtoTrainConfig(
        data=str(data),
        front_end=s.train_front_end,
        label="angle",
        classes=tuple(seen),
        episode=EpisodeConfig(min(s.n_way, len(seen)), s.n_support, s.n_query),
        episodes=s.aoa_episodes,
        lr=s.lr,
        seed=s.seed,
        device=s.device,
        progress=progress,
    )
    if not (run / "model.safetensors").exists():
        with _quiet():
            train_protonet(cfg, run)
    model, record = load_protonet_run(run)
    ecfg = AoAEvalConfig(
        shots=s.aoa_shots, episodes=s.eval_episodes, n_query=s.aoa_queries, seed=s.seed, progress=False
    )
    reports = {fe: evaluate_aoa(model, record, data, fe, ecfg) for fe in sorted(list_front_ends(data))}
    raw = {}
    for fe in sorted(list_front_ends(data)):
        d = load_front_end(data, fe, aoa=True)
        emb = log_spectrum_embed(d.frames)
        raw[fe] = {
            str(k): float(
                aoa_episode_errors(emb, d.angle.astype(float), unseen, k, ecfg, normalize=False)[
                    "classification"
                ].mean()
            )
            for k in s.aoa_shots
        }
    return {"seen_angles": seen, "unseen_angles": unseen, "protoaoa": reports, "log_spectrum_mae_deg": raw}


# ------------------------------------------------------------------------------------------- report


def _mean_reports(reps: list[dict]) -> dict:
    """Mean accuracy over reports (front ends or seeds); the interval of a mean of n independent means."""
    ks = reps[0]["accuracy"].keys()
    n = len(reps)
    return {
        "accuracy": {k: float(np.mean([r["accuracy"][k] for r in reps])) for k in ks},
        "ci95": {k: float(np.sqrt(sum(r["ci95"][k] ** 2 for r in reps)) / n) for k in ks},
    }


def build_report(
    results: dict, s: ProtoBeamSettings, preset: str, train_fe: str, targets: list[str], *, total_s: float
) -> dict:
    rows = []
    for row in SETUPS:
        evs = [results[f"evaluate {row} s{sd}"] for sd in s.seeds]
        ttsa = _mean_reports([e["ttsa"] for e in evs])
        tota_by_fe = {fe: _mean_reports([e["tota"][fe] for e in evs]) for fe in targets}
        tota = _mean_reports(list(tota_by_fe.values()))
        rows.append(
            {
                "setup": row,
                "ttsa": ttsa["accuracy"],
                "ttsa_ci95": ttsa["ci95"],
                "tota": tota["accuracy"],
                "tota_ci95": tota["ci95"],
                "tota_by_front_end": {fe: r["accuracy"] for fe, r in tota_by_fe.items()},
                "by_seed": {
                    str(sd): {
                        "ttsa": e["ttsa"]["accuracy"],
                        "tota": _mean_reports([e["tota"][fe] for fe in targets])["accuracy"],
                    }
                    for sd, e in zip(s.seeds, evs)
                },
            }
        )
    sup = results["baseline supervised"]
    baselines = {
        "supervised_cross_front_end": {
            "ttsa": sup["ttsa"],
            "tota": float(np.mean(list(sup["tota"].values()))),
            "tota_by_front_end": sup["tota"],
        },
        "supervised_finetuned": {
            "tota": {k: float(np.mean([sup["finetuned"][fe][k] for fe in targets])) for k in map(str, s.shots)},
            "tota_by_front_end": sup["finetuned"],
        },
        "log_spectrum_prototypes": {
            "tota": _mean_reports(list(results["baseline log-spectrum prototypes"]["tota"].values()))["accuracy"]
        },
    }
    report = {
        "preset": preset,
        "train_front_end": train_fe,
        "test_front_ends": targets,
        "rows": rows,
        "baselines": baselines,
        "paper": PAPER_TABLE1,
        "settings": dataclasses.asdict(s),
    }
    if s.adapt_bn:
        evs = [results[f"evaluate + prototype norm s{sd} adabn"] for sd in s.seeds]
        by_fe = {fe: _mean_reports([e["tota"][fe] for e in evs]) for fe in targets}
        report["adabn"] = {
            "setup": "+ prototype norm + AdaBN",
            **_mean_reports(list(by_fe.values())),
            "tota_by_front_end": {fe: r["accuracy"] for fe, r in by_fe.items()},
        }
    if "protoaoa" in results:
        report["aoa"] = {
            **{k: v for k, v in results["protoaoa"].items() if k != "seconds"},
            "paper_mae_deg": PAPER_AOA_DEG,
        }
    lo = str(s.shots[0])  # "2" in every real preset
    full = rows[-1]["tota"][lo]
    best = max(full, report.get("adabn", {}).get("accuracy", {}).get(lo, 0.0))
    report["targets"] = {
        "tota_raised_by_each_improvement": [rows[i + 1]["tota"][lo] > rows[i]["tota"][lo] for i in range(3)],
        "full_tota_2shot": full,
        "full_tota_2shot_ge_0.55": full >= 0.55,
        "best_tota_2shot_ge_0.55 (with AdaBN)": best >= 0.55,
        "lead_over_supervised_cross_front_end": full - baselines["supervised_cross_front_end"]["tota"],
    }
    report["steps_seconds"] = {name: r.get("seconds") for name, r in results.items()}
    report["total_s"] = round(total_s, 1)
    return report


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def markdown(r: dict) -> str:
    lo, hi = (str(k) for k in (r["settings"]["shots"][0], r["settings"]["shots"][-1]))
    lines = [
        f"# Slides Table I reproduction: ProtoBeam ({r['preset']} preset)",
        "",
        f"Trained on `{r['train_front_end']}`; TTSA = held-out frames of the same front end, TOTA = mean over "
        f"{', '.join(f'`{t}`' for t in r['test_front_ends'])} (k-shot support from the new front end). "
        f"Accuracy (%) over {r['settings']['eval_episodes']} episodes per k, all beams per episode; ± = 95 % "
        "interval of the mean.",
        "",
        f"| setup | TTSA {lo}-shot | TTSA {hi}-shot | TOTA {lo}-shot | TOTA {hi}-shot | slides TTSA 2 / 32 | "
        "slides TOTA 2 / 32 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        p = r["paper"][row["setup"]]
        cells = [f"{_pct(row[m][k])} ± {_pct(row[m + '_ci95'][k])}" for m in ("ttsa", "tota") for k in (lo, hi)]
        lines.append(
            f"| {row['setup']} | "
            + " | ".join(cells)
            + f" | {p['ttsa']['2']} / {p['ttsa']['32']} | {p['tota']['2']} / {p['tota']['32']} |"
        )
    if "adabn" in r:
        a = r["adabn"]
        lines.append(
            f"| + prototype norm + AdaBN (ours) | — | — | {_pct(a['accuracy'][lo])} ± {_pct(a['ci95'][lo])}"
            f" | {_pct(a['accuracy'][hi])} ± {_pct(a['ci95'][hi])} | — | — |"
        )
    if len(r["settings"]["seeds"]) > 1:
        per_seed = "; ".join(
            f"{row['setup']} " + " / ".join(_pct(v["tota"][lo]) for v in row["by_seed"].values()) for row in r["rows"]
        )
        lines += ["", f"TOTA {lo}-shot per training seed ({', '.join(map(str, r['settings']['seeds']))}): {per_seed}."]
    b = r["baselines"]
    sup, ft, raw = (
        b["supervised_cross_front_end"],
        b["supervised_finetuned"]["tota"],
        b["log_spectrum_prototypes"]["tota"],
    )
    lines += [
        "",
        "Baselines (same network; TOTA = mean over the other front ends):",
        "",
        f"| baseline | TTSA | TOTA {lo}-shot | TOTA {hi}-shot |",
        "|---|---|---|---|",
        f"| supervised, trained on one front end, applied to another | {_pct(sup['ttsa'])} | {_pct(sup['tota'])} "
        f"(no shots) | {_pct(sup['tota'])} (no shots) |",
        f"| supervised, fine-tuned on the k shots | — | {_pct(ft.get(lo))} | {_pct(ft.get(hi))} |",
        f"| prototypes of the untrained log-spectrum (no learning) | — | {_pct(raw.get(lo))} | {_pct(raw.get(hi))} |",
    ]
    shots = list(r["rows"][0]["tota"].keys())
    lines += ["", "TOTA by shots (full setup): " + ", ".join(f"{k}: {_pct(r['rows'][-1]['tota'][k])}" for k in shots)]
    if "aoa" in r:
        a = r["aoa"]
        lines += [
            "",
            f"ProtoAoA (skip-{r['settings']['aoa_skip']}: trained on {len(a['seen_angles'])} of "
            f"{len(a['seen_angles']) + len(a['unseen_angles'])} angles): mean absolute error (deg) on unseen angles",
            "",
            "| front end | "
            + " | ".join(f"{k}-shot" for k in a["protoaoa"][next(iter(a["protoaoa"]))]["mae_deg"])
            + " |",
            "|---" * (1 + len(r["settings"]["aoa_shots"])) + "|",
        ]
        for fe, rep in a["protoaoa"].items():
            lines.append(f"| ProtoAoA, {fe} | " + " | ".join(f"{v:.1f}" for v in rep["mae_deg"].values()) + " |")
        for fe, raw_fe in a["log_spectrum_mae_deg"].items():
            lines.append(f"| log-spectrum prototypes, {fe} | " + " | ".join(f"{v:.1f}" for v in raw_fe.values()) + " |")
        lines.append(
            f"\nAuthors (unseen angles): ≈{PAPER_AOA_DEG['4']:g}° at 4 shots, ≈{PAPER_AOA_DEG['32']:g}° at 32."
        )
    t = r["targets"]
    lines += [
        "",
        f"Targets: each improvement raises TOTA 2-shot: {t['tota_raised_by_each_improvement']}; full TOTA "
        f"2-shot {_pct(t['full_tota_2shot'])} % (≥ 55: {t['full_tota_2shot_ge_0.55']}; with AdaBN: "
        f"{t['best_tota_2shot_ge_0.55 (with AdaBN)']}); lead over the cross-front-end supervised baseline "
        f"{_pct(t['lead_over_supervised_cross_front_end'])} points.",
        "",
        f"Total time: {r['total_s']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def _plots(r: dict, out: Path, data: Path, train_fe: str, targets: list[str]) -> None:
    from radiofm.data.deepbeam import load_front_end
    from radiofm.tasks.fewshot_eval import embed_frames, load_protonet_run
    from radiofm.tasks.fewshot_plots import plot_accuracy_vs_shots, plot_aoa_error, plot_embedding_pca

    series = {}
    for row in r["rows"]:
        series[f"TTSA, {row['setup']}"] = {"accuracy": row["ttsa"], "ci95": row["ttsa_ci95"]}
        series[f"TOTA, {row['setup']}"] = {"accuracy": row["tota"], "ci95": row["tota_ci95"]}
    if "adabn" in r:
        series["TOTA, + AdaBN"] = r["adabn"]
    series["TOTA, supervised fine-tuned"] = {"accuracy": r["baselines"]["supervised_finetuned"]["tota"]}
    ref = {
        "slides TTSA (full)": PAPER_TABLE1["+ prototype norm"]["ttsa"],
        "slides TOTA (full)": PAPER_TABLE1["+ prototype norm"]["tota"],
    }
    plot_accuracy_vs_shots(
        series, out / "accuracy_vs_shots.png", title="ProtoBeam: TTSA / TOTA vs shots", reference=ref
    )
    model, _ = load_protonet_run(out / "runs" / f"{_slug('+ prototype norm')}-s{r['settings']['seeds'][0]}")
    for fe, name in ((train_fe, "pca_train_front_end.png"), (targets[0], "pca_new_front_end.png")):
        d = load_front_end(data, fe)
        plot_embedding_pca(
            embed_frames(model, d.frames),
            d.tx_beam.astype(float),
            out / name,
            title=f"ProtoBeam embeddings of {fe} (PCA), colour = TX beam",
        )
    if "aoa" in r:
        reps = {f"ProtoAoA, {fe}": rep for fe, rep in r["aoa"]["protoaoa"].items()}
        plot_aoa_error(reps, out / "aoa_error_vs_shots.png", title="ProtoAoA: unseen angles", reference=PAPER_AOA_DEG)


# ------------------------------------------------------------------------------------------- command


def add_args(p: argparse.ArgumentParser) -> None:
    from radiofm.pipeline import add_reproduce_args

    add_reproduce_args(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from radiofm.pipeline import prepare_folder, settings_from_args

    s = settings_from_args(PRESETS[args.preset], args, ("workers", "device"))
    out = prepare_folder(args.out, force=args.force)
    report = run_protobeam(
        s, out, preset=args.preset, log=lambda line: print(line, flush=True), progress=not args.no_progress
    )
    print("\n" + markdown(report))
    print(f"wrote {out / 'report.json'}, {out / 'table1.md'} and the plots in {out}")
    return 0
