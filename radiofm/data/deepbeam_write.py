"""DeepBeam files written: the published layout (:mod:`radiofm.data.deepbeam` reads it) for synthetic stand-ins.

:func:`write_deepbeam` writes one file atomically, :func:`beam_file_name` names it so that the reader finds its
front end, and :func:`generate_beam_dataset` writes a synthetic folder (:mod:`radiofm.synth.beams` for the
content): one beam file per front end, angle-of-arrival files in ``aoa/``, and ``manifest.json``.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from radiofm.data.deepbeam import LABELS, front_end_of
from radiofm.errors import ConfigError, DatasetError, check_seed
from radiofm.io import atomic_path, write_json
from radiofm.workers import process_pool

MANIFEST_KIND = "deepbeam-synthetic"


def write_deepbeam(path: str | Path, arrays: dict[str, np.ndarray], *, attrs: dict | None = None) -> Path:
    """Write ``arrays`` ({"iq": (N, 2), "tx_beam": (N,), "rx_beam", "gain"[, "angle"]}) as a DeepBeam file,
    atomically. ``attrs`` (JSON-serialisable) go into the root attribute "radiofm" as JSON text."""
    import h5py

    path = Path(path)
    front_end_of(path)  # the identity must be in the name, or nobody can read the file back
    iq = np.asarray(arrays.get("iq"))
    if iq.ndim != 2 or iq.shape[1] != 2:
        raise DatasetError(f"{path}: 'iq' must be (N, 2), got {iq.shape}")
    for key in ("tx_beam", "rx_beam", "gain"):
        if key not in arrays:
            raise DatasetError(f"{path}: missing label {key!r}")
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("iq", data=iq, chunks=(min(len(iq), 1 << 16), 2))
            for key in LABELS:
                if key in arrays:
                    values = np.asarray(arrays[key])
                    if values.shape != (len(iq),):
                        raise DatasetError(f"{path}: label {key!r} has shape {values.shape}, expected ({len(iq)},)")
                    h5.create_dataset(key, data=values)
            if attrs:
                h5.attrs["radiofm"] = json.dumps(attrs)
    return path


def beam_file_name(n_beams: int, fe_index: int, *, aoa: bool = False, rx_index: int = 0) -> str:
    """ "synthetic-24-beams-tx-ant-0-rx-ant-0.h5" (AoA files: "synthetic-aoa-…")."""
    return f"synthetic-{'aoa-' if aoa else ''}{n_beams}-beams-tx-ant-{fe_index}-rx-ant-{rx_index}.h5"


def _write_job(job: tuple) -> dict:
    from radiofm.synth.beams import synthesize_aoa_file, synthesize_beam_file

    path, fe_index, config, seed, aoa = job
    arrays, info = (synthesize_aoa_file if aoa else synthesize_beam_file)(fe_index, config, seed)
    write_deepbeam(path, arrays, attrs={"seed": seed, **info})
    return {"file": Path(path).name, "samples": int(len(arrays["iq"])), **info}


def generate_beam_dataset(
    out: str | Path,
    config=None,
    *,
    seed: int = 0,
    aoa: bool = True,
    front_ends: Sequence[int] | None = None,
    aoa_front_ends: Sequence[int] | None = None,
    workers: int = 1,
    progress: bool = True,
) -> dict:
    """Write a synthetic DeepBeam folder: ``out/*.h5`` (one beam file per front end) and, with ``aoa``,
    ``out/aoa/*.h5`` (one angle-of-arrival file per front end in ``aoa_front_ends``, default all), plus
    ``out/manifest.json``. Returns the manifest. Same seed, same bytes, whatever ``workers``."""
    from radiofm.synth.beams import GENERATOR_VERSION, BeamConfig

    config = config or BeamConfig()
    seed = check_seed(seed)
    out = Path(out)
    fes = list(range(config.n_front_ends)) if front_ends is None else [int(i) for i in front_ends]
    afes = fes if aoa_front_ends is None else [int(i) for i in aoa_front_ends]
    bad = [i for i in fes + afes if not 0 <= i < config.n_front_ends]
    if bad:
        raise ConfigError(f"front end indices must lie in 0..{config.n_front_ends - 1}, got {bad}")
    with atomic_path(out) as tmp:  # the folder appears complete or not at all; files radiofm did not write stay
        tmp.mkdir(parents=True)
        results = _write_files(tmp, config, seed, fes, afes if aoa else [], workers, progress)
        manifest = {
            "kind": MANIFEST_KIND,
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "config": config.to_dict(),
            "files": results,
        }
        write_json(tmp / "manifest.json", manifest)
    return manifest


def _write_files(out: Path, config, seed: int, fes: list, afes: list, workers: int, progress: bool) -> list[dict]:
    """Write the beam files of front ends ``fes`` and the AoA files of ``afes`` into ``out``; their summaries."""
    from tqdm import tqdm

    jobs = [(out / beam_file_name(config.n_beams, i), i, config, seed, False) for i in fes]
    jobs += [(out / "aoa" / beam_file_name(config.n_beams, i, aoa=True), i, config, seed, True) for i in afes]
    bar = tqdm(total=len(jobs), desc="beam files", unit="file", disable=not progress, leave=False)
    try:
        if workers > 1 and len(jobs) > 1:
            ctx = multiprocessing.get_context("spawn")  # torch may be loaded: never fork it
            with process_pool(min(workers, len(jobs)), mp_context=ctx) as pool:
                results = []
                for r in pool.map(_write_job, jobs):
                    results.append(r)
                    bar.update(1)
        else:
            results = []
            for job in jobs:
                results.append(_write_job(job))
                bar.update(1)
    finally:
        bar.close()
    return results
