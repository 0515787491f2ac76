"""Episodic training of prototypical networks on DeepBeam-layout data (ProtoBeam, ProtoAoA; SPEC §4).

An **episode** (Algorithm 1 of ProtoBeam): pick N_B classes at random, then n_S support and n_Q query frames of
each, all distinct; prototypes are the support means; the loss is cross-entropy of the softmax over negative
squared distances of each query to every prototype. One episode is one step of :func:`radiofm.train.fit`
(batch size 1, each item a whole episode), so training gets the loop's schedule, clipping, JSON log and exact
resume. Episode ``i`` is drawn from ``SeedSequence([seed, i])``: the same seed gives the same episodes.

The training front end's frames are split per class into a training part and a held-out part
(``test_fraction``, seeded); evaluation on the same front end (TTSA) queries only held-out frames. The split
is stored in the run's ``config.json`` and recomputed from the data by :func:`split_frames`.

Public: :class:`EpisodeConfig`, :func:`sample_episode`, :class:`EpisodeDataset`, :class:`ProtoEpisodeTask`,
:class:`ProtoTrainConfig`, :func:`train_protonet`, :func:`split_frames`, :func:`class_labels`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from radiofm.errors import ConfigError, DatasetError, check_seed, check_type

KIND = "protobeam"


MAX_EPISODES = 10_000_000  # training episodes (the cpu preset trains 3000)


@dataclass(frozen=True)
class EpisodeConfig:
    n_way: int = 8  # N_B classes per episode (SPEC: 8-way episodes in the authors' notebook)
    n_support: int = 4  # n_S support frames per class
    n_query: int = 8  # n_Q query frames per class

    def __post_init__(self) -> None:
        if self.n_way < 2 or self.n_support < 1 or self.n_query < 1:
            raise ConfigError(f"an episode needs n_way >= 2, n_support >= 1, n_query >= 1, got {self}")


@dataclass
class Episode:
    classes: np.ndarray  # (N_B,) class ids
    support: np.ndarray  # (N_B, n_S) frame indices into the support pool
    query: np.ndarray  # (N_B, n_Q) frame indices into the query pool


def sample_episode(
    labels: np.ndarray,
    cfg: EpisodeConfig,
    rng: np.random.Generator,
    *,
    query_labels: np.ndarray | None = None,
    classes: np.ndarray | None = None,
) -> Episode:
    """Draw one episode without replacement.

    labels: (N,) class ids of the support pool. With ``query_labels`` None the queries come from the same pool
    and never repeat a support frame; otherwise they come from the other pool. ``classes`` limits the classes
    the N_B are drawn from (default: every class of the pools). ConfigError when a class holds too few frames.
    """
    labels = np.asarray(labels)
    same = query_labels is None
    qlabels = labels if same else np.asarray(query_labels)
    pool = np.unique(labels) if classes is None else np.asarray(classes)
    if cfg.n_way > len(pool):
        raise ConfigError(
            f"an episode of {cfg.n_way} classes needs that many classes; the data has {len(pool)}: lower --n-way"
        )
    chosen = rng.choice(pool, cfg.n_way, replace=False)
    support, query = [], []  # (arrays only once every class was found big enough: n_support may be absurd)
    for c in chosen:
        s_idx = np.flatnonzero(labels == c)
        q_idx = s_idx if same else np.flatnonzero(qlabels == c)
        need = cfg.n_support + cfg.n_query if same else max(cfg.n_support, 1)
        if len(s_idx) < need or len(q_idx) < cfg.n_query:
            name = c.item() if hasattr(c, "item") else c
            have = f"{len(s_idx)} frames" if same else f"{len(s_idx)} support / {len(q_idx)} query frames"
            raise ConfigError(
                f"class {name!r} has {have}; an episode needs {cfg.n_support} support + {cfg.n_query} query"
                + (" frames, none drawn twice" if same else "")
            )
        if same:
            pick = rng.choice(s_idx, cfg.n_support + cfg.n_query, replace=False)
            support.append(pick[: cfg.n_support])
            query.append(pick[cfg.n_support :])
        else:
            support.append(rng.choice(s_idx, cfg.n_support, replace=False))
            query.append(rng.choice(q_idx, cfg.n_query, replace=False))
    return Episode(classes=chosen, support=np.asarray(support, np.int64), query=np.asarray(query, np.int64))


class EpisodeDataset(torch.utils.data.Dataset):
    """``n_episodes`` training episodes over (N, C, L) frames: item i is one episode as a dict

    {"x": (N_B·(n_S + n_Q), C, L) float32 — support frames class by class, then query frames —,
    "n_way", "n_support", "n_query"}. Use with batch size 1 and :func:`episode_collate`.
    """

    def __init__(
        self,
        frames: np.ndarray,
        labels: np.ndarray,
        cfg: EpisodeConfig,
        *,
        n_episodes: int,
        seed: int,
        classes: np.ndarray | None = None,
    ):
        if n_episodes < 1:
            raise ConfigError(f"need at least one episode, got {n_episodes}")
        self.frames = frames
        self.labels = np.asarray(labels)
        self.cfg = cfg
        self.n_episodes = int(n_episodes)
        self.seed = int(seed)
        self.classes = classes
        sample_episode(self.labels, cfg, np.random.default_rng(0), classes=classes)  # fail now, not mid-training

    def __len__(self) -> int:
        return self.n_episodes

    def episode(self, i: int) -> Episode:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, int(i)]))
        return sample_episode(self.labels, self.cfg, rng, classes=self.classes)

    def __getitem__(self, i: int) -> dict:
        ep = self.episode(i)
        idx = np.concatenate([ep.support.reshape(-1), ep.query.reshape(-1)])
        return {
            "x": torch.from_numpy(np.ascontiguousarray(self.frames[idx], dtype=np.float32)),
            "n_way": self.cfg.n_way,
            "n_support": self.cfg.n_support,
            "n_query": self.cfg.n_query,
        }


def episode_collate(items: list[dict]) -> dict:
    """Batches hold exactly one episode."""
    if len(items) != 1:
        raise ConfigError(f"episodic training takes one episode per step, got {len(items)}")
    return items[0]


@dataclass
class ProtoEpisodeTask:
    """The prototypical loss on one episode, with optional amplitude/phase augmentation of the frames."""

    augment: bool = True  # random amplitude scale and phase rotation of every training frame
    scale_range: tuple[float, float] = (0.5, 1.4)  # amplitude scale range of the augmentation
    augment_stage: str = "normalised"  # augment the "normalised" frames (after data norm) or the "raw" ones
    kind: str = KIND  # checkpoint kind

    def __post_init__(self) -> None:
        if self.augment_stage not in ("normalised", "raw"):
            raise ConfigError(f"augment_stage must be 'normalised' or 'raw', got {self.augment_stage!r}")

    def step(self, model, batch: dict, *, generator: torch.Generator, train: bool):
        from radiofm.models.protonet import augment_iq

        n_way, n_s, n_q = int(batch["n_way"]), int(batch["n_support"]), int(batch["n_query"])
        aug = train and self.augment
        x = batch["x"].float()
        if aug and self.augment_stage == "raw":
            x = augment_iq(x, generator, scale_range=self.scale_range)
        x = model.preprocess(x)
        if aug and self.augment_stage == "normalised":
            x = augment_iq(x, generator, scale_range=self.scale_range)
        emb = model.embed(x)  # (N_B·(n_S + n_Q), D)
        labels = torch.arange(n_way, device=emb.device)
        support, query = emb[: n_way * n_s], emb[n_way * n_s :]
        logits = model.episode_logits(support, labels.repeat_interleave(n_s), query, n_way)  # (N_B·n_Q, N_B)
        target = labels.repeat_interleave(n_q)
        loss = F.cross_entropy(logits.float(), target)
        acc = (logits.argmax(-1) == target).float().mean()
        return loss, {"acc": float(acc)}


# ------------------------------------------------------------------------------------------- data


def class_labels(data, label: str) -> np.ndarray:
    """The per-frame class of ``data`` (a :class:`radiofm.data.deepbeam.BeamFrames`): "tx_beam" or "angle"."""
    if label == "tx_beam":
        return data.tx_beam
    if label == "angle":
        if data.angle is None:
            raise DatasetError(f"{data.sources[0]}: no 'angle' labels (not an angle-of-arrival file)")
        return data.angle.astype(np.float64)
    raise ConfigError(f"label must be 'tx_beam' or 'angle', got {label!r}")


def split_frames(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class seeded split of frame indices into (train, held-out), both sorted."""
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"test fraction must be in [0, 1), got {test_fraction}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 99]))
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(len(idx) * test_fraction))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def data_fingerprint(labels: np.ndarray, frames: np.ndarray | None = None) -> str:
    """A short hash of the labels and of every 64th frame: evaluation checks it is looking at the very data the
    run was split on (same-named front ends of another data set have the same label layout)."""
    h = hashlib.sha256(np.ascontiguousarray(labels, dtype=np.float64).tobytes())
    if frames is not None:
        h.update(np.ascontiguousarray(frames[:: max(1, len(frames) // 64)], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------- training


@dataclass
class ProtoTrainConfig:
    """Episodic training of one prototypical network on one front end."""

    data: str  # folder of DeepBeam files
    front_end: str  # training front end, e.g. "tx-ant-0"
    model: str = "protobeam"  # model preset (radiofm models)
    data_norm: bool = True  # per-frame min-max scaling (slides Table I row 2)
    augment: bool = True  # amplitude/phase augmentation (row 3)
    proto_norm: bool = True  # prototype normalisation (row 4)
    proto_norm_mode: str = "support"  # "support", "cosine" or "prototypes" (see radiofm.models.protonet)
    proto_scale: float = 10.0  # cosine/support mode: initial scale of the distances
    learn_scale: bool = True  # cosine/support mode: learn the scale
    augment_stage: str = "raw"  # augmentation before ("raw") or after ("normalised", the first version) the data norm
    label: str = "tx_beam"  # the class: "tx_beam" (ProtoBeam) or "angle" (ProtoAoA)
    classes: tuple[float, ...] | None = None  # train only on these classes (ProtoAoA: the seen angles)
    episode: EpisodeConfig = field(default_factory=EpisodeConfig)  # N_B, n_S, n_Q
    train_filter_bank: bool = False  # learn the DFT-initialised filter bank (False: a fixed STFT front end)
    filter_bank_lr_scale: float = 1.0  # learned bank: its learning rate as a share of lr (RESULTS, session 39)
    episodes: int = 3000  # training episodes (= optimiser steps)
    lr: float = 1e-3  # peak learning rate (AdamW, warm-up then cosine)
    weight_decay: float = 1e-4  # AdamW weight decay
    warmup_fraction: float = 0.05  # share of the steps spent warming up
    test_fraction: float = 0.3  # share of each class held out for same-front-end evaluation
    max_frames_per_label: int | None = None  # cap frames read per label combination (huge real files)
    seed: int = 0  # episodes, initialisation, split
    device: str = "auto"  # "auto", "cpu", "cuda"
    progress: bool = True  # progress bar on stderr
    save_every_steps: int = 250  # checkpoint period, so an interrupted run resumes (0: only at the end)

    def __post_init__(self) -> None:
        self.seed = check_seed(self.seed)
        if not 1 <= self.episodes <= MAX_EPISODES:  # one optimiser step each
            raise ConfigError(f"episodes must be 1..{MAX_EPISODES}, got {self.episodes}")


def load_training_frames(cfg: ProtoTrainConfig):
    """(all frames of the front end, their class labels, train indices, held-out indices)."""
    from radiofm.data.deepbeam import load_front_end

    data = load_front_end(
        cfg.data, cfg.front_end, max_frames_per_label=cfg.max_frames_per_label, aoa=cfg.label == "angle"
    )
    labels = class_labels(data, cfg.label)
    train_idx, test_idx = split_frames(labels, cfg.test_fraction, cfg.seed)
    return data, labels, train_idx, test_idx


def train_protonet(cfg: ProtoTrainConfig, out: str | Path, *, resume: bool = False, log=None) -> dict:
    """Train a prototypical network episodically; ``out`` becomes a checkpoint folder (kind "protobeam").
    ``log`` (e.g. ``print``) receives the loop's JSON line; by default nothing is printed.

    Returns {"run": out, "final": last log record, "front_end", "n_classes", "frames"}.
    """
    check_type(cfg, ProtoTrainConfig, "cfg")
    from radiofm.models import create_model
    from radiofm.train import TrainConfig, fit, param_groups, seeded
    from radiofm.train.distributed import launched_world_size

    if launched_world_size() > 1:  # the episode step calls the network's parts, not forward()
        raise ConfigError("fewshot train runs in one process (an episode is a few hundred frames); run it without "
                          "torchrun")  # fmt: skip
    if not 0 < cfg.filter_bank_lr_scale < float("inf"):
        raise ConfigError(f"filter_bank_lr_scale must be a positive number, got {cfg.filter_bank_lr_scale!r}")
    if cfg.filter_bank_lr_scale != 1.0 and not cfg.train_filter_bank:
        raise ConfigError(
            "filter_bank_lr_scale applies to a learned filter bank (train_filter_bank / --learn-filter-bank)"
        )
    data, labels, train_idx, test_idx = load_training_frames(cfg)
    classes = None
    if cfg.classes is not None:
        classes = np.asarray(cfg.classes, dtype=labels.dtype)
        missing = sorted(set(classes.tolist()) - set(np.unique(labels).tolist()))
        if missing:
            raise ConfigError(f"classes {missing} are not in the data of front end {cfg.front_end!r}")
    frames = data.frames[train_idx]
    dataset = EpisodeDataset(
        frames, labels[train_idx], cfg.episode, n_episodes=cfg.episodes, seed=cfg.seed, classes=classes
    )
    with seeded(cfg.seed):
        model = create_model(
            cfg.model,
            data_norm=cfg.data_norm,
            proto_norm=cfg.proto_norm,
            proto_norm_mode=cfg.proto_norm_mode,
            proto_scale=cfg.proto_scale,
            learn_scale=cfg.learn_scale,
            frame_len=int(frames.shape[-1]),
            n_classes=0,
        )
    model.filters.weight.requires_grad_(cfg.train_filter_bank)
    task = ProtoEpisodeTask(augment=cfg.augment, augment_stage=cfg.augment_stage)
    train_cfg = TrainConfig(
        epochs=1,
        batch_size=1,
        lr=cfg.lr,
        warmup_epochs=cfg.warmup_fraction,
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        device=cfg.device,
        progress=cfg.progress,
        save_every_steps=cfg.save_every_steps,
    )
    extra = {"model_name": cfg.model, "fewshot": run_record(cfg, data, labels)}
    groups = param_groups(model, cfg.weight_decay, lr_scales={"filters.weight": cfg.filter_bank_lr_scale})
    record = fit(
        model,
        task,
        dataset,
        cfg=train_cfg,
        out_dir=out,
        extra=extra,
        resume=resume,
        groups=groups,
        collate_fn=episode_collate,
        run_info={"command": "fewshot train"},
        log=log,
    )
    return {
        "run": str(out),
        "final": record,
        "front_end": data.front_end,
        "n_classes": int(len(np.unique(labels))) if classes is None else int(len(classes)),  # those trained on
        "frames": {
            "train": int(len(train_idx) if classes is None else np.isin(labels[train_idx], classes).sum()),
            "held_out": int(len(test_idx)),
        },
    }


def run_record(cfg: ProtoTrainConfig, data, labels: np.ndarray) -> dict:
    """What evaluation needs to know about a run: its data, front end, label, split and training switches."""
    d = dataclasses.asdict(cfg)
    d.pop("progress")
    d["front_end_identity"] = data.front_end
    d["setup"] = data.setup  # the file-name set-up: another deployment of the same front end is another target
    d["n_frames"] = int(len(labels))
    d["labels_sha"] = data_fingerprint(labels, data.frames)
    d["classes"] = None if cfg.classes is None else [float(c) for c in cfg.classes]
    return d
