"""Annotate any NR/LTE recording with a segmentation model: one SigMF annotation per carrier and time span.

Front end (the model's, whatever the recording): the segmentation model was trained on 40 ms captures at
61.44 MS/s turned into 256x256 dB images (FFT 256, periodic Hann 240, hop 240, 40 frames averaged per column),
so a row is 240 kHz, a column 0.15625 ms, and the window lasts 3.906 us. Every recording is analysed at exactly
that resolution:

- **Sample rate** ``fs`` in [1.92, 491.52] MS/s (:data:`MIN_RATE_HZ`, :data:`MAX_RATE_HZ`). A multiple of
  3.84 MHz (every LTE/NR rate: 7.68, 15.36, 30.72, 61.44, 122.88, ...) is analysed directly with FFT
  ``fs / 240 kHz``, window and hop ``fs x 3.906 us`` — at 61.44 MS/s bit-identical to the training front end.
  Other rates (10, 20, 25, 100 MS/s, ...) are first resampled up to the next multiple of 3.84 MHz
  (``resample_poly``, Kaiser low-pass), and the rows beyond ``0.94 fs/2`` (no data, filter roll-off) are left
  out. Powers are scaled by ``(61.44 MHz / analysis rate)^2`` so a given PSD reads the same dB at any rate.
- **Frequency windows**: a band narrower than 61.44 MHz is centred in the 256-row image and the rows outside
  it are filled with noise matched to the recording's floor (Gamma-distributed like a 40-frame average), so
  the model never sees empty -120 dB bins; predictions there are dropped. A wider band is cut into 256-row
  windows every 128 rows (outer ones flush with the band edges); their probabilities are blended with
  triangular weights, so every carrier up to 30 MHz wide is seen whole, and centrally, by one window.
  Below 1.92 MS/s (the narrowest LTE carrier, 1.4 MHz, needs it) or above 491.52 MS/s is refused.
- **Duration**: the column stream is cut into 256-column frames (40 ms); the last frame is overlapped to end at
  the last whole column (probabilities averaged where frames overlap), so no frame holds samples beyond the data.
  Recordings of 10-40 ms (64-255 columns) are padded to one frame with a per-row noise-like continuation
  (each row's own floor level); padded columns are dropped. Shorter than 10 ms is refused. Samples after the
  last whole column (< 0.16 ms) are not analysed; a carrier active in the last column runs to the end.
- **Level**: the model saw carriers at a fixed absolute level (PSD -6..0 dB re 1/61.44 MHz, 12-24 dB in the
  image). An external capture may be scaled arbitrarily (int16 full scale, a receiver gain), so all images of a
  recording are shifted by the one dB offset that brings its carrier level (98th percentile over rows of each
  row's 80th percentile over time, from the whole recording when it fits one block, else from 8 frames spread
  over it) into that range; inside it nothing is shifted (``level="auto"``; ``"none"`` turns it off). Models
  that standardise each image (segmentation's default) are unaffected; models with dataset statistics need it.
- **Dynamic range**: the model saw carriers at most ~31 dB above receiver noise. A block whose noise floor lies
  more than ``frontend.MAX_RANGE_DB`` (50 dB) under its carrier level (a simulated waveform without noise, a
  carrier far stronger than the rest) gets noise added until it does, as a receiver would add it (seeded, 40-frame
  statistics); the model and the box checks see that, the overlay picture shows the recording as it is. Without
  it a noise-free capture's spectral skirts and filter leakage came out as carriers (docs/RESULTS.md, session 32).
- **Band edges**: a radio's anti-alias filter lowers the noise over the outer part of the band; the darker edge
  rows stretch each image's statistics and the model then took plain noise inside the band for a carrier. A
  ramp of row floors falling 6 dB or more towards a band edge (``frontend.fill_rolloff``, outer 15 % of the rows)
  is filled with noise up to the floor inside, for the model and the box checks only.
- **Gain steps**: an AGC or a gain change moves every row, noise included, by the same factor; the model took the
  louder columns' noise for carriers. When the columns' floors split into two levels 3 dB or more apart and the
  noise rows moved by that step (``frontend.undo_gain_steps``), the louder columns are scaled back. A carrier
  switching on moves only its own rows and is left alone.
- **Receiver artefacts** (:mod:`radiofm.annotate.clean`), measured at the start (the imbalance over the first second,
  the lines over the first ~17 ms) and undone in every span any stage reads, the picture included: a quadrature
  mixer's I/Q imbalance worse than the generator's (image rejection under 28.2 dB; every carrier's mirror image came
  out as a carrier), measured blind from the samples' improperness (:mod:`radiofm.dsp.iq_image`), and bin by bin where
  a wideband receiver's I and Q branches differ across the band (a short filter then replaces the constant, where the
  constant would leave an image beyond that range somewhere); an in-range imbalance too when carriers far stronger
  than the training's make its images stand out over the noise; then narrow lines, an LO leakage (DC offset) stronger
  than the trained one and CW spurs, which looked like narrow carriers to the model and masked the physical-layer
  evidence (LTE's empty DC subcarrier, the cell search's correlations): lines at most ~2 kHz wide standing 15 dB over
  the spectrum around them (1 kHz resolution, :func:`radiofm.dsp.lines.find_lines`) are subtracted (a 2 kHz notch
  each). The SigMF output records both (``lines_removed_hz``, ``image_rejection_db_corrected``,
  ``image_rejection_db_range``). A clipped ADC cannot be undone: the share of integer I/Q values at the rails is
  recorded (``clipped_share``) and the CLI warns.
- Long recordings are processed in blocks (32 frames, 1.28 s at 61.44 MS/s; the last one takes the remainder) so
  memory stays bounded: a reader thread computes the next block's power while the model runs on the current one,
  large reads go through the file (no memory map left resident), and the overlay picture is averaged into at
  most 2000 columns (bins of a power-of-two number of columns) as the blocks pass; carriers continuing across
  block (and frame) boundaries are merged afterwards. A model that standardises each image
  (``level_invariant`` predictor) gets no level shift: it would not change its input.
- A recording still being written is annotated with :func:`~radiofm.annotate.follow.follow_recording`
  (``--follow``): every block but the last is final as soon as the file is one block longer, carriers are handed
  out once no later block can extend them, and the end result equals a one-shot run on the finished file.

Post-processing (generic: nothing depends on where our generator puts carriers; :func:`carrier_boxes`):

1. a pixel is "carrier" when p(NR) + p(LTE), averaged over 3 columns in time, is >= ``threshold`` (default 0.5:
   noise is not the most likely class; lower it for weak carriers); a 3x3 opening removes specks; connected
   components (4-connectivity) in time x freq; a component needs a core of 16 pixels at >= threshold + 0.3
   (hysteresis: haze just above the threshold is no carrier);
2. per component: runs of 4+ rows (~1 MHz) whose power stays within 1.5 dB of the noise floor are a guard band
   the model bridged and are cut out; the band rows are those whose carrier fraction over the component's time
   span exceeds 0.5 (carriers are rectangular); each row takes the class with the larger summed probability;
   rows are cut into runs of one class — an NR carrier touching an LTE one gives two boxes, but runs where the
   model is torn (class margin < 0.2) are joined under the majority class, and 1-row slivers are absorbed;
   two same-class carriers with no visible gap stay one box (neither the model nor the spectrum separates them);
3. per band: its columns are those where more than half the band's rows are carrier; off-gaps up to 6 columns
   (0.94 ms: empty subframes of a lightly loaded carrier, one TDD uplink slot) are bridged, longer ones split
   the carrier in time;
4. what the boxes leave of a component: a piece touching a box of its own class is that box's ragged fringe
   (the box is widened over it when it runs along at least half the box, else it is dropped); other pieces
   of at least 5 ms (a shorter carrier beside a longer one) are processed as components again;
5. a box must stand at least 0.3 dB above the rows just beside it (an SNR -6 dB carrier is ~1 dB above the
   floor): this rejects a model's hallucinations on plain noise; a box at the band edge whose power rises
   steadily toward the edge (outermost row >= 3 dB above its median row) is the alias of a carrier beyond the
   other edge folded in by a decimator, not a carrier (:func:`~radiofm.annotate.boxes.edge_alias`); boxes of
   one band (+-1 row) touching in time are merged, whatever class each frame gave them (also across frames and
   blocks);
6. boxes shorter than ``min_duration_ms`` (1 ms) or under 3 rows are dropped; a box crossing a capture boundary
   with a new centre frequency is split there. After the carrier-level decisions below, an annotation whose
   carrier is narrower than ``min_bandwidth_khz`` (900 kHz: the narrowest carrier, LTE 1.4 MHz, occupies
   1.08 MHz = 4-5 rows; so 4 rows, 960 kHz, where no stage measured the band) is dropped: a 3-row piece may lead
   the physical-layer stages to the cell it belongs to, but a 3-row box nothing widened is no carrier (a
   receiver's DC spike).

Carrier-level decision (:mod:`~radiofm.annotate.decide`): the boxes of one band anywhere in the recording are one
carrier; its label comes from the class probabilities pooled over all its pixels and frames and, unless
``phy=False`` (``--no-phy``), from physical-layer evidence on up to 20 ms of its samples at native resolution
(PSS/SSS of both standards, LTE's DC null, occupied-bandwidth tables): decisive PHY evidence decides, else a
pooled score >= ``min_score`` (0.75), else ``unknown``. A carrier on which both an LTE and an NR cell were found
(dynamic spectrum sharing, or two carriers the model boxed as one) becomes the two cells, each annotated with its
own PCI and band (:mod:`~radiofm.annotate.shared`). Then (:mod:`~radiofm.annotate.nr_scan`) the carriers no
sync signal identified are searched for an NR SSB within 4 MHz, and every NR cell's carrier is measured from its
PDSCH DMRS (numbered from point A: the lower edge to the subcarrier, every RB it used): the pieces inside become
one carrier with its PCI and band (the narrowest 38.101-1 bandwidth holding what was seen). Then
(:mod:`~radiofm.annotate.lte_scan`) the carriers still unidentified are searched again for LTE cells within 9 MHz
of them (PSS + SSS at every DC position, the band from the cell's reference signals): the boxes of each cell
found become one carrier with its PCI and measured band — an idle cell the model saw in pieces, two adjacent
cells it saw as one block. (In this order, an NR carrier is not searched for LTE PSS at every DC position of its
band: on a 48 MHz NR carrier that search cost more than all the rest of the physical layer.) By default
(``scan_nr``, ``scan_lte``; :mod:`~radiofm.annotate.blind_scan`)
the band no identified cell occupies is also searched for NR and LTE cells the model did not see at all (first
40 ms; ``--no-scan-nr`` / ``--no-scan-lte`` skip them); the LTE search also covers 15 kHz NR cells, whose band an
LTE cell may share. A cell whose PCI was read is one annotation across
silences of up to a radio frame, 10 ms (a TDD cell's uplink slots, an idle cell's empty slots;
:data:`~radiofm.annotate.merge.CELL_GAP_MS`; an NR cell up to 20 ms, the SSB period UEs assume when searching,
:data:`~radiofm.annotate.merge.NR_CELL_GAP_MS`), also where its pieces were decided apart (the same standard, PCI and
band, measured or, for a weak cell, the model's rows: :func:`~radiofm.annotate.merge.same_cell`).
Carriers no cell identified that the model boxed apart are one carrier when they run on one OFDM clock (symbol
timing and subcarrier raster; :mod:`~radiofm.annotate.clock_pieces`).

Each annotation: ``core:sample_start``/``core:sample_count`` (column edges mapped back to recording samples),
``core:freq_lower_edge``/``core:freq_upper_edge`` (absolute Hz from the capture's centre frequency; relative to 0
when unknown: the occupied band the PHY stage measured to a few kHz when it could, else the model's row edges;
``radiofm:edges`` says which, "measured" or "grid", or "estimated" for an NR cell without DMRS: its SSB's band
widened over the model's boxes, the pieces on the cell's OFDM clock (:mod:`~radiofm.annotate.nr_fragments`) and the
power above the noise beside them; "inner edge measured" for a carrier the recording's band edge cuts: the
recording's edge on that side; "one edge measured" for a carrier with one sharp edge, the other the model's row;
see :mod:`radiofm.annotate.decide`). A recording that retunes (captures at other
centre frequencies) is analysed one tuning at a time (:mod:`radiofm.annotate.tunings`),
``core:label``
"NR"/"LTE"/"unknown", ``radiofm:scores`` (the pooled spectrogram scores {"NR": p, "LTE": 1 - p}),
``radiofm:decision`` (what decided: "phy", "spectrogram", "undecided", "both cells", "no OFDM", "NR unconfirmed"),
``radiofm:confidence``
(mean probability of the label's class over the carrier's pixels; of NR + LTE for "unknown"), and when the PHY
stage ran ``radiofm:evidence`` (its label, scores, llr, PCI, refined occupied band, one line per piece of
evidence) and ``radiofm:pci`` (the physical cell ID, when its PSS and SSS were found and agree with the label); an
LTE cell's ``radiofm:duplex`` ("FDD" or "TDD": the SSS one symbol or three symbols before the PSS).
Accuracy: grid edges within one row (240 kHz) and one column (0.16 ms) of the model's map.

Assumptions: complex baseband IQ (real-valued recordings are refused), one channel, downlink NR/LTE carriers
that are rectangular in time x frequency at 240 kHz x 0.16 ms resolution (constant bandwidth while on), a
roughly flat noise floor apart from a filter's roll-off at the band edges (the floor estimate, the noise fill and
the gap/contrast checks rely on it) that
occupies at least ~10 % of the band somewhere in time, and a model trained on the 61.44 MS/s front end above.
Measured with a mid-training vit-tiny model (pixel accuracy ~0.95) on 10 generator test frames per case
(native 61.44 MS/s, decimated to 30.72 and 25 MS/s, embedded in 122.88 MS/s, 53 ms long): 79 of 82 carriers
found (IoU > 0.5), edges within 0.2-0.4 MHz (median) / 0.7-1.2 MHz (90th percentile), 0-4 false boxes per
10 captures; most remaining errors were that model's NR/LTE label confusions.

Modules: :mod:`~radiofm.annotate.plan` (rates, windows, columns), :mod:`~radiofm.annotate.frontend` (samples ->
power on the grid, floor, level, images), :mod:`~radiofm.annotate.boxes` (probabilities -> boxes),
:mod:`~radiofm.annotate.run` (:func:`annotate_recording`), :mod:`~radiofm.annotate.stream` (blocks, reader
thread, bounded picture, settled boxes), :mod:`~radiofm.annotate.follow` (growing files),
:mod:`~radiofm.annotate.lte_scan` (LTE cells around unidentified pieces), :mod:`~radiofm.annotate.nr_scan`
(NR cells' pieces joined), :mod:`~radiofm.annotate.blind_scan` (cells the model missed),
:mod:`~radiofm.annotate.output` (annotated SigMF through the one SigMF writer), :mod:`~radiofm.annotate.figure`
(the overlay). From Python::

    from radiofm.annotate import annotate_recording, model_predictor, write_annotated
    from radiofm.data import open_recording
    from radiofm.tasks.segmentation import load_segmentation_model

    rec = open_recording("capture.sigmf-meta")
    model, info = load_segmentation_model("runs/seg")
    result = annotate_recording(rec, model_predictor(model, info))
    write_annotated(rec, result, "annotated/capture", model="runs/seg")
"""

from radiofm.annotate.boxes import Box, carrier_boxes, merge_boxes
from radiofm.annotate.output import AnnotateConfig, annotate_file, check_outputs, output_paths, write_annotated
from radiofm.annotate.plan import Plan, plan_analysis
from radiofm.annotate.run import AnnotateResult, FrameInfo, Predictor, annotate_recording, model_predictor

__all__ = [
    "AnnotateConfig",
    "AnnotateResult",
    "Box",
    "FrameInfo",
    "Plan",
    "Predictor",
    "annotate_file",
    "annotate_recording",
    "carrier_boxes",
    "check_outputs",
    "merge_boxes",
    "model_predictor",
    "output_paths",
    "plan_analysis",
    "write_annotated",
]
