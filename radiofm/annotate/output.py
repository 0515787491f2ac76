"""Writing an annotated recording: ``PREFIX.sigmf-meta`` (the detected carriers), ``PREFIX.sigmf-data`` (the
input's samples: a hard link to its data file where possible, else a copy) and ``PREFIX.png`` (the overlay
figure), all or nothing, through the one SigMF writer (:func:`radiofm.data.sigmf_writer.write_sigmf_copy`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from radiofm import __version__
from radiofm.annotate.decide import MIN_SCORE, PHY_MAX_MS
from radiofm.annotate.engine import ENGINES, EngineUnsupported, load_numpy_segmenter, numpy_predictor
from radiofm.annotate.figure import overlay_figure
from radiofm.annotate.plan import plan_analysis
from radiofm.annotate.run import AnnotateResult, annotate_recording, check_options, model_predictor
from radiofm.data.recording import Recording
from radiofm.data.recording_open import open_recording
from radiofm.data.sigmf_format import ANNOTATION_CORE, SIGMF_VERSION, Annotation
from radiofm.data.sigmf_writer import annotation_dict, refuse_folders, sigmf_source, write_sigmf_copy
from radiofm.dsp.threads import usable_cores
from radiofm.errors import ConfigError, RecordingError, check_count, check_device, check_number


def output_paths(prefix: str | Path) -> dict[str, Path]:
    """``PREFIX`` (with or without .sigmf-meta/.sigmf-data/.png) -> {"meta", "data", "png"} paths."""
    p = Path(prefix)
    if p.name.lower().endswith((".sigmf-meta", ".sigmf-data", ".png")):
        p = p.with_suffix("")
    return {
        k: p.with_name(p.name + ext) for k, ext in (("meta", ".sigmf-meta"), ("data", ".sigmf-data"), ("png", ".png"))
    }


def check_outputs(rec: Recording, prefix: str | Path) -> dict[str, Path]:
    """The output paths for ``prefix``; RecordingError when one of them is the input's metadata or data file.

    An existing ``PREFIX.sigmf-data`` that is a hard link to the input's data (an earlier run's output) is not the
    input: writing replaces that name only (:func:`radiofm.io.atomic_path`), the input's bytes stay untouched."""
    paths = output_paths(prefix)
    for key, out in paths.items():
        for src in (rec.path, rec.data_path):
            same = out.resolve() == Path(src).resolve()
            if same or (key != "data" and _same_file(out, src)):
                raise RecordingError(f"output {out} would overwrite the input recording {src}; choose another --out")
    return paths


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def write_annotated(
    rec: Recording,
    result: AnnotateResult,
    prefix: str | Path,
    *,
    model: str | None = None,
    link: bool = True,
    n_samples: int | None = None,
) -> dict[str, Path]:
    """Write ``PREFIX.sigmf-meta`` + ``PREFIX.sigmf-data`` (the input's bytes) + ``PREFIX.png`` (not when
    ``result.picture_db`` is None: annotated without a picture).

    ``link`` (the default): the data file is a hard link to the input's where the filesystem allows (no copy: a
    60 s capture at 61.44 MS/s is 14.7 GB; :func:`radiofm.data.sigmf_writer.link_or_copy`), else a byte copy;
    ``link=False`` always copies. ``n_samples``: only the input's first samples (a recording still growing: the
    data file then holds exactly those). The input's own annotations stay (a person's labels, say), but for those
    an earlier ``radiofm annotate`` wrote, which the new ones replace. All files appear together or not at all
    (temporary names, renamed at the end); the input is only read.
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
        "lines_removed_hz": list(result.lines_hz),
        "image_rejection_db_corrected": result.image_rejection_db,
        "image_rejection_db_range": None if (span := result.image_rejection_range_db) is None else list(span),
        "clipped_share": result.clipped,
        # the stage's CPU time stays in the result: in the file it made two runs of one command differ in bytes
        "phy": None if result.phy is None else {k: v for k, v in result.phy.items() if k != "cpu_s"},
    }
    exts = [e for e in glob.get("core:extensions", []) if e.get("name") != "radiofm"]
    glob["core:extensions"] = exts + [{"name": "radiofm", "version": __version__, "optional": True}]
    anns = _kept_annotations(rec, rec.n_samples if n_samples is None else n_samples)
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
    also = {}
    if result.picture_db is not None:
        picture = overlay_figure(rec, result)
        also[paths["png"]] = picture.save
    else:
        paths.pop("png")
    write_sigmf_copy(rec, paths["meta"], global_meta=glob, captures=caps, annotations=anns, also=also, link=link,
                     n_samples=n_samples)  # fmt: skip
    return paths


def _kept_annotations(rec: Recording, n: int) -> list[dict]:
    """The input's annotations that start among its first ``n`` samples (counts cut there), as SigMF dicts, but
    for an earlier ``radiofm annotate``'s (its ``core:generator``). Only namespaced keys go with them (a ``.npy``
    sidecar's may be anything), and none of them may set the sample range or edges again."""
    kept = []
    for a in rec.annotations:
        generator = str(a.extra.get("core:generator", ""))
        if not 0 <= a.sample_start < n or (generator.startswith("radiofm ") and generator.endswith(" annotate")):
            continue
        extra = {k: v for k, v in a.extra.items() if ":" in k and k not in ANNOTATION_CORE and k != "core:label"}
        d = annotation_dict(Annotation(a.sample_start, min(a.sample_count, n - a.sample_start), a.freq_lower_edge_hz,
                                       a.freq_upper_edge_hz, a.label, extra))  # fmt: skip
        kept.append(d)
    return kept


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
    phy: bool = True  # physical-layer evidence per carrier (annotate.decide); False: spectrogram scores only
    phy_max_ms: float = PHY_MAX_MS  # samples of each carrier the physical-layer stage analyses
    min_score: float = MIN_SCORE  # pooled spectrogram score needed to label without decisive PHY evidence
    scan_nr: bool = True  # search the band outside the identified cells for NR SSBs the model missed (~1.4 CPU-s)
    scan_lte: bool = True  # the same for LTE cells (~2 CPU-s; annotate.blind_scan; neither with follow)
    picture: bool = True  # write PREFIX.png (the overlay); False: no picture is computed or written
    # "int8": dynamically quantised transformer blocks (CPU); "bf16": bfloat16 autocast (CPUs with native bf16,
    # CUDA); both change probabilities slightly (docs/RESULTS.md)
    quantize: str | None = None
    # torch threads for the model (None: torch's default, one per core; with bf16 on the CPU and a reader thread,
    # one per core but the reader's, during each model call)
    threads: int | None = None
    # "auto": the numpy engine (annotate.engine; no torch import, ~2 s less start-up) on a CPU-only machine when
    # the model is one it computes and neither quantize nor threads is set, else torch; "torch"; "numpy"
    engine: str = "auto"
    prefetch: int = 1  # blocks whose spectrogram a reader thread computes ahead of the model (0: no thread)
    follow: bool = False  # the recording is still being written: annotate it as it grows (annotate.follow)
    duration_s: float | None = None  # with follow: stop once this much of the recording has arrived
    idle_timeout_s: float = 10.0  # with follow: stop when the data file has not grown for this long
    sample_rate_hz: float | None = None  # Hz, for a recording that gives none (a .npy without sidecar)
    copy_data: bool = False  # PREFIX.sigmf-data as a byte copy even where a hard link to the input is possible
    frame_step: int = 1  # analyse every K-th 40 ms frame only (~K x faster; carriers between sightings bridged)

    def __post_init__(self) -> None:
        check_options(**vars(self))  # the fields named as annotate_recording's options
        check_device(self.device)
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.quantize not in (None, "int8", "bf16"):
            raise ConfigError(f"quantize must be None, 'int8' or 'bf16', got {self.quantize!r}")
        if self.threads is not None:
            check_count(self.threads, "threads", high=1024)
        check_number(self.idle_timeout_s, "idle_timeout_s", low=0.0, open_low=True)
        for name in ("duration_s", "sample_rate_hz"):
            if getattr(self, name) is not None:
                check_number(getattr(self, name), name, low=0.0, open_low=True)


