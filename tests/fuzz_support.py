"""Shared machinery of the reader fuzz tests (tests/data/test_fuzz_readers.py, tests/models/test_fuzz_checkpoint.py).

Every property has the same contract: a reader given a mutated file either succeeds or raises the project's own
error (:class:`radiofm.errors.RadioFMError`) with a one-line message; anything else (a traceback) or taking longer
than ``HANG_S`` (a hang) fails the test. ``make test`` runs each property on a few hundred derandomised examples
(hypothesis profile "default", set in tests/conftest.py); ``make fuzz`` (``pytest -m fuzz``) runs the
``*_fuzz`` variants on ``FUZZ_EXAMPLES`` each and prints the outcome counts at the end of the session.
"""

from __future__ import annotations

import collections
import json
import os
import signal
from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from radiofm.errors import RadioFMError

FUZZ_EXAMPLES = int(os.environ.get("RADIOFM_FUZZ_EXAMPLES", "10000"))
COUNTS_FILE = os.environ.get("RADIOFM_FUZZ_COUNTS")  # also written every 100 examples (a long run's progress)
HANG_S = 20
COUNTS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=False,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Seeds(dict):
    """The seed files of a fuzz module (a dict) with a short repr, so a failing example prints readably."""

    def __repr__(self) -> str:
        return f"<seeds: {', '.join(self)}>"


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"reader ran longer than {HANG_S} s")


def outcome(reader: str, call: Callable[[], object]) -> None:
    """Run ``call``; count "ok" or "error" for ``reader``; fail on anything but a one-line RadioFMError."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        call()
    except RadioFMError as exc:
        msg = str(exc)
        assert msg.strip() and "\n" not in msg and "\r" not in msg, f"{reader}: multi-line message {msg!r}"
        COUNTS[reader]["error"] += 1
    else:
        COUNTS[reader]["ok"] += 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if COUNTS_FILE and sum(COUNTS[reader].values()) % 100 == 0:
        with open(COUNTS_FILE, "w") as fh:
            json.dump({k: dict(v) for k, v in COUNTS.items()}, fh)


# --------------------------------------------------------------------------- strategies
NASTY_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 10**40, 0.001, 1e-300, 1e308, -1e308, 3.4e38, 1e6, 61.44e6]
NASTY_TEXT = ["", "\ud800", "\udfff", "$x^$", "$\\frac{$", "a\nb", "../../etc/passwd", "x" * 5000, "\x00", "é"]


def json_values(max_leaves: int = 6):
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(NASTY_NUMBERS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(NASTY_TEXT),
        st.text(max_size=20),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _set(obj, path, value):
    if not path:
        return value
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return obj


@st.composite
def mutated_json(draw, seed: dict) -> bytes:
    """``seed`` with a few values replaced, deleted or added (NaN, huge ints, surrogates, deep nesting...),
    serialised as Python's json does (NaN/Infinity literals included), then possibly byte-mutated."""
    obj = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(obj))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "deep"]))
        if op == "delete" and path:
            parent = obj
            for key in path[:-1]:
                parent = parent[key]
            del parent[path[-1]]
        elif op == "add":
            target = obj
            for key in path:
                target = target[key]
            if isinstance(target, dict):
                target[draw(st.sampled_from(["core:x", "x:deep", "core:label", "n", draw(st.text(max_size=6))]))] = (
                    draw(json_values())
                )
            elif isinstance(target, list):
                target.append(draw(json_values()))
        elif op == "deep":  # spliced into the text below: too deep for json.dumps itself
            obj = _set(obj, path, "__DEEP__")
        else:
            obj = _set(obj, path, draw(json_values()))
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    while '"__DEEP__"' in text:
        depth = draw(st.sampled_from([40, 200, 3000, 100_000]))
        text = text.replace('"__DEEP__"', "[" * depth + "]" * depth, 1)
    text = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        text = draw(mutated_bytes(text))
    return text


@st.composite
def byte_edits(draw, size: int, max_ops: int = 6) -> tuple:
    """A few byte-level edits of a seed of ``size`` bytes: flips, overwrites, insertions, deletions, truncation.

    Apply them with :func:`apply_edits`. The edits are drawn, not the edited copy: hypothesis keeps what a test
    draws, and a few thousand drawn copies of a 2.7 MB .mat seed grew a ``make fuzz`` process past 10 GB."""
    n, ops = size, []
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "set_run"]))
        pos = draw(st.integers(0, max(n - 1, 0)))
        if op == "flip" and n:
            ops.append((op, pos, draw(st.integers(0, 7))))
        elif op == "set" and n:
            ops.append((op, pos, draw(st.integers(0, 255))))
        elif op == "set_run" and n:
            run = draw(st.binary(min_size=1, max_size=16))
            ops.append((op, pos, run))
            n += len(run) - (min(pos + len(run), n) - pos)
        elif op == "insert":
            run = draw(st.binary(max_size=16))
            ops.append((op, pos, run))
            n += len(run)
        elif op == "delete":
            k = draw(st.integers(1, 16))
            ops.append((op, pos, k))
            n -= min(pos + k, n) - pos
        elif op == "truncate":
            ops.append((op, pos, None))
            n = min(n, pos)
    return tuple(ops)


def apply_edits(seed: bytes, ops: tuple) -> bytes:
    """``seed`` with the edits of :func:`byte_edits`."""
    data = bytearray(seed)
    for op, pos, arg in ops:
        if op == "flip":
            data[pos] ^= 1 << arg
        elif op == "set":
            data[pos] = arg
        elif op == "set_run":
            data[pos : pos + len(arg)] = arg
        elif op == "insert":
            data[pos:pos] = arg
        elif op == "delete":
            del data[pos : pos + arg]
        else:
            del data[pos:]
    return bytes(data)


@st.composite
def mutated_bytes(draw, seed: bytes, max_ops: int = 6) -> bytes:
    """``seed`` with a few byte-level edits (:func:`byte_edits`); for small seeds (JSON, headers) only."""
    return apply_edits(seed, draw(byte_edits(len(seed), max_ops)))


def report_counts(terminalreporter) -> None:
    if not COUNTS:
        return
    terminalreporter.section("fuzz outcomes (examples per reader)")
    for reader, c in sorted(COUNTS.items()):
        terminalreporter.write_line(
            f"{reader:28s} {sum(c.values()):7d} examples: {c['ok']:6d} read, {c['error']:6d} one-line errors"
        )
