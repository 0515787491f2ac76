"""User-facing errors.

Anything a user can cause (a missing file, a malformed recording, an impossible flag) raises
:class:`RadioFMError` with a one-line message naming the problem. The CLI prints ``radiofm: error: <message>``
and exits with status 2; it never shows a traceback for these.

:func:`check_seed` is the one check of a seed, for every generator and training run: numpy's generators refuse a
negative seed and torch's one past 64 bits, each with a traceback. :func:`check_device` is the one check of a device
name; :func:`check_count` and :func:`check_number` check an integer or a finite number in a range; :func:`check_type` a
config object given to an entry point; :func:`check_names` a list of names (a flag's or an argument's).
"""

import math
import numbers
import re

MAX_SEED = 2**63 - 1  # seeds are 0..MAX_SEED: numpy's and torch's generators take every one of them
# a --seed flag is narrower: the seeds a command derives from it (offsets up to 1000, x 1000 + batch) stay in range
MAX_FLAG_SEED = 2**32 - 1


class RadioFMError(Exception):
    """An error caused by user input; its message is a single line meant for the user."""

    exit_code = 2


class RecordingError(RadioFMError):
    """A recording (SigMF or .npy) is missing, malformed or unusable."""


class DatasetError(RadioFMError):
    """A dataset folder is missing, malformed or inconsistent."""


class CheckpointError(RadioFMError):
    """A checkpoint folder is missing, malformed, or of the wrong kind."""


class ConfigError(RadioFMError):
    """A configuration value or command-line flag is invalid."""


class OutputError(RadioFMError):
    """An output cannot be written: its folder is read-only or a file, the disk is full, ..."""


class OutputKeptError(OutputError):
    """An output folder was written, but a user's files in the folder it replaced could not stay beside it: that
    folder is kept whole under another name, which the message gives."""


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as an int when it is an integer in 0..:data:`MAX_SEED`; otherwise :class:`ConfigError`."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name} must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    return int(seed)


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device(device: object, name: str = "device") -> str:
    """``device`` when it is "auto", "cpu", "cuda" or "cuda:N"; otherwise :class:`ConfigError` (a "gpu" or "mps"
    would otherwise run on the CPU without a word, or fail deep inside torch)."""
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ConfigError(f"{name} must be auto, cpu, cuda or cuda:N, got {device!r}")
    return device


def check_count(value: object, name: str, *, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int when it is an integer in low..high; otherwise :class:`ConfigError` naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
        or (high is not None and value > high)
    ):
        span = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be an integer {span}, got {value!r}")
    return int(value)


def check_number(
    value: object, name: str, *, low: float = -math.inf, high: float = math.inf, open_low: bool = False,
    open_high: bool = False,
) -> float:  # fmt: skip
    """``value`` as a float when it is a finite real number in [low, high] (an open end excludes it); otherwise
    :class:`ConfigError` naming ``name``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if open_low else value >= low) and (value < high if open_high else value <= high)
    if not ok:
        span = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise ConfigError(f"{name} must be a finite number in {span}, got {value!r}")
    return float(value)


def check_type(value: object, cls: type, name: str = "config"):
    """``value`` when it is a ``cls``; otherwise :class:`ConfigError` naming ``name`` (a None or a dict where a
    config dataclass goes would otherwise fail deep inside with an AttributeError)."""
    if not isinstance(value, cls):
        article = "an" if cls.__name__[:1] in "AEIOU" else "a"
        raise ConfigError(f"{name} must be {article} {cls.__name__}, got {type(value).__name__}")
    return value


def check_names(value, valid, what: str, label: str) -> tuple[str, ...]:
    """``value`` (a comma-separated string, or a sequence or set of strings) as the names in ``valid`` spell them:
    each name matched by its exact spelling, else whatever its case; each taken once in the order given (a set's in
    ``valid``'s order), empty items skipped. ConfigError naming ``label`` (a flag or an argument) for an unknown
    name, a value of another type, or a list that names nothing. Every list of names, on the command line or in the
    Python API, is read here: `--traffic MATLAB` and `traffic="MATLAB"` agree, and a name given twice never runs
    (or weighs) twice."""
    from collections.abc import Sequence, Set

    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, (Sequence, Set)) and not isinstance(value, (bytes, bytearray)):
        parts = list(value)
        if isinstance(value, Set):  # no order of its own: valid's, then the rest by name (the same every run)
            order = {v: i for i, v in enumerate(valid)}
            parts.sort(key=lambda v: (order.get(v, len(order)), str(v)))
        if not all(isinstance(p, str) for p in parts):
            raise ConfigError(f"{label}: {what} names must be strings, got {value!r}")
    else:
        raise ConfigError(f"{label} must be a comma-separated string or a sequence of {what} names, got {value!r}")
    spelled = {name.lower(): name for name in valid}
    names: list[str] = []
    for part in parts:
        word = part.strip()
        if not word:
            continue
        name = word if word in valid else spelled.get(word.lower())
        if name is None:
            raise ConfigError(f"{label}: unknown {what} {word!r}; valid: {', '.join(valid)}")
        if name not in names:
            names.append(name)
    if not names:
        raise ConfigError(f"{label} {value!r} names no {what}; valid: {', '.join(valid)}")
    return tuple(names)
