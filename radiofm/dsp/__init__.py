"""Pure signal processing: spectrograms, segmenting, resizing, resource grids (numpy/scipy/torch, no I/O).

- :func:`spectrogram` / :func:`spectrogram_batch`: (N,) IQ -> float32 (F, T) dB power, DC-centred.
- :func:`segment`: (N,) -> (S, n_seg) non-overlapping fixed-duration segments (a view).
- :func:`resize`: (..., H, W) -> (..., h, w); ``mode="nearest"`` for label maps.
- :func:`resource_grid`, :func:`grid_agreement`, :func:`grid_detection`, :func:`detection_rates`: the occupancy
  metric of papers A/B.
- :mod:`radiofm.dsp.frontend`: the NR/LTE model front end (61.44 MS/s, 40 ms -> 256 x 256 dB), shared by the
  generator and ``annotate``.
- NR/LTE physical layer of one carrier: :func:`carrier_evidence` (NR / LTE / unknown with scores, PCI and
  reasons), :func:`lte_pss_search`, :func:`nr_pss_search`, :func:`dc_null_score`, :func:`bandwidth_evidence`,
  :func:`refine_edges`; LTE cells anywhere in a band with their CRS-measured bands in
  :mod:`radiofm.dsp.lte_cells`; 3GPP sequences in :mod:`radiofm.dsp.sequences`.
"""

from radiofm.dsp.bandwidth import bandwidth_evidence, refine_edges
from radiofm.dsp.cellsearch import lte_pss_search
from radiofm.dsp.evidence import carrier_evidence, dc_null_score
from radiofm.dsp.grid import (
    detection_rates,
    grid_agreement,
    grid_detection,
    grid_threshold,
    pool_blocks,
    resource_grid,
)
from radiofm.dsp.nr_cellsearch import nr_pss_search
from radiofm.dsp.resize import resize
from radiofm.dsp.segment import segment, segment_length
from radiofm.dsp.stft import hann_periodic, n_frames, spectrogram, spectrogram_batch

__all__ = [
    "bandwidth_evidence",
    "carrier_evidence",
    "dc_null_score",
    "detection_rates",
    "grid_agreement",
    "grid_detection",
    "grid_threshold",
    "hann_periodic",
    "lte_pss_search",
    "n_frames",
    "nr_pss_search",
    "pool_blocks",
    "refine_edges",
    "resize",
    "resource_grid",
    "segment",
    "segment_length",
    "spectrogram",
    "spectrogram_batch",
]
