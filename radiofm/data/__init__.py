"""Recordings (SigMF and complex .npy) and datasets built from them."""

from radiofm.data.recording import (
    SUPPORTED_DATATYPES,
    Annotation,
    Capture,
    Recording,
    find_recordings,
    open_recording,
    write_sigmf,
)

__all__ = [
    "SUPPORTED_DATATYPES",
    "Annotation",
    "Capture",
    "Recording",
    "find_recordings",
    "open_recording",
    "write_sigmf",
]
