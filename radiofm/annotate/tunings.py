"""A recording that retunes: each tuning analysed as a recording of its own, the results joined.

A receiver that sweeps (or is retuned by hand) writes one SigMF capture per tuning. Analysed as one stream, the
model's frames and the physical-layer stages mixed two bands: a carrier of the first tuning came out at the second's
frequency and real carriers went missing (docs/RESULTS.md, session 60). The recording is cut at
every change of ``core:frequency`` (:meth:`radiofm.data.recording.Recording.tunings`);
:func:`radiofm.annotate.run.annotate_recording` analyses each tuning through
:meth:`~radiofm.data.recording.Recording.span` and :func:`joined` puts the results back on the recording's samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from radiofm.annotate.result import AnnotateResult
from radiofm.data.recording import Recording


def tuning_name(rec: Recording, start: int) -> str:
    """How a refusal names the tuning of ``rec`` that starts at sample ``start``."""
    centre = rec.span(start, 1).center_freq_hz
    at = f" at {centre / 1e6:g} MHz" if centre is not None else ""
    return f"{rec.path}: the tuning{at} from sample {start} (each tuning of a retuned recording is analysed alone)"


def joined(results: Sequence[AnnotateResult], starts: Sequence[int]) -> AnnotateResult:
    """The results of consecutive tunings (``starts``: each one's first sample in the recording) as one: the
    annotations in recording samples, the repairs and the physical layer's counts added. No picture: one image
    cannot show two bands on one frequency axis."""
    annotations = [
        dataclasses.replace(a, sample_start=a.sample_start + s) for r, s in zip(results, starts) for a in r.annotations
    ]
    phy = None
    if all(r.phy is not None for r in results):
        phy = dict(results[0].phy)
        for r in results[1:]:
            for k, v in r.phy.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "max_ms":
                    phy[k] = phy.get(k, 0) + v
    first = results[0]
    clipped = [r.clipped for r in results if r.clipped is not None]
    return dataclasses.replace(
        first,
        annotations=annotations,
        picture_db=None,
        n_repaired=sum(r.n_repaired for r in results),
        phy=phy,
        lines_hz=tuple(sorted({f for r in results for f in r.lines_hz})),
        image_rejection_db=next((r.image_rejection_db for r in results if r.image_rejection_db is not None), None),
        clipped=max(clipped) if clipped else None,
        tunings=len(results),
    )
