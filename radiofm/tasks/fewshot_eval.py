"""Few-shot evaluation of prototypical networks: TTSA and TOTA accuracy vs shots, with 95 % intervals.

- **TTSA** (train and test on the same antenna): support shots from the run's training frames, queries from
  the frames it held out (never seen in training).
- **TOTA** (train on one antenna, test on another): support shots and queries both from the new front end,
  never the same frame twice in an episode. A seeded share ``adapt_fraction`` of the new front end's frames
  (per class) is set aside as *unlabelled* recordings and never used in episodes; with ``adapt_bn`` the
  network's batch-norm statistics are re-estimated on them first (AdaBN: Li et al., "Revisiting batch
  normalization for practical domain adaptation", 2016) — cheap, label-free adaptation to the new radio.

Every frame is embedded once; an episode then costs a few small matrix products. Each episode classifies
``n_query`` queries per class among ``n_way`` classes (default: all of them, as a deployed beam predictor must);
the accuracy is the mean over ``episodes`` episodes (≥ 100) with a normal-approximation 95 % interval
1.96·s/√E. Episode ``e`` at ``k`` shots is drawn from ``SeedSequence([seed, k, e])``.

Public: :class:`FewShotEvalConfig`, :func:`embed_frames`, :func:`episode_accuracies`, :func:`summarise`,
:func:`evaluate_run`, :func:`load_protonet_run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from radiofm.errors import CheckpointError, ConfigError, DatasetError
from radiofm.train.distributed import DeviceChecked

DEFAULT_SHOTS = (2, 4, 8, 16, 32)


@dataclass
class FewShotEvalConfig(DeviceChecked):
    shots: tuple[int, ...] = DEFAULT_SHOTS  # support frames per class, k
    episodes: int = 100  # episodes per k (the mean and its interval are over these)
    n_query: int = 16  # query frames per class per episode
    n_way: int | None = None  # classes per episode; None: every class of the target
    seed: int = 0  # episode draws
    batch_size: int = 256  # frames per forward pass when embedding
    adapt_bn: bool = False  # TOTA: re-estimate batch-norm statistics on the new front end's unlabelled frames
    adapt_fraction: float = 0.5  # TOTA: share of the new front end's frames set aside as unlabelled (0: none)
    device: str = "cpu"  # where the network runs
    progress: bool = True  # progress bar on stderr

    def __post_init__(self) -> None:
        super().__post_init__()
        self.shots = tuple(dict.fromkeys(int(k) for k in self.shots))  # each once: 2,2,4 evaluated 2 shots twice
        if not self.shots or min(self.shots) < 1:
            raise ConfigError(f"shots must be positive integers, got {list(self.shots)}")
        if self.episodes < 1 or self.n_query < 1 or self.batch_size < 1:
            raise ConfigError("episodes, n_query and batch_size must be positive")
        if self.n_way is not None and self.n_way < 2:
            raise ConfigError(f"n_way must be at least 2, got {self.n_way}")
        if not 0.0 <= self.adapt_fraction < 1.0 or (self.adapt_bn and self.adapt_fraction == 0.0):
            raise ConfigError(f"adapt_fraction must be in [0, 1) and positive with adapt_bn, got {self.adapt_fraction}")


@torch.no_grad()
def embed_frames(
    model, frames: np.ndarray, *, batch_size: int = 256, device: str = "cpu", progress: bool = False
) -> np.ndarray:
    """Embeddings of raw frames: (N, C, L) -> (N, D) float32, model in eval mode."""
    model.eval().to(device)
    out = []
    for lo in tqdm(
        range(0, len(frames), batch_size), desc="embedding", unit="batch", disable=not progress, leave=False
    ):
        x = torch.from_numpy(np.ascontiguousarray(frames[lo : lo + batch_size], dtype=np.float32)).to(device)
        out.append(model(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


@torch.no_grad()
def adapt_batchnorm(model, frames: np.ndarray, *, batch_size: int = 256, device: str = "cpu"):
    """A copy of ``model`` whose batch-norm running statistics are re-estimated on ``frames`` (N, C, L) (AdaBN).

    Only the statistics change; no label and no gradient is used.
    """
    import copy

    adapted = copy.deepcopy(model).to(device)
    norms = [m for m in adapted.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return adapted.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over every batch
    adapted.train()
    for lo in range(0, len(frames), batch_size):
        batch = frames[lo : lo + batch_size]
        if len(batch) > 1:  # batch norm needs two samples
            adapted(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device))
    return adapted.eval()


def prototype_distances(
    support: np.ndarray, s_lab: np.ndarray, query: np.ndarray, norm: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """(classes (K,), squared distances (Q, K)) of query embeddings to the class means of the support embeddings.

    ``norm`` (a model config's ``test_norm``): None, "unit" (unit-norm prototypes) or "support" (every dimension
    standardised by the support set's mean and standard deviation first; the distances are then per dimension).
    """
    from radiofm.models.protonet import support_standardise

    classes = np.unique(s_lab)
    if norm == "support":
        st, qt = support_standardise(torch.from_numpy(support).double(), torch.from_numpy(query).double())
        support, query = st.numpy(), qt.numpy()
    protos = np.stack([support[s_lab == c].mean(0) for c in classes])
    if norm == "unit":
        protos = protos / np.maximum(np.linalg.norm(protos, axis=1, keepdims=True), 1e-12)
    d = (query**2).sum(1)[:, None] - 2 * query @ protos.T + (protos**2).sum(1)[None, :]
    return classes, d / support.shape[1] if norm == "support" else d


def _prototype_accuracy(
    support: np.ndarray, s_lab: np.ndarray, query: np.ndarray, q_lab: np.ndarray, norm: str | None
) -> float:
    classes, d = prototype_distances(support, s_lab, query, norm)
    return float(np.mean(classes[d.argmin(1)] == q_lab))


def check_shots(
    labels: np.ndarray, k: int, n_query: int, *, same_pool: bool, where: str, query_labels: np.ndarray | None = None
) -> None:
    """ConfigError naming the scarcest class when ``k`` shots (+ queries) exceed what the data holds."""
    counts = {c.item(): int(np.sum(labels == c)) for c in np.unique(labels)}  # .item(): printed as 0, not np.int64(0)
    need = k + n_query if same_pool else k
    c_min = min(counts, key=counts.get)
    if counts[c_min] < need:
        extra = f" + {n_query} queries" if same_pool else ""
        raise ConfigError(
            f"{k} shots{extra} per class need {need} frames, but class {c_min!r} of {where} has only "
            f"{counts[c_min]}; use fewer shots" + (" or fewer queries (--queries)" if same_pool else "")
        )
    if query_labels is not None:
        qc = {c.item(): int(np.sum(query_labels == c)) for c in np.unique(labels)}
        q_min = min(qc, key=qc.get)
        if qc[q_min] < n_query:
            raise ConfigError(
                f"{n_query} queries per class need that many held-out frames, but class {q_min!r} of "
                f"{where} has {qc[q_min]}; use fewer queries (--queries)"
            )


def episode_accuracies(
    emb: np.ndarray,
    labels: np.ndarray,
    k: int,
    cfg: FewShotEvalConfig,
    *,
    norm: str | None,
    query_emb: np.ndarray | None = None,
    query_labels: np.ndarray | None = None,
    where: str = "the data",
) -> np.ndarray:
    """Accuracy of each of ``cfg.episodes`` k-shot episodes: (E,).

    Support from (emb, labels); queries from (query_emb, query_labels) when given, else from the same pool.
    """
    from radiofm.tasks.fewshot import EpisodeConfig, sample_episode

    same = query_emb is None
    check_shots(labels, k, cfg.n_query, same_pool=same, where=where, query_labels=query_labels)
    n_classes = len(np.unique(labels))
    ecfg = EpisodeConfig(n_way=cfg.n_way or n_classes, n_support=k, n_query=cfg.n_query)
    q_emb = emb if same else query_emb
    accs = np.empty(cfg.episodes)
    for e in range(cfg.episodes):
        rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, k, e]))
        ep = sample_episode(labels, ecfg, rng, query_labels=query_labels)
        s_lab = np.repeat(ep.classes, k)
        q_lab = np.repeat(ep.classes, cfg.n_query)
        accs[e] = _prototype_accuracy(emb[ep.support.reshape(-1)], s_lab, q_emb[ep.query.reshape(-1)], q_lab, norm)
    return accs


def summarise(accs_by_k: dict[int, np.ndarray]) -> dict:
    """{"accuracy": {"k": mean}, "ci95": {"k": 1.96 s / √E}, "std": {...}} with string keys."""
    out: dict = {"accuracy": {}, "ci95": {}, "std": {}}
    for k, a in accs_by_k.items():
        sd = float(np.std(a, ddof=1)) if len(a) > 1 else 0.0
        out["accuracy"][str(k)] = float(np.mean(a))
        out["ci95"][str(k)] = 1.96 * sd / np.sqrt(len(a))
        out["std"][str(k)] = sd
    return out


def load_protonet_run(path: str | Path):
    """(model, fewshot record) of a run written by :func:`radiofm.tasks.fewshot.train_protonet`."""
    from radiofm.models import load_checkpoint
    from radiofm.tasks.fewshot import KIND

    model, info = load_checkpoint(path, expect_kind=KIND)
    record = info["extra"].get("fewshot")
    if not isinstance(record, dict):
        raise CheckpointError(f"{path} lacks its few-shot training record (config.json extra.fewshot)")
    return model, record


def same_target(target, record: dict) -> bool:
    """Are ``target``'s frames (BeamFrames) the front end and set-up the run was trained on? (Runs before the
    set-up was recorded compare the front end alone.)"""
    return target.front_end == record.get("front_end_identity") and record.get("setup", target.setup) == target.setup


def evaluate_run(model, record: dict, data: str | Path, front_end: str, cfg: FewShotEvalConfig) -> dict:
    """TTSA when ``front_end`` is the run's training front end, else TOTA. Returns the report dict:

    {"setting", "front_end", "train_front_end", "accuracy": {"k": ...}, "ci95": {...}, "std", "episodes",
    "n_way", "n_query", "frames"}.
    """
    from radiofm.data.deepbeam import load_front_end
    from radiofm.tasks.fewshot import class_labels, data_fingerprint, split_frames

    label = record.get("label", "tx_beam")
    target = load_front_end(
        data, front_end, max_frames_per_label=record.get("max_frames_per_label"), aoa=label == "angle"
    )
    labels = class_labels(target, label)
    norm = model.config.test_norm
    same_front_end = same_target(target, record)
    where = f"front end {front_end!r}"
    accs: dict[int, np.ndarray] = {}
    adapt_frames = 0
    if same_front_end:
        if data_fingerprint(labels, target.frames) != record.get("labels_sha"):
            raise DatasetError(
                f"the {front_end!r} data in {data} differs from what the run was trained on; cannot "
                "tell its held-out frames"
            )
        train_idx, test_idx = split_frames(labels, record["test_fraction"], record["seed"])
        if len(test_idx) == 0:
            raise ConfigError("the run held out no frames (test_fraction 0): TTSA needs held-out queries")
        emb = embed_frames(model, target.frames, batch_size=cfg.batch_size, device=cfg.device, progress=cfg.progress)
        for k in cfg.shots:
            accs[k] = episode_accuracies(
                emb[train_idx],
                labels[train_idx],
                k,
                cfg,
                norm=norm,
                query_emb=emb[test_idx],
                query_labels=labels[test_idx],
                where=where,
            )
    else:
        pool, aside = split_frames(labels, cfg.adapt_fraction, cfg.seed + 1)
        net = model
        if cfg.adapt_bn:
            net = adapt_batchnorm(model, target.frames[aside], batch_size=cfg.batch_size, device=cfg.device)
            adapt_frames = int(len(aside))
        emb = embed_frames(
            net, target.frames[pool], batch_size=cfg.batch_size, device=cfg.device, progress=cfg.progress
        )
        for k in cfg.shots:
            accs[k] = episode_accuracies(emb, labels[pool], k, cfg, norm=norm, where=where)
    n_classes = len(np.unique(labels))
    return {
        "setting": "ttsa" if same_front_end else "tota",
        "front_end": target.front_end,
        "train_front_end": record.get("front_end_identity"),
        "setup": target.setup,
        "train_setup": record.get("setup", ""),
        **summarise(accs),
        "episodes": cfg.episodes,
        "n_way": cfg.n_way or n_classes,
        "n_query": cfg.n_query,
        "frames": int(len(labels)),
        "adapt_bn": bool(cfg.adapt_bn and not same_front_end),
        "adapt_frames": adapt_frames,
    }


@torch.no_grad()
def log_spectrum_embed(
    frames: np.ndarray, *, n_filters: int = 128, filter_len: int = 128, filter_hop: int = 32, batch_size: int = 256
) -> np.ndarray:
    """No-learning reference embedding: the untrained DFT filter bank's centred log-spectrum of each min-max
    scaled frame, (N, C, L) -> (N, n_filters). What a prototype classifier gets without any training."""
    from radiofm.models.protonet import ProtoNet, ProtoNetConfig

    net = ProtoNet(
        ProtoNetConfig(
            n_filters=n_filters,
            filter_len=filter_len,
            filter_hop=filter_hop,
            frame_len=int(frames.shape[-1]),
            center_spectrum=True,
        )
    ).eval()
    out = []
    for lo in range(0, len(frames), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(frames[lo : lo + batch_size], dtype=np.float32))
        out.append(net.log_spectrum(net.preprocess(x)).numpy())
    return np.concatenate(out)
