"""Splitting a dataset's indices: the one train/validation holdout and the named (grouped) splits of paper A.

Both are pure functions of their seed: the same call gives the same sorted index lists on every machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from radiofm.errors import ConfigError

PAPER_A_SPLIT = {"pretrain": 0.5, "forecast_train": 0.4, "forecast_test": 0.1}  # 50 % / 50 % (80/20)
MIN_ITEMS_FOR_VALIDATION = 10  # fewer items: no validation part (every item trains)


def train_val_split(
    items: int | Sequence[int], val_fraction: float, *, seed: int, salt: int
) -> tuple[list[int], list[int]]:
    """(train, validation) indices, each sorted: ``round(n * val_fraction)`` of the ``n`` items held out.

    ``items`` is a count (indices ``range(items)``) or the indices to split (e.g. one part of a named split). The
    held-out items are the first of ``np.random.default_rng([seed, salt]).permutation(n)``; ``salt`` tells the
    call sites apart (MAE and ConvLSTM pretraining use 7, fine-tuning forecasting 11, segmentation 7), so one
    seed gives independent holdouts. Below :data:`MIN_ITEMS_FOR_VALIDATION` items nothing is held out.
    """
    pool = list(range(items)) if isinstance(items, (int, np.integer)) else [int(i) for i in items]
    n = len(pool)
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"validation fraction must be in [0, 1), got {val_fraction}")
    n_val = int(round(n * val_fraction)) if n >= MIN_ITEMS_FOR_VALIDATION else 0
    order = np.random.default_rng([seed, salt]).permutation(n)
    return sorted(pool[i] for i in order[n_val:]), sorted(pool[i] for i in order[:n_val])


def keep_every_class(train: list[int], val: list[int], labels: Sequence) -> tuple[list[int], list[int]]:
    """(train, validation) with, for each class whose items all fell in ``val``, its first held-out item moved to
    ``train`` (both still sorted): a class with one example was held out whole, and its head never trained on it
    (session 60's review). Unchanged when every class has a training item, as in any split of a few per class."""
    seen = {labels[i] for i in train}
    moved = []
    for i in val:
        if labels[i] not in seen:
            seen.add(labels[i])
            moved.append(i)
    if not moved:
        return train, val
    return sorted(train + moved), [i for i in val if i not in set(moved)]


def split_indices(
    n: int,
    fractions: Mapping[str, float] = PAPER_A_SPLIT,
    seed: int = 0,
    *,
    groups: Sequence[int] | None = None,
) -> dict[str, list[int]]:
    """Randomly split range(n) into named parts of the given fractions (summing to 1); sorted index lists.

    Paper A: 50 % pretraining, 50 % forecasting split 80/20 → ``PAPER_A_SPLIT``. With ``groups`` (one id per
    item, e.g. ``SentenceDataset.sources``) whole groups go to one part, the fractions counting groups, so
    sentences of one recording never straddle two parts. Deterministic from ``seed``.
    """
    if not fractions or any(f < 0 for f in fractions.values()) or abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ConfigError(f"split fractions must be non-negative and sum to 1, got {dict(fractions)}")
    if groups is None:
        ids = np.arange(n)
    else:
        if len(groups) != n:
            raise ConfigError(f"groups has {len(groups)} entries for {n} items")
        ids = np.asarray(groups)
    units = np.unique(ids)
    perm = np.random.default_rng(seed).permutation(len(units))
    bounds = np.round(np.cumsum([0.0, *fractions.values()]) * len(units)).astype(int)
    out = {}
    for (name, _), lo, hi in zip(fractions.items(), bounds[:-1], bounds[1:]):
        chosen = units[perm[lo:hi]]
        out[name] = np.flatnonzero(np.isin(ids, chosen)).tolist()
    return out


def label_subset(labels: Sequence[int], fraction: float, *, seed: int, salt: int = 13) -> list[int]:
    """Sorted positions of a class-stratified ``fraction`` of ``labels`` (label-efficiency runs).

    Each class keeps ``max(1, round(count * fraction))`` of its items, drawn by
    ``np.random.default_rng([seed, salt])``, so every class stays represented; ``fraction`` 1 keeps everything.
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"label fraction must be in (0, 1], got {fraction}")
    labels = np.asarray(labels)
    if fraction == 1.0:
        return list(range(len(labels)))
    rng = np.random.default_rng([seed, salt])
    keep: list[int] = []
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        n = max(1, int(round(len(where) * fraction)))
        keep.extend(int(i) for i in rng.choice(where, size=n, replace=False))
    return sorted(keep)
