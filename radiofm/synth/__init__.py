"""Signal and dataset generators.

- :mod:`radiofm.synth.ism` — the ISM / 2.40–2.65 GHz pretraining corpus (:func:`synthesize_recording`; the
  corpus folder is written by :func:`radiofm.data.ism.generate_corpus`)
- :mod:`radiofm.synth.emitters` — baseband waveforms (Wi-Fi, Bluetooth, BLE, Zigbee, microwave, LTE/NR)
- :mod:`radiofm.synth.impairments` — CFO, IQ imbalance, DC spike, phase noise, AGC/clipping, bursty timing
- :mod:`radiofm.synth.channels` — multipath fading with Doppler
- :mod:`radiofm.synth.nrlte` — NR/LTE segmentation captures (the dataset folder: :mod:`radiofm.data.nrlte`)
- :mod:`radiofm.synth.nrlte_alt` — an independently written NR/LTE downlink generator, for cross-generator validation
- :mod:`radiofm.synth.csi_har` (+ :mod:`radiofm.synth.body_motion`, :mod:`radiofm.synth.body_shadow`) — NTU-Fi-like
  Wi-Fi CSI of six activities
- :mod:`radiofm.synth.positioning` — 5G NR CSI from a UE to four base stations, for positioning

Generators return arrays and plain-dict metadata (SigMF annotation dicts); they never write files and never
import :mod:`radiofm.data`.

Names are resolved lazily, so ``import radiofm.synth`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CorpusConfig": "radiofm.synth.ism",
    "synthesize_recording": "radiofm.synth.ism",
    "ISM_LABELS": ("radiofm.synth.ism", "LABELS"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'radiofm.synth' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    return getattr(importlib.import_module(module), attr)