def annotate_file(
    recording: str | Path,
    model: str | Path,
    out: str | Path,
    config: AnnotateConfig | None = None,
    *,
    on_annotations=None,
) -> tuple[AnnotateResult, dict[str, Path]]:
    """Annotate the recording file with the segmentation run ``model`` and write ``out`` (a prefix, see
    :func:`write_annotated`). Unsupported recordings and clashing outputs are refused before the model loads.
    With ``config.follow`` the recording may still be growing (:func:`radiofm.annotate.follow.follow_recording`;
    ``on_annotations`` receives each batch of final annotations as it is decided). Returns (the result,
    {"meta", "data"[, "png"]} paths)."""
    cfg = config or AnnotateConfig()
    if not isinstance(cfg, AnnotateConfig):
        raise ConfigError(f"config must be an AnnotateConfig, got {type(cfg).__name__}")
    cfg.__post_init__()  # fields set after construction are checked too
    if not cfg.follow:
        rec = open_recording(recording, sample_rate_hz=cfg.sample_rate_hz)
        if not rec.is_complex:
            raise RecordingError(f"{rec.path}: real-valued datatype {rec.datatype}; annotate needs complex IQ")
        plan_analysis(rec.sample_rate_hz, rec.n_samples, name=f"recording {rec.path}")  # refuse early
        paths = check_outputs(rec, out)
    else:  # the recording may not exist yet: compare names
        base = Path(recording)
        if base.name.lower().endswith((".sigmf-meta", ".sigmf-data")):
            base = base.with_suffix("")
        ins = {base.with_name(base.name + e).resolve() for e in (".sigmf-meta", ".sigmf-data")}
        paths = output_paths(out)
        for p in paths.values():
            if p.resolve() in ins:
                raise RecordingError(f"output {p} would overwrite the input recording; choose another --out")
    refuse_folders([paths["meta"], paths["data"]] + ([paths["png"]] if cfg.picture else []))  # before any work
    predictor = load_predictor(model, cfg)
    common = analysis_kwargs(cfg)
    if cfg.follow:
        from radiofm.annotate.follow import follow_recording

        result, rec = follow_recording(
            recording,
            predictor,
            duration_s=cfg.duration_s,
            idle_timeout_s=cfg.idle_timeout_s,
            on_annotations=on_annotations,
            frame_step=cfg.frame_step,
            sample_rate_hz=cfg.sample_rate_hz,
            **common,
        )
    else:
        result = annotate_recording(rec, predictor, progress=cfg.progress, scan_nr=cfg.scan_nr,
                                    scan_lte=cfg.scan_lte, frame_step=cfg.frame_step, **common)  # fmt: skip
    # a followed recording's output holds exactly the samples analysed: a hard link only when they are the whole
    # file when the run ends, else a copy of them (a run stopped by --duration, a sample half written)
    n = result.plan.n_samples if cfg.follow else None
    paths = write_annotated(rec, result, out, model=str(model), link=not cfg.copy_data, n_samples=n)
    return result, paths


