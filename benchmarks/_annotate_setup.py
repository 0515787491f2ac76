"""Inputs of ``benchmarks/annotate_rtf.py``: the demo's segmentation architecture and long NR/LTE captures.

- ``demo_model(path, *, seed=0)``: a segmentation checkpoint with the demo's architecture (vit-tiny MAE encoder at
  224 x 224, frozen, "mix" readout, the default transformer head) and seeded random weights: the timing does not
  depend on the weights. Written once; reused when ``path/model.safetensors`` exists.
- ``generator_frames(work, n_frames)``: ``WORK/frames``, holding ``radiofm generate nrlte --iq`` frames (made once).
- ``tiled_capture(prefix, seconds, frames_dir, *, datatype="ci16_le")``: a SigMF recording of ``seconds`` at
  61.44 MS/s made by repeating the generator's 40 ms IQ frames (``radiofm generate nrlte --iq``), written in
  chunks (never held in memory), so a 60 s capture costs no more RAM than a 40 ms one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

FS = 61.44e6
FC = 3.5e9
FRAME = 2_457_600


def demo_model(path: Path, *, seed: int = 0) -> Path:
    path = Path(path)
    if (path / "model.safetensors").exists():
        return path
    import dataclasses

    from radiofm.models import save_checkpoint
    from radiofm.models.finetuned import configure_mode
    from radiofm.models.registry import get_config
    from radiofm.reproduce.demo import DemoSettings
    from radiofm.tasks.segmentation import build_segmentation_model
    from radiofm.train import seeded

    s = DemoSettings()
    config = dataclasses.asdict(get_config(s.model))
    config["img_size"] = list(s.image_size)
    with seeded(seed):
        model = build_segmentation_model("mae", config, readout=s.seg_readout)
    settings = configure_mode(model, "frozen")
    extra = {"classes": ["noise", "NR", "LTE"], "finetune": {**settings, "readout": s.seg_readout}}
    save_checkpoint(path, model, kind="segmentation", extra=extra)
    return path


def generator_frames(work: Path, n_frames: int) -> Path:
    frames = Path(work) / "frames"
    if not (frames / "iq").exists():
        subprocess.run([sys.executable, "-m", "radiofm.cli.main", "generate", "nrlte", "--out", str(frames),
                        "--frames", str(n_frames), "--iq", "--seed", "1", "--no-progress", "--workers", "1"],
                       check=True)  # fmt: skip
    return frames


def _frames(frames_dir: Path) -> list[np.ndarray]:
    from radiofm.data import open_recording

    metas = sorted(Path(frames_dir).glob("iq/*.sigmf-meta"))
    if not metas:
        raise SystemExit(f"no IQ frames in {frames_dir}/iq: run radiofm generate nrlte --iq --out {frames_dir}")
    return [open_recording(m).read() for m in metas]


def tiled_capture(prefix: Path, seconds: float, frames_dir: Path, *, datatype: str = "ci16_le") -> Path:
    """Write ``prefix.sigmf-meta`` + ``.sigmf-data``: the frames repeated for ``seconds``; returns the meta path."""
    prefix = Path(prefix)
    meta = prefix.with_name(prefix.name + ".sigmf-meta")
    data = prefix.with_name(prefix.name + ".sigmf-data")
    n = int(round(seconds * FS))
    if meta.exists() and data.exists() and data.stat().st_size == n * (4 if datatype == "ci16_le" else 8):
        return meta
    frames = _frames(frames_dir)
    scale = 0.9 / max(float(np.abs(f).max()) for f in frames)
    if datatype == "ci16_le":
        blobs = [np.round(f.view(np.float32) * (scale * 32767)).astype("<i2").tobytes() for f in frames]
    else:
        blobs = [(f * np.float32(scale)).astype("<c8").tobytes() for f in frames]
    size = len(blobs[0]) // FRAME
    with open(data, "wb") as out:
        done, i = 0, 0
        while done < n:
            k = min(FRAME, n - done)
            out.write(memoryview(blobs[i % len(blobs)])[: k * size])
            done, i = done + k, i + 1
    glob = {"core:datatype": datatype, "core:sample_rate": FS, "core:version": "1.2.6"}
    body = {"global": glob, "captures": [{"core:sample_start": 0, "core:frequency": FC}], "annotations": []}
    meta.write_text(json.dumps(body, indent=2) + "\n")
    return meta
