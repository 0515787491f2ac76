"""The NR/LTE segmentation dataset folder: the writer (:func:`generate_dataset`) and the reader
(:func:`open_segmentation_dataset`, :class:`SegmentationDataset`) side by side.

Layout of ``out_dir`` (written to a temporary folder beside it and renamed when complete):

- ``spectrograms.npy``: float32 (N, H, W) log-power spectrograms in dB (H = W = image_size; rows = frequency,
  row 0 the most negative; columns = time), see :func:`radiofm.dsp.frontend.frame_spectrogram`.
- ``labels.npy``: uint8 (N, H, W), 0 noise, 1 NR, 2 LTE.
- ``manifest.json``: ``kind`` "nrlte-segmentation", split, seed, sizes, STFT parameters, class names, the noise,
  level and SNR distributions, the traffic mix and receiver-impairment ranges, and per-frame metadata
  (``frames[i]["carriers"]``: type, bandwidth, SCS, centre offset, band edges, power, SNR, channel profile,
  Doppler, LTE reference channel, active span, ``traffic`` and every knob drawn (see
  :mod:`~radiofm.synth.nrlte.traffic`, :mod:`~radiofm.synth.nrlte.nr`, :mod:`~radiofm.synth.nrlte.lte`);
  ``frames[i]["receiver"]``: CFO, DC offset, IQ imbalance); ``lte_frames``: the LTE frame structures drawn from
  (main: {name: probability}, the mix every non-``matlab`` LTE carrier drew from; alt: the names given, drawn
  uniformly, absent when FDD by default).
- with ``iq=True``: ``iq/frame_0000.sigmf-meta`` + ``.sigmf-data`` (cf32_le, 61.44 MS/s, centre 3.5 GHz) with
  one annotation per carrier.

Frame i is drawn from ``np.random.SeedSequence([seed, i])`` alone (:mod:`radiofm.synth.nrlte`), so the output is
identical for any number of workers.

``generator="alt"`` writes the same layout from the independent second generator :mod:`radiofm.synth.nrlte_alt`
(``make_capture``; for validation only, never for training): same front end, label rule and SigMF writer; each
carrier's ``traffic`` drawn uniformly from the regimes given; the manifest's ``generator`` says which wrote it and
its noise/SNR/receiver fields point to the alt generator's docstring (its levels are defined differently).
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from radiofm.data.sigmf_writer import write_sigmf
from radiofm.dsp.frontend import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE_HZ, frame_spectrogram, stft_params
from radiofm.dsp.resize import resize
from radiofm.errors import ConfigError, DatasetError, check_names, check_seed
from radiofm.io import atomic_path, read_json, write_json
from radiofm.synth.nrlte import lte as lte_module
from radiofm.synth.nrlte import receiver, scene
from radiofm.synth.nrlte import traffic as traffic_module
from radiofm.synth.nrlte_alt.capture import make_capture as make_alt_capture
from radiofm.synth.nrlte_alt.lte import FRAME_STRUCTURES
from radiofm.workers import process_pool

KIND = "nrlte-segmentation"
SCHEMA_VERSION = 1
GENERATORS = ("main", "alt")  # main: radiofm.synth.nrlte (training); alt: radiofm.synth.nrlte_alt (validation)


def _alt_frame(
    rng: np.random.Generator, split: str, mix: dict[str, float], lte_frames: Sequence[str] | None = None
) -> tuple[np.ndarray, dict]:
    """One capture of the independent generator, its metadata in the main generator's shape (carriers, receiver)."""
    iq, meta = make_alt_capture(rng, split=split, traffic=list(mix), n_samples=FRAME_SAMPLES, lte_frames=lte_frames)
    receiver_meta = {"iq_imbalance_db_deg": meta["iq_imbalance_db_deg"], "dc_offset_db": meta["dc_offset_db"]}
    return iq, {"noise_power_db": meta["noise_power_db"], "receiver": receiver_meta, "carriers": meta["carriers"]}


