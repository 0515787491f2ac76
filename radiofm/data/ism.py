"""The ISM pretraining corpus folder: SigMF recordings from :mod:`radiofm.synth.ism` plus ``corpus.json``.

``generate_corpus(out_dir, n_recordings=…, seed=…)`` writes ``recording_0000.sigmf-{meta,data}``, … (one SigMF
annotation per emitted burst) and ``corpus.json`` (kind ``"ism-corpus"``, generator version, seed, config, label
counts, per-file summary). Recording *i* is drawn from ``np.random.SeedSequence(seed).spawn(n)[i]`` alone, so the
bytes do not depend on ``workers``. The recordings are read back like any others (:func:`radiofm.data.open_recording`,
:func:`radiofm.data.spectrograms.build_spectrogram_dataset`, :func:`radiofm.data.sentences.build_sentences`).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections import Counter
from concurrent.futures import as_completed
from pathlib import Path

import numpy as np
from tqdm import tqdm

from radiofm.data.sigmf_writer import write_sigmf
from radiofm.errors import ConfigError, check_seed
from radiofm.io import atomic_path, write_json
from radiofm.synth.ism import GENERATOR_VERSION, CorpusConfig, synthesize_recording
from radiofm.workers import process_pool


def generate_corpus(
    out_dir,
    *,
    n_recordings: int,
    seed: int,
    workers: int = 1,
    progress: bool = True,
    config: CorpusConfig | None = None,
    **overrides,
) -> list[Path]:
    """Write ``n_recordings`` SigMF recordings ``recording_0000.sigmf-{meta,data}``, … and ``corpus.json``
    into ``out_dir``. Returns the ``.sigmf-meta`` paths in index order.

    ``config`` (a :class:`CorpusConfig`) or keyword overrides of its fields (``sample_rate_choices_hz``,
    ``duration_s_range``, ``datatype``, …) shape the recordings. ``workers > 1`` renders in parallel
    processes; the output is byte-identical for any ``workers``.
    """
    if isinstance(n_recordings, bool) or not isinstance(n_recordings, int | np.integer) or n_recordings < 1:
        raise ConfigError(f"n_recordings must be an integer >= 1, got {n_recordings!r}")
    seed = check_seed(seed)
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    fields = {f.name for f in dataclasses.fields(CorpusConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(f"unknown corpus option(s) {', '.join(unknown)}; valid: {', '.join(sorted(fields))}")
    config = dataclasses.replace(config or CorpusConfig(), **overrides).validate()
    out = Path(out_dir)
    with atomic_path(out) as tmp:  # the folder appears complete or not at all; files radiofm did not write stay
        tmp.mkdir(parents=True)
        summaries = _write_corpus(tmp, int(n_recordings), int(seed), int(workers), config, progress)
    return [out / s["meta"] for s in summaries]


def _write_corpus(out: Path, n_recordings: int, seed: int, workers: int, config: CorpusConfig, progress: bool) -> list:
    """Render the corpus's recordings into folder ``out`` and write its ``corpus.json``; returns its files."""
    jobs = [(i, seed, str(out), config) for i in range(n_recordings)]
    summaries: list[dict | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), unit="rec", desc="ism corpus", disable=not progress)
    try:
        if workers == 1 or len(jobs) == 1:
            for job in jobs:
                summaries[job[0]] = _write_recording(job)
                bar.update()
        else:
            ctx = multiprocessing.get_context("spawn")
            with process_pool(min(int(workers), len(jobs)), mp_context=ctx) as pool:
                futures = {pool.submit(_write_recording, job): job[0] for job in jobs}
                for fut in as_completed(futures):
                    summaries[futures[fut]] = fut.result()
                    bar.update()
    finally:
        bar.close()

    labels = Counter()
    for s in summaries:
        labels.update(s["labels"])
    write_json(
        out / "corpus.json",
        {
            "kind": "ism-corpus",
            "generator": "radiofm.synth.ism",
            "generator_version": GENERATOR_VERSION,
            "seed": int(seed),
            "n_recordings": int(n_recordings),
            "config": dataclasses.asdict(config),
            "labels": dict(sorted(labels.items())),
            "files": summaries,
        },
    )
    return summaries


def _write_recording(job: tuple) -> dict:
    """Worker: render recording ``i`` of the corpus and write it. Top level so spawn workers can pickle it."""
    i, seed, out_dir, config = job
    seed_seq = np.random.SeedSequence(seed, spawn_key=(i,))  # == SeedSequence(seed).spawn(n)[i]
    iq, annotations, info = synthesize_recording(seed_seq, config)
    name = f"recording_{i:04d}"
    meta = write_sigmf(
        Path(out_dir) / name,
        iq,
        sample_rate_hz=info["sample_rate_hz"],
        center_freq_hz=info["center_freq_hz"],
        annotations=annotations,
        datatype=config.datatype,
        description=f"radiofm synthetic ISM/2.4-2.65 GHz scene {i} (seed {seed})",
        extra_global={
            "radiofm:generator": "radiofm.synth.ism",
            "radiofm:generator_version": GENERATOR_VERSION,
            "radiofm:seed": seed,
            "radiofm:index": i,
        },
    )
    return {
        "meta": Path(meta).name,
        "sample_rate_hz": info["sample_rate_hz"],
        "center_freq_hz": info["center_freq_hz"],
        "n_samples": int(iq.size),
        "n_annotations": len(annotations),
        "labels": dict(sorted(Counter(a["core:label"] for a in annotations).items())),
    }
