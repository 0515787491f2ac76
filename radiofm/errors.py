"""User-facing errors.

Anything a user can cause (a missing file, a malformed recording, an impossible flag) raises
:class:`RadioFMError` with a one-line message naming the problem. The CLI prints ``radiofm: error: <message>``
and exits with status 2; it never shows a traceback for these.
"""


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
