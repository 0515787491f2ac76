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
from radiofm.data.signals import (
    LabelledFiles,
    SignalSpectrogramParams,
    check_classes,
    open_signal_dataset,
    signal_spectrogram,
    write_signal_dataset,
)
from radiofm.data.spectrogram_images import (
    export_image_dataset,
    load_image,
    open_image_dataset,
    write_spectrogram_png,
)

__all__ = [
    "SUPPORTED_DATATYPES",
    "Annotation",
    "Capture",
    "LabelledFiles",
    "Recording",
    "SignalSpectrogramParams",
    "check_classes",
    "export_image_dataset",
    "find_recordings",
    "load_image",
    "open_image_dataset",
    "open_recording",
    "open_signal_dataset",
    "signal_spectrogram",
    "write_sigmf",
    "write_signal_dataset",
    "write_spectrogram_png",
]
