"""``radiofm evaluate annotate``: annotate every labelled recording of a folder and score the result.

The recordings' own annotations labelled ``NR`` or ``LTE`` (with frequency edges) are the truth — the ones
``radiofm generate nrlte --iq`` writes, or a user's hand-labelled captures. Each recording is annotated exactly as
``radiofm annotate`` would (same :class:`~radiofm.annotate.AnnotateConfig`, no picture), and the output is
scored per carrier and per pixel (:mod:`radiofm.annotate.score`). Carriers are also reported per value of an
annotation key (``group_key``, default ``radiofm:traffic``: the generator's traffic regime), so a regime held out
of training can be read apart.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tqdm.auto import tqdm

from radiofm.annotate.output import AnnotateConfig, analysis_kwargs, load_predictor
from radiofm.annotate.run import annotate_recording
from radiofm.annotate.score import AnnotateScore, is_carrier
from radiofm.data.recording_open import open_recording
from radiofm.data.sources import find_recordings, no_recordings_message
from radiofm.errors import ConfigError, RecordingError, check_count
from radiofm.io import atomic_path, check_destination, write_json

GROUP_KEY = "radiofm:traffic"


def _band(rec) -> tuple[float, float]:
    centres = {c.center_freq_hz for c in rec.captures} or {None}
    if len(centres) > 1:
        raise RecordingError(f"{rec.path}: retuned during the recording ({len(centres)} centre frequencies); "
                             "scoring needs one band")  # fmt: skip
    centre = next(iter(centres)) or 0.0
    return centre - rec.sample_rate_hz / 2, centre + rec.sample_rate_hz / 2


def evaluate_annotate(
    model: str | Path,
    data: str | Path,
    out: str | Path,
    config: AnnotateConfig | None = None,
    *,
    max_recordings: int | None = None,
    group_key: str = GROUP_KEY,
    progress: bool = True,
) -> dict:
    """Annotate the recordings under ``data`` with the segmentation run ``model``; writes and returns
    ``out/annotate_score.json``: :meth:`AnnotateScore.report` over all recordings, ``per_group`` (carriers per
    value of ``group_key``), and one record per true carrier.

    Recordings without any NR/LTE annotation are scored too (every box on them is a false box) as long as at least
    one recording has one; a folder with none is refused.
    """
    cfg = config or AnnotateConfig()
    check_destination(out, kind="folder")  # an output that cannot be written is refused before any recording
    if max_recordings is not None:
        check_count(max_recordings, "max_recordings")
    paths = find_recordings(data)[:max_recordings]
    if not paths:
        raise RecordingError(no_recordings_message(data))
    recordings = [open_recording(p, sample_rate_hz=cfg.sample_rate_hz) for p in paths]
    if not any(is_carrier(a) for rec in recordings for a in rec.annotations):
        raise ConfigError(f"no recording under {data} has an annotation labelled NR or LTE to score against")
    bands = [_band(rec) for rec in recordings]  # refuse early, before the model loads
    for rec in recordings:
        if not rec.is_complex:
            raise RecordingError(f"{rec.path}: real-valued datatype {rec.datatype}; annotate needs complex IQ")
    predictor = load_predictor(model, cfg)
    kwargs = analysis_kwargs(cfg) | {"picture": False}
    score = AnnotateScore()
    bar = tqdm(recordings, disable=not progress, unit="rec", desc="annotate + score")
    for rec, (lower, upper) in zip(bar, bands, strict=True):
        truth = [a for a in rec.annotations if is_carrier(a)]
        result = annotate_recording(rec, predictor, scan_nr=cfg.scan_nr, scan_lte=cfg.scan_lte, **kwargs)
        records = score.add(truth, result.annotations, n_samples=rec.n_samples, lower_hz=lower, upper_hz=upper,
                            tags={"recording": str(Path(rec.path).name)})  # fmt: skip
        for r, a in zip(records, truth, strict=True):
            r["group"] = a.extra.get(group_key)
        rec.close()
    groups = defaultdict(AnnotateScore)
    for r in score.carriers:
        groups[str(r["group"])].carriers.append(r)
    report = score.report() | {
        "model": str(model),
        "data": str(data),
        "config": {
            "phy": cfg.phy,
            "scan_nr": cfg.scan_nr and cfg.phy,
            "scan_lte": cfg.scan_lte and cfg.phy,
            "threshold": cfg.threshold,
            "min_score": cfg.min_score,
            "quantize": cfg.quantize,
        },
        "group_key": group_key,
        "per_group": {g: s.report()["carriers"] for g, s in sorted(groups.items()) if g != "None"},
        "records": score.carriers,
    }
    with atomic_path(out) as tmp:  # the folder replaced whole, as every evaluation's (radiofm.io.atomic_path)
        tmp.mkdir(parents=True)
        write_json(tmp / "annotate_score.json", report)
    return report
