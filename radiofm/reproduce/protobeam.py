"""``radiofm reproduce protobeam``: the seminar slides' Table I (ProtoBeam) and ProtoAoA on synthetic front ends.

Steps, each skipped when its output exists (so a rerun resumes; an interrupted training resumes mid-run):

1. a synthetic DeepBeam folder (:func:`radiofm.data.deepbeam_write.generate_beam_dataset`): four 60 GHz front ends,
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

:func:`run_protobeam` is the library entry (settings in, report out, progress lines through ``log``); the
command is :mod:`radiofm.cli.experiments.protobeam`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from radiofm.io import write_json
from radiofm.reproduce.protobeam_report import SETUPS, build_report, markdown, run_name, write_plots


@dataclass
class ProtoBeamSettings:
    beam_config: dict = field(default_factory=dict)  # BeamConfig overrides of the generated data set
    train_front_end: str = "tx-ant-0"  # the front end every model trains on
    episodes: int = 3000  # episodic training steps per row (chosen on validation units, docs/RESULTS.md)
    n_way: int = 8  # N_B classes per training episode
    n_support: int = 4  # n_S
    n_query: int = 8  # n_Q
    lr: float = 1e-3  # peak learning rate
    proto_norm_mode: str = "support"  # how the "+ prototype norm" row normalises (radiofm.models.protonet)
    proto_scale: float = 10.0  # cosine/support mode: initial scale of the distances
    augment_stage: str = "raw"  # augmentation before ("raw") or after ("normalised") the data norm
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
            from radiofm.reproduce.steps import run_recorded

            self.log(f"[protobeam] {name}")
            t0 = time.perf_counter()
            result = run_recorded(self.out, {"data", "runs"}, fn)  # its outputs' folders, recorded before it runs
            result = {**result, "seconds": round(time.perf_counter() - t0, 1)}
            write_json(marker, result)
        self.results[name] = result
        return result


def run_protobeam(
    settings: ProtoBeamSettings,
    out: str | Path,
    *,
    preset: str = "custom",
    force: bool = False,
    log: Callable[[str], None] = lambda line: None,
    progress: bool = False,
) -> dict:
    """Run (or resume; ``force``: redo) the whole reproduction into ``out``; returns the report (also written as
    report.json, with table1.md and the plots beside it)."""
    import torch

    from radiofm.data.deepbeam import list_front_ends
    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.reproduce.steps import check_settings, pipeline_folder, write_report
    from radiofm.synth.beams import BeamConfig

    with pipeline_folder(out, force=force) as out:  # --force redoes; what the run writes is recorded
        check_settings(out, settings)  # steps done with other settings are not reported under these
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
                run = out / "runs" / f"{run_name(row)}-s{sd}"
                steps.run(
                    f"train {row} s{sd}", lambda run=run, sw=switches, sd=sd: _train(s, data, run, sw, sd, progress)
                )
                steps.run(f"evaluate {row} s{sd}", lambda run=run: _evaluate(s, data, run, train_fe, targets, False))
                if s.adapt_bn and row == "+ prototype norm":
                    steps.run(
                        f"evaluate {row} s{sd} adabn", lambda run=run: _evaluate(s, data, run, None, targets, True)
                    )
        steps.run(
            "baseline supervised",
            lambda: _supervised(s, data, out / "runs" / "supervised", train_fe, targets, progress),
        )
        steps.run("baseline log-spectrum prototypes", lambda: _raw_spectrum(s, data, train_fe, targets))
        if s.aoa:
            steps.run("protoaoa", lambda: _aoa(s, data / "aoa", out / "runs" / "protoaoa", progress))
        report = build_report(steps.results, s, preset, train_fe, targets, total_s=time.perf_counter() - t0)
        write_plots(report, out, data, train_fe, targets)
        write_report(out, report, "table1.md", markdown(report))
        return report


# ------------------------------------------------------------------------------------------- steps


def _train(s: ProtoBeamSettings, data: Path, run: Path, switches, seed: int, progress: bool) -> dict:
    from radiofm.tasks.fewshot import EpisodeConfig, ProtoTrainConfig, train_protonet

    dn, aug, pn = switches
    cfg = ProtoTrainConfig(
        data=str(data),
        front_end=s.train_front_end,
        data_norm=dn,
        augment=aug,
        proto_norm=pn,
        proto_norm_mode=s.proto_norm_mode,
        proto_scale=s.proto_scale,
        augment_stage=s.augment_stage,
        episode=EpisodeConfig(s.n_way, s.n_support, s.n_query),
        episodes=s.episodes,
        lr=s.lr,
        seed=seed,
        device=s.device,
        progress=progress,
    )
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
    train_supervised(cfg, run, resume=(run / "config.json").exists())  # a killed run continues; a finished one returns
    return evaluate_supervised(run, data, [train_fe, *targets], s.shots, cfg)


def _raw_spectrum(s, data: Path, train_fe: str, targets: list[str]) -> dict:
    from radiofm.data.deepbeam import load_front_end
    from radiofm.tasks.fewshot_eval import episode_accuracies, log_spectrum_embed, summarise

    cfg = _eval_cfg(s, False)
    out = {}
    for fe in targets:
        d = load_front_end(data, fe)
        emb = log_spectrum_embed(d.frames)
        out[fe] = summarise({k: episode_accuracies(emb, d.tx_beam, k, cfg, norm=None) for k in s.shots})
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
        proto_norm_mode=s.proto_norm_mode,
        proto_scale=s.proto_scale,
        augment_stage=s.augment_stage,
        episode=EpisodeConfig(min(s.n_way, len(seen)), s.n_support, s.n_query),
        episodes=s.aoa_episodes,
        lr=s.lr,
        seed=s.seed,
        device=s.device,
        progress=progress,
    )
    train_protonet(cfg, run, resume=(run / "config.json").exists())  # a killed run continues; a finished one returns
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
                aoa_episode_errors(emb, d.angle.astype(float), unseen, k, ecfg, norm=None)["classification"].mean()
            )
            for k in s.aoa_shots
        }
    return {"seen_angles": seen, "unseen_angles": unseen, "protoaoa": reports, "log_spectrum_mae_deg": raw}
