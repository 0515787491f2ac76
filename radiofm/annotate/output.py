"""Writing an annotated recording: ``PREFIX.sigmf-meta`` (the detected carriers), ``PREFIX.sigmf-data`` (the
input's samples, copied) and ``PREFIX.png`` (the overlay figure), all or nothing, through the one SigMF writer
(:func:`radiofm.data.sigmf_writer.write_sigmf_copy`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from radiofm import __version__
from radiofm.annotate.figure import overlay_figure
from radiofm.annotate.plan import plan_analysis
from radiofm.annotate.run import AnnotateResult, annotate_recording, model_predictor
from radiofm.data.recording import Recording, open_recording
from radiofm.data.sigmf_format import SIGMF_VERSION
from radiofm.data.sigmf_writer import sigmf_source, write_sigmf_copy
from radiofm.errors import RecordingError
from radiofm.tasks.segmentation import load_segmentation_model


def output_paths(prefix: str | Path) -> dict[str, Path]:
    """``PREFIX`` (with or without .sigmf-meta/.sigmf-data/.png) -> {"meta", "data", "png"} paths."""
    p = Path(prefix)
    if p.name.lower().endswith((".sigmf-meta", ".sigmf-data", ".png")):
        p = p.with_suffix("")
    return {
        k: p.with_name(p.name + ext) for k, ext in (("meta", ".sigmf-meta"), ("data", ".sigmf-data"), ("png", ".png"))
    }


def check_outputs(rec: Recording, prefix: str | Path) -> dict[str, Path]:
    """The output paths for ``prefix``; RecordingError when one of them is the input's metadata or data file."""
    paths = output_paths(prefix)
    for out in paths.values():
        for src in (rec.path, rec.data_path):
            if _same_file(out, src) or out.resolve() == Path(src).resolve():
                raise RecordingError(f"output {out} would overwrite the input recording {src}; choose another --out")
    return paths


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def write_annotated(
    rec: Recording, result: AnnotateResult, prefix: str | Path, *, model: str | None = None
) -> dict[str, Path]:
    """Write ``PREFIX.sigmf-meta`` + ``PREFIX.sigmf-data`` (the input's bytes, copied in chunks) + ``PREFIX.png``.

    All three appear together or not at all (temporary names, renamed at the end); the input is only read.
    """
    paths = check_outputs(rec, prefix)
    glob, caps = sigmf_source(rec)
    old = glob.get("core:description")
    glob["core:description"] = (
        "NR/LTE carriers detected by radiofm annotate"
        + (f" (model {model})" if model else "")
        + f" in {rec.path.name}"
        + (f"; original description: {' '.join(str(old).split())}" if old else "")
    )
    glob["core:version"] = SIGMF_VERSION
    glob["radiofm:annotate"] = {
        "source": str(rec.path),
        "model": model,
        "sample_rate_hz": result.plan.sample_rate_hz,
        "analysis_rate_hz": result.plan.analysis_rate_hz,
        "frequency_windows": len(result.plan.windows),
        "level_shift_db": round(result.level_shift_db, 2),
        "nonfinite_repaired": result.n_repaired,
    }
    exts = [e for e in glob.get("core:extensions", []) if e.get("name") != "radiofm"]
    glob["core:extensions"] = exts + [{"name": "radiofm", "version": __version__, "optional": True}]
    anns = []
    for a in result.annotations:
        d = {
            "core:sample_start": a.sample_start,
            "core:sample_count": a.sample_count,
            "core:freq_lower_edge": float(a.freq_lower_edge_hz),
            "core:freq_upper_edge": float(a.freq_upper_edge_hz),
            "core:label": a.label,
            "core:generator": f"radiofm {__version__} annotate",
            **a.extra,
        }
        if model:
            d["radiofm:model"] = model
        anns.append(d)
    fig = overlay_figure(rec, result)
    write_sigmf_copy(
        rec,
        paths["meta"],
        global_meta=glob,
        captures=caps,
        annotations=anns,
        also={paths["png"]: lambda tmp: fig.savefig(tmp, format="png", dpi=110)},
    )
    return paths


@dataclass
class AnnotateConfig:
    """How ``radiofm annotate`` analyses a recording (see :func:`radiofm.annotate.annotate_recording`)."""

    threshold: float = 0.5  # a pixel is a carrier when p(NR) + p(LTE) >= threshold (lower finds weaker ones)
    min_duration_ms: float = 1.0  # shorter detections are dropped
    min_bandwidth_khz: float = 900.0  # narrower detections are dropped (LTE 1.4 MHz occupies 1.08 MHz)
    batch_size: int = 16  # images per model call
    repair_nonfinite: bool = False  # NaN/Inf samples set to 0 for the analysis instead of refused
    device: str = "auto"  # "auto" (CUDA when available), "cpu", "cuda", "cuda:N"
    progress: bool = True  # progress bar on stderr
    sample_rate_hz: float | None = None  # Hz, for a recording that gives none (a .npy without sidecar)


def annotate_file(
    recording: str | Path, model: str | Path, out: str | Path, config: AnnotateConfig | None = None
) -> tuple[AnnotateResult, dict[str, Path]]:
    """Annotate the recording file with the segmentation run ``model`` and write ``out`` (a prefix, see
    :func:`write_annotated`). Unsupported recordings and clashing outputs are refused before the model loads.
    Returns (the result, {"meta", "data", "png"} paths)."""
    cfg = config or AnnotateConfig()
    rec = open_recording(recording, sample_rate_hz=cfg.sample_rate_hz)
    if not rec.is_complex:
        raise RecordingError(f"{rec.path}: real-valued datatype {rec.datatype}; annotate needs complex IQ")
    plan_analysis(rec.sample_rate_hz, rec.n_samples, name=f"recording {rec.path}")  # refuse early, before the model
    paths = check_outputs(rec, out)
    net, info = load_segmentation_model(model)
    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    result = annotate_recording(
        rec,
        model_predictor(net, info, batch_size=cfg.batch_size, device=device),
        threshold=cfg.threshold,
        min_duration_ms=cfg.min_duration_ms,
        min_bandwidth_khz=cfg.min_bandwidth_khz,
        batch_size=cfg.batch_size,
        nonfinite="repair" if cfg.repair_nonfinite else "error",
        progress=cfg.progress,
    )
    write_annotated(rec, result, paths["meta"], model=str(model))
    return result, paths