def choose_engine(cfg: AnnotateConfig) -> str:
    """ "numpy" or "torch" for ``cfg`` (see :attr:`AnnotateConfig.engine`); ConfigError for a combination that
    cannot run. "auto" takes numpy only where torch would run on the CPU in fp32 anyway: device "cpu", or "auto"
    on a machine without an NVIDIA driver (/proc/driver/nvidia), no quantize, no threads."""
    if cfg.engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {cfg.engine!r}")
    if cfg.engine == "numpy" and (cfg.quantize or cfg.threads or cfg.device not in ("auto", "cpu")):
        raise ConfigError("--engine numpy runs fp32 on the CPU: it takes no --quantize, --threads or --device cuda")
    if cfg.engine != "auto":
        return cfg.engine
    cpu = cfg.device == "cpu" or (cfg.device == "auto" and not Path("/proc/driver/nvidia").exists())
    return "numpy" if cpu and not cfg.quantize and not cfg.threads else "torch"


def load_predictor(model: str | Path, cfg: AnnotateConfig):
    """The segmentation run ``model`` as a :data:`~radiofm.annotate.run.Predictor` with ``cfg``'s engine, device,
    threads, batch size and quantisation. With engine "auto", a model the numpy engine does not compute
    (:class:`~radiofm.annotate.engine.EngineUnsupported`) runs on torch."""
    if choose_engine(cfg) == "numpy":
        try:
            seg, info = load_numpy_segmenter(model)
            return numpy_predictor(seg, info, batch_size=cfg.batch_size)
        except EngineUnsupported:
            if cfg.engine == "numpy":
                raise
    from radiofm.tasks.segmentation import load_segmentation_model
    from radiofm.train.distributed import resolve_device

    device = resolve_device(cfg.device)  # "cuda" without CUDA: a ConfigError here, not torch's traceback later
    net, info = load_segmentation_model(model)
    if cfg.quantize == "int8" and device != "cpu":
        raise ConfigError(f"quantize={cfg.quantize!r} runs on the CPU only, not on {device}")
    if cfg.quantize == "bf16":
        from radiofm.tasks.segmentation import native_bf16

        if not native_bf16(device):
            raise ConfigError(
                "quantize='bf16': this CPU has no native bfloat16 (AVX512-BF16 or AMX), where bf16 is emulated and "
                "slower than float32; leave --quantize at none"
            )
    # bf16 on the CPU with a reader thread: the model on the other cores. Its products are fast enough that the
    # reader's share decides the pace (2 cores: 1.25-1.30x real time on both, 1.41-1.69x with the model on one;
    # the same annotations, docs/RESULTS.md session 48); threads set for each model call only
    own = cfg.threads is None and cfg.quantize == "bf16" and device == "cpu" and cfg.prefetch > 0
    threads = cfg.threads or (max(1, usable_cores() - 1) if own else None)  # set per call, the caller's restored
    return model_predictor(net, info, batch_size=cfg.batch_size, device=device, quantize=cfg.quantize, threads=threads)


def analysis_kwargs(cfg: AnnotateConfig) -> dict:
    """The keyword arguments of :func:`~radiofm.annotate.annotate_recording` that ``cfg`` sets (all but
    ``progress``, ``scan_nr`` and ``scan_lte``, which one-shot runs add)."""
    return dict(
        threshold=cfg.threshold,
        min_duration_ms=cfg.min_duration_ms,
        min_bandwidth_khz=cfg.min_bandwidth_khz,
        batch_size=cfg.batch_size,
        nonfinite="repair" if cfg.repair_nonfinite else "error",
        phy=cfg.phy,
        phy_max_ms=cfg.phy_max_ms,
        min_score=cfg.min_score,
        picture=cfg.picture,
        prefetch=cfg.prefetch,
    )
