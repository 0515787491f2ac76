"""argparse value types: each turns a flag's text into a value, or refuses an impossible one with a one-line
message (argparse adds the flag's name). Nothing here imports numpy or torch (the parsers stay light: start-up)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from radiofm.errors import MAX_FLAG_SEED


def _number(text: str, convert: Callable[[str], Any], ok: Callable[[Any], bool], expected: str,
            out_of_range: str | None = None) -> Any:  # fmt: skip
    """``convert(text)`` when ``ok`` of it; otherwise ArgumentTypeError "``expected``, got ..." (``out_of_range``
    for a number that is not ok, if given), showing an integer as read and a float as typed ("1e400", not inf)."""
    try:
        v = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}") from None
    if not ok(v):
        raise argparse.ArgumentTypeError(f"{out_of_range or expected}, got {text if convert is float else v}")
    return v


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 1, "expected a positive integer")


def count_up_to(limit: int, what: str | None = None) -> Callable[[str], int]:
    """An argparse type: a positive integer up to ``limit``, a count where more is a typo that would run for days or
    fail deep inside with a traceback. The error names ``what`` ("a process count") when given."""
    expected = f"expected {what} from 1 to {limit}" if what else f"expected a positive integer up to {limit}"

    def count(text: str) -> int:
        v = positive_int(text)
        if v > limit:
            raise argparse.ArgumentTypeError(f"{expected}, got {v}")
        return v

    count.__name__ = f"count_up_to_{limit}"
    return count


MAX_EPOCHS = 100_000  # --epochs: more is a typo that would train for years
MAX_EPISODES = 10_000_000  # --episodes: a few seconds per thousand on a CPU; more would run for weeks
MAX_WORKERS = 256  # --workers: processes to start (each holds its own copy of the generator or dataset)
MAX_THREADS = 1024  # --threads: torch refuses a count past 32 bits with a traceback, and 1024 cores is plenty
workers = count_up_to(MAX_WORKERS, "a process count")
threads = count_up_to(MAX_THREADS, "a thread count")


def non_negative_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "expected a non-negative integer")


def seed(text: str) -> int:
    """A ``--seed``: an integer from 0 to :data:`radiofm.errors.MAX_FLAG_SEED` (numpy refuses a negative seed and torch
    one past 64 bits, each with a traceback)."""
    return _number(
        text, int, lambda v: 0 <= v <= MAX_FLAG_SEED, f"expected a seed, an integer from 0 to {MAX_FLAG_SEED}"
    )


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: 0 < v < float("inf"), "expected a positive number",
                   "expected a positive finite number")  # fmt: skip


def non_negative_float(text: str) -> float:
    return _number(text, float, lambda v: 0 <= v < float("inf"), "expected a non-negative number",  # NaN fails too
                   "expected a non-negative finite number")  # fmt: skip


def ratio(text: str) -> float:
    """A fraction strictly between 0 and 1."""
    return _number(text, float, lambda v: 0.0 < v < 1.0, "expected a ratio in (0, 1)")


def ratio_list(text: str) -> list[float]:
    """'0.5,0.75' -> [0.5, 0.75]: distinct ratios in the order given (one given twice is taken once)."""
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if not parts:
        raise argparse.ArgumentTypeError("expected a comma-separated list of ratios, e.g. 0.5,0.75,0.9")
    return list(dict.fromkeys(ratio(p) for p in parts))


def size2(text: str) -> tuple[int, int]:
    """'224' -> (224, 224); '128x256' -> (128, 256)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 224 or 128x256, got {text!r}") from None
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or min(vals) < 1 or max(vals) > 8192:
        raise argparse.ArgumentTypeError(f"expected a size like 224 or 128x256 (1..8192), got {text!r}")
    return vals[0], vals[1]


def model_name(text: str) -> str:
    from radiofm.models import list_models

    names = list_models()
    if text not in names:
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; valid models: {', '.join(names)}")
    return text


def int_list(text: str) -> list[int]:
    """'4,8,16' -> [4, 8, 16] (positive integers)."""
    try:
        vals = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return vals


def distinct_int_list(text: str) -> list[int]:
    """:func:`int_list` for a list that names a set (shots, block sizes): a value given twice is taken once, in the
    order first given (``--shots 2,2,4`` evaluated 2 shots twice)."""
    return list(dict.fromkeys(int_list(text)))
