"""ProtoAoA: few-shot angle-of-arrival estimation for angles never seen in training (slides, "Skip-3" set-up).

Angles form a grid (our AoA files: every 5° over ±45°). **Skip-k**: walking along the sorted grid, one angle is
kept for training and the next k are skipped (held out), so skip-3 trains on about a quarter of the angles —
the authors' later paper trains on ≈ 23 % (SPEC §5). ``mode="hold-every"`` is the other reading: every k-th
angle held out, the rest trained on.

Evaluation on a front end's AoA frames: every angle of the grid gets k support frames (prototypes), queries come
only from the **unseen** angles, and each query is assigned the angle of the nearest prototype among *all* grid
angles (classification) or the softmax-weighted mean of the grid angles (regression). Reported: mean absolute
angle error in degrees per k, its 95 % interval over episodes, and the exact-angle accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiofm.errors import ConfigError
from radiofm.train.distributed import DeviceChecked

SKIP_MODES = ("train-every", "hold-every")


def skip_split(angles, skip: int, *, mode: str = "train-every") -> tuple[list[float], list[float]]:
    """(seen, unseen) angles of the sorted grid ``angles`` under skip-``skip``."""
    grid = sorted({float(a) for a in angles})
    if skip < 1:
        raise ConfigError(f"skip must be at least 1, got {skip}")
    if mode == "train-every":
        seen = grid[:: skip + 1]
    elif mode == "hold-every":
        seen = [a for i, a in enumerate(grid) if (i + 1) % skip]
    else:
        raise ConfigError(f"skip mode must be one of {', '.join(SKIP_MODES)}, got {mode!r}")
    unseen = [a for a in grid if a not in seen]
    if len(seen) < 2 or not unseen:
        raise ConfigError(f"skip-{skip} ({mode}) of {len(grid)} angles leaves {len(seen)} seen / {len(unseen)} unseen")
    return seen, unseen


@dataclass
class AoAEvalConfig(DeviceChecked):
    shots: tuple[int, ...] = (1, 2, 4, 8, 16, 32)  # support frames per angle, k
    episodes: int = 100  # episodes per k
    n_query: int = 8  # query frames per unseen angle per episode
    seed: int = 0  # episode draws
    batch_size: int = 256  # frames per forward pass
    device: str = "cpu"  # where the network runs
    progress: bool = True  # progress bar on stderr


def aoa_episode_errors(
    emb: np.ndarray, angles: np.ndarray, unseen: list[float], k: int, cfg: AoAEvalConfig, *, norm: str | None
) -> dict[str, np.ndarray]:
    """Per-episode mean absolute error (deg) of classification and regression, and exact-angle accuracy.
    ``norm``: how prototypes are compared (:func:`radiofm.tasks.fewshot_eval.prototype_distances`)."""
    from radiofm.tasks.fewshot_eval import prototype_distances

    grid = np.unique(angles)
    pools = {a: np.flatnonzero(angles == a) for a in grid}
    for a in grid:
        need = k + (cfg.n_query if a in unseen else 0)
        if len(pools[a]) < need:
            raise ConfigError(
                f"angle {a:g}° has {len(pools[a])} frames; {k} shots"
                + (f" + {cfg.n_query} queries" if a in unseen else "")
                + " need more"
            )
    cls_err, reg_err, acc = (np.empty(cfg.episodes) for _ in range(3))
    for e in range(cfg.episodes):
        rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 31, k, e]))
        s_idx, s_ang, q_idx, q_ang = [], [], [], []
        for a in grid:
            pick = rng.choice(pools[a], k + (cfg.n_query if a in unseen else 0), replace=False)
            s_idx.append(pick[:k])
            s_ang.append(np.full(k, a))
            if a in unseen:
                q_idx.append(pick[k:])
                q_ang.append(np.full(cfg.n_query, a))
        truth = np.concatenate(q_ang)
        support, s_lab = emb[np.concatenate(s_idx)], np.concatenate(s_ang)
        _, d = prototype_distances(support, s_lab, emb[np.concatenate(q_idx)], norm)  # classes = grid
        pred = grid[d.argmin(1)]
        w = np.exp(-(d - d.min(1, keepdims=True)))
        soft = (w * grid[None, :]).sum(1) / w.sum(1)
        cls_err[e] = np.mean(np.abs(pred - truth))
        reg_err[e] = np.mean(np.abs(soft - truth))
        acc[e] = np.mean(pred == truth)
    return {"classification": cls_err, "regression": reg_err, "accuracy": acc}


def evaluate_aoa(model, record: dict, data, front_end: str, cfg: AoAEvalConfig) -> dict:
    """ProtoAoA report for a run trained on a subset of angles (``record["classes"]``): errors on the unseen ones."""
    from radiofm.data.deepbeam import load_front_end
    from radiofm.tasks.fewshot import class_labels
    from radiofm.tasks.fewshot_eval import embed_frames

    if record.get("label") != "angle" or not record.get("classes"):
        raise ConfigError("this run was not trained on a subset of angles (ProtoAoA): nothing is unseen")
    target = load_front_end(data, front_end, aoa=True, max_frames_per_label=record.get("max_frames_per_label"))
    angles = class_labels(target, "angle")
    seen = sorted(float(a) for a in record["classes"])
    unseen = sorted(float(a) for a in np.unique(angles) if float(a) not in seen)
    if not unseen:
        raise ConfigError(f"front end {front_end!r} has no angle the run did not train on")
    emb = embed_frames(model, target.frames, batch_size=cfg.batch_size, device=cfg.device, progress=cfg.progress)
    out: dict = {
        "front_end": target.front_end,
        "train_front_end": record.get("front_end_identity"),
        "setup": target.setup,
        "train_setup": record.get("setup", ""),
        "seen_angles": seen,
        "unseen_angles": unseen,
        "episodes": cfg.episodes,
        "n_query": cfg.n_query,
        "mae_deg": {},
        "ci95_deg": {},
        "regression_mae_deg": {},
        "accuracy": {},
    }
    for k in cfg.shots:
        r = aoa_episode_errors(emb, angles, unseen, k, cfg, norm=model.config.test_norm)
        out["mae_deg"][str(k)] = float(r["classification"].mean())
        errs = r["classification"]  # one episode has no spread to estimate: 0, as fewshot_eval.summarise gives
        out["ci95_deg"][str(k)] = float(1.96 * errs.std(ddof=1) / np.sqrt(len(errs))) if len(errs) > 1 else 0.0
        out["regression_mae_deg"][str(k)] = float(r["regression"].mean())
        out["accuracy"][str(k)] = float(r["accuracy"].mean())
    return out
