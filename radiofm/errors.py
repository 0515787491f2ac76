"""User-facing errors.

Anything a user can cause (a missing file, a malformed recording, an impossible flag) raises
:class:`RadioFMError` with a one-line message naming the problem. The CLI prints ``radiofm: error: <message>``
and exits with status 2; it never shows a traceback for these.

:func:`check_seed` is the one check of a seed, for every generator and training run: numpy's generators refuse a
negative seed and torch's one past 64 bits, each with a traceback.
"""

import numbers

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