def render_frame(
    seed: int,
    index: int,
    *,
    split: str,
    traffic_mix: Sequence[str] | str | dict[str, float] | None = None,
    fft_size: int = 256,
    image_size: int = 256,
    iq_dir: Path | None = None,
    generator: str = "main",
    lte_frames: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Frame ``index`` of the dataset with ``seed``: (spectrogram float32 (H, W), label uint8 (H, W), metadata).

    ``traffic_mix``: as in :func:`~radiofm.synth.nrlte.scene.make_frame` (None = the default mix of all five).
    With ``iq_dir`` the capture is also written there as SigMF ``frame_{index:04d}``. ``generator``: "main" or
    "alt" (:mod:`radiofm.synth.nrlte_alt`, which draws each carrier's regime uniformly from the mix's names);
    ``lte_frames``: the LTE frame structures to draw from ("fdd", "tdd", "mbsfn"; None = main: all three in
    :data:`radiofm.synth.nrlte.lte.FRAME_MIX`, alt: FDD).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    if generator == "alt":
        mix = traffic_mix if isinstance(traffic_mix, dict) else traffic_module.resolve_mix(traffic_mix)
        iq, meta = _alt_frame(rng, split, mix, lte_frames)
    else:
        buffer = scene._scratch("iq", (FRAME_SAMPLES,), np.complex64)  # reused: the capture never leaves here
        iq, meta = scene.make_frame(rng, split=split, traffic_mix=traffic_mix, lte_frames=lte_frames, out=buffer)
    spec = frame_spectrogram(iq, fft_size=fft_size, image_size=image_size)
    label = scene.label_image(meta["carriers"], fft_size=fft_size, image_size=image_size)
    if iq_dir is not None:
        name = f"frame_{index:04d}"
        write_sigmf(
            Path(iq_dir) / name,
            iq,
            sample_rate_hz=SAMPLE_RATE_HZ,
            center_freq_hz=scene.CENTER_FREQ_HZ,
            annotations=scene.annotations(meta["carriers"]),
            description=f"radiofm NR/LTE segmentation capture ({generator} generator), {split} split, seed {seed}, "
            f"frame {index}",
            extra_global={
                "radiofm:generator": generator,
                "radiofm:split": split,
                "radiofm:seed": seed,
                "radiofm:frame": index,
                "radiofm:noise_power_db": round(meta["noise_power_db"], 3),
                "radiofm:receiver": meta["receiver"],
            },
        )
        meta["iq"] = f"iq/{name}.sigmf-meta"
    return spec, label, meta


def _worker_init() -> None:
    torch.set_num_threads(1)  # one process per core; the STFT must not spawn threads of its own


def generate_dataset(
    out_dir: str | Path,
    *,
    n_frames: int,
    split: str,
    seed: int,
    traffic: Sequence[str] | str | None = None,
    iq: bool = False,
    workers: int = 1,
    progress: bool = True,
    fft_size: int = 256,
    image_size: int = 256,
    generator: str = "main",
    lte_frames: Sequence[str] | str | None = None,
) -> Path:
    """Generate ``n_frames`` captures into ``out_dir`` (see the module docstring); returns ``out_dir``.

    ``traffic``: the regimes to draw carriers' traffic from (names or a comma list, see
    :mod:`~radiofm.synth.nrlte.traffic`); None = all five in the default mix. An unknown name -> ConfigError.
    ``generator``: "main" (default) or "alt" (the independent validation generator). ``lte_frames``: LTE frame
    structures to draw each LTE carrier's from, names or a comma list of "fdd", "tdd", "mbsfn"
    (:mod:`radiofm.synth.nrlte.lte`, :mod:`radiofm.synth.nrlte_alt.lte`); None = main: all three in the mix
    :data:`radiofm.synth.nrlte.lte.FRAME_MIX`; alt: FDD, its captures as before the option.
    """
    if generator not in GENERATORS:
        raise ConfigError(f"unknown generator {generator!r}; valid: {', '.join(GENERATORS)}")
    lte_frames = _lte_frames(lte_frames)
    mix = traffic_module.resolve_mix(traffic)
    if split not in scene.NOISE:
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    seed = check_seed(seed)
    for name, value, low in (("n_frames", n_frames, 1), ("workers", workers, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(fft_size, (int, np.integer)) or not 16 <= fft_size <= 65536:
        raise ConfigError(f"fft_size must be an integer in 16..65536, got {fft_size!r}")
    if not isinstance(image_size, (int, np.integer)) or not 8 <= image_size <= 4096:
        raise ConfigError(f"image_size must be an integer in 8..4096, got {image_size!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output path exists and is not a folder: {out}")
    n_frames, seed, workers = int(n_frames), int(seed), int(workers)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        iq_dir = tmp / "iq" if iq else None
        if iq_dir is not None:
            iq_dir.mkdir()
        shape = (n_frames, image_size, image_size)
        specs = np.lib.format.open_memmap(tmp / "spectrograms.npy", mode="w+", dtype=np.float32, shape=shape)
        labels = np.lib.format.open_memmap(tmp / "labels.npy", mode="w+", dtype=np.uint8, shape=shape)
        job = functools.partial(
            render_frame,
            seed,
            split=split,
            traffic_mix=mix,
            fft_size=fft_size,
            image_size=image_size,
            iq_dir=iq_dir,
            generator=generator,
            lte_frames=lte_frames,
        )
        frames = []
        bar = dict(total=n_frames, disable=not progress, unit="frame", desc=f"nrlte {split}")
        if workers == 1:
            results = map(job, range(n_frames))
            for i, (s, lab, meta) in enumerate(tqdm(results, **bar)):
                specs[i], labels[i] = s, lab
                frames.append(meta)
        else:
            ctx = multiprocessing.get_context("spawn")  # torch and the STFT thread pool do not survive fork
            with process_pool(workers, mp_context=ctx, initializer=_worker_init) as pool:
                for i, (s, lab, meta) in enumerate(tqdm(pool.map(job, range(n_frames)), **bar)):
                    specs[i], labels[i] = s, lab
                    frames.append(meta)
        specs.flush()
        labels.flush()
        del specs, labels
        manifest = _manifest(split, seed, n_frames, fft_size, image_size, iq, frames, mix)
        if generator == "alt":
            manifest = _alt_manifest(manifest)
        if generator == "main":
            manifest["lte_frames"] = lte_module.frame_mix(lte_frames)
        elif lte_frames is not None:
            manifest["lte_frames"] = list(lte_frames)
        write_json(tmp / "manifest.json", manifest)
    return out


def _lte_frames(lte_frames: Sequence[str] | str | None) -> tuple[str, ...] | None:
    """The LTE frame structures asked for, checked: a tuple of names, or None for the generator's default. Read as
    ``--lte-frames`` and ``traffic=`` read theirs (:func:`radiofm.errors.check_names`): whatever their case, each
    once (the alt generator draws uniformly over the list, so a repeated name would weigh twice)."""
    if lte_frames is None:
        return None
    return check_names(lte_frames, FRAME_STRUCTURES, "LTE frame structure", "lte_frames")


def _manifest(split, seed, n_frames, fft_size, image_size, iq, frames, mix) -> dict:
    stft = stft_params(fft_size, image_size)
    return {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "generator": "main",
        "split": split,
        "seed": seed,
        "n_frames": n_frames,
        "image_size": [image_size, image_size],
        "classes": list(scene.CLASSES),
        "files": {"spectrograms": "spectrograms.npy", "labels": "labels.npy", "iq": "iq/" if iq else None},
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "frame_duration_s": FRAME_S,
        "center_freq_hz": scene.CENTER_FREQ_HZ,
        "spectrogram": {
            **stft,
            "window": "hann (periodic)",
            "units": "dB, 10*log10(mean |X|^2 over the pooled frames + 1e-12)",
            "axes": "rows = frequency (row 0 most negative, DC at row H/2), columns = time",
            "row_freq_hz": "((r + 0.5) / H - 0.5) * fs - 0.5 * fs / fft_size",
        },
        "labels": "pixel = carrier class where the row centre lies inside a carrier's occupied band (resource-grid "
        "edges) and the column centre inside its active span; built from the placement, not by thresholding",
        "noise": {
            "split": split,
            "quantity": "noise power over the whole 61.44 MHz span, dB (0 dB = a signal filling the span at the "
            "carriers' reference PSD); carrier SNR = psd_db - noise_power_db",
            **scene.NOISE[split],
            "all_splits": scene.NOISE,
        },
        "carrier_psd_db": list(scene.CARRIER_PSD_DB),
        "snr_db": {
            "range": list(scene.SNR_DB),
            "definition": "psd_db - noise_power_db per carrier, psd_db ~ uniform carrier_psd_db; refers to a "
            "PDSCH resource element",
        },
        "mix": [{"carriers": list(k), "probability": p} for k, p in scene.MIXES],
        "traffic": {
            "mix": mix,
            "gated_inside": traffic_module.gated_mix(mix) if "gated" in mix else None,
            "gate_min_s": traffic_module.GATE_MIN_S,
            "doc": "radiofm.synth.nrlte.traffic (regimes), .nr / .lte (knobs and their ranges)",
        },
        "receiver": receiver.RANGES,
        "frames": frames,
    }


def _alt_manifest(manifest: dict) -> dict:
    """The main manifest with the fields that describe the main generator replaced by the alt generator's."""
    doc = "radiofm.synth.nrlte_alt (package docstring)"
    manifest = dict(manifest, generator="alt", noise={"split": manifest["split"], "doc": doc})
    manifest["snr_db"] = {"range": [-5.0, 30.0], "definition": f"in-band SNR of a fully loaded carrier, see {doc}"}
    manifest["mix"] = {"doc": f"1/2/3 carriers with probability 0.25/0.4/0.35, each NR or LTE with p 1/2 ({doc})"}
    manifest["carrier_psd_db"] = None
    manifest["traffic"] = {"regimes": list(manifest["traffic"]["mix"]), "draw": "uniform per carrier", "doc": doc}
    manifest["receiver"] = {"doc": doc}
    return manifest


# ------------------------------------------------------------------------------------------- reading


def open_segmentation_dataset(folder: str | Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """(spectrograms (N, H, W) float32 dB, labels (N, H, W) uint8, manifest), both memory-mapped."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a dataset folder" if folder.exists() else "does not exist"
        raise DatasetError(f"dataset folder {folder} {what}")
    mpath = folder / "manifest.json"
    try:
        manifest = read_json(mpath)
    except FileNotFoundError:
        raise DatasetError(f"{folder} is not an NR/LTE segmentation dataset (no manifest.json)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{mpath} is malformed JSON: {exc}") from None
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind != KIND:
        raise DatasetError(f"{folder} is a {kind!r} dataset, expected {KIND!r} (radiofm generate nrlte)")
    arrays = []
    for name in ("spectrograms.npy", "labels.npy"):
        try:
            arrays.append(np.load(folder / name, mmap_mode="r"))
        except FileNotFoundError:
            raise DatasetError(f"{folder} lacks {name}") from None
        except ValueError as exc:
            raise DatasetError(f"cannot read {folder / name}: {exc}") from None
    specs, labels = arrays
    if specs.ndim != 3 or specs.shape != labels.shape or len(specs) == 0:
        raise DatasetError(f"{folder}: spectrograms {specs.shape} and labels {labels.shape} must be equal (N, H, W)")
    return specs, labels, manifest


class SegmentationDataset(torch.utils.data.Dataset):
    """Item i -> {"x": (1, H, W) float32 dB, "y": (H, W) int64} at the model's input size (H, W)."""

    def __init__(self, folder: str | Path, *, image_size: tuple[int, int], max_frames: int | None = None):
        self.folder = Path(folder)
        self.specs, self.labels, self.manifest = open_segmentation_dataset(folder)
        self.image_size = tuple(int(s) for s in image_size)
        self.n = len(self.specs) if max_frames is None else max(1, min(len(self.specs), int(max_frames)))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        x = resize(np.array(self.specs[i], dtype=np.float32), self.image_size, mode="bilinear")
        y = resize(np.asarray(self.labels[i]), self.image_size, mode="nearest")
        return {"x": torch.from_numpy(x)[None], "y": torch.from_numpy(y.astype(np.int64))}
