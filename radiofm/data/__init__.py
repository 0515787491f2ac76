"""Recordings (SigMF and complex .npy: one reader, one writer), dataset folders (writers and readers side by side),
cached datasets, splits."""

from radiofm.data.recording import Recording
from radiofm.data.recording_open import open_recording
from radiofm.data.sigmf_format import SUPPORTED_DATATYPES, Annotation, Capture
from radiofm.data.sigmf_writer import write_sigmf
from radiofm.data.sources import find_recordings

__all__ = [
    "SUPPORTED_DATATYPES",
    "Annotation",
    "Capture",
    "Recording",
    "find_recordings",
    "open_recording",
    "write_sigmf",
]
