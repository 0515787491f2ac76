"""Checkpoint folders: safetensors weights + JSON config, optional resumable training state. No pickle.

Layout (written atomically through :func:`radiofm.io.atomic_path`)::

    <folder>/model.safetensors        model.state_dict() (tied tensors stored once)
    <folder>/config.json              {"format": "radiofm-checkpoint", "version": 1, "family", "kind",
                                       "config": {...}, "extra": {...}, "tied": {alias: source}}
    <folder>/train_state/tensors.safetensors   every tensor of the training state
    <folder>/train_state/state.json            everything else, with {"__radiofm__": ...} markers

The training state is any nest of dicts, lists, tuples, JSON scalars, tensors, numpy arrays, optimizers
and schedulers (their ``state_dict()`` is stored), ``torch.Generator``, ``numpy.random.Generator`` and
``random.Random`` (their states are stored; loading gives back ready-to-use generator objects).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from radiofm.checkpoint_files import CONFIG_FILE, FORMAT, MODEL_FILE, VERSION, read_checkpoint_info
from radiofm.errors import CheckpointError, ConfigError, OutputError
from radiofm.io import JSONLimitError, atomic_path, read_json_untrusted, write_json
from radiofm.models import registry
from radiofm.models.checkpoint_check import (
    _KIND_CHECKS,
    build_checked,
    check_family_config,
    check_finite,
    read_safetensors_header,
    register_kind_check,
)
from radiofm.models.state_codec import dedupe_state, flatten_state_dict, unflatten_state_dict

TRAIN_STATE_FORMAT = "radiofm-train-state"
TRAIN_DIR = "train_state"

Builder = Callable[[dict, dict], nn.Module]
_KIND_BUILDERS: dict[str, Builder] = {}


def register_kind(kind: str, builder: Builder, *, check: Callable[[Any, str], None] | None = None) -> None:
    """Teach :func:`load_checkpoint` to rebuild ``kind`` models: ``builder(config_dict, extra) -> nn.Module``.

    Kinds without a builder are rebuilt from the model family registry (``config.json``'s "family"), which
    covers plain backbones such as "mae" and "convlstm". ``check(config_dict, where)`` validates the config
    before anything is built (else: the family's config dataclass, see :mod:`radiofm.models.checkpoint_check`).
    """
    _KIND_BUILDERS[kind] = builder
    if check is not None:
        register_kind_check(kind, check)


# --------------------------------------------------------------------------- save
def _config_dict(model: nn.Module) -> dict:
    config = getattr(model, "config", None)
    if config is None:
        return {}
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    if isinstance(config, Mapping):
        return dict(config)
    raise CheckpointError(f"{type(model).__name__}.config must be a dataclass or a dict")


def save_checkpoint(
    folder: str | Path, model: nn.Module, *, kind: str, extra: dict | None = None, train_state: dict | None = None
) -> Path:
    """Write ``model`` (and optionally a training state) as a checkpoint folder, atomically. Returns the folder.

    kind: what the model is for ("mae", "segmentation", "forecasting", ...); ``load_checkpoint`` rebuilds it with
    the builder registered for that kind, else from the family registry. extra: JSON data the builder needs.
    """
    folder = Path(folder)
    config = getattr(model, "config", None)
    family = registry.family_of(config) if config is not None else None
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "family": family,
        "kind": kind,
        "config": _config_dict(model),
        "extra": dict(extra or {}),
    }
    tensors, tied = dedupe_state(model.state_dict())
    if tied:
        meta["tied"] = tied
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint config/extra for {folder} is not JSON serialisable: {exc}") from None
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        _save_tensors(tensors, tmp / MODEL_FILE, folder, metadata={"format": "pt"})
        if train_state is not None:
            state_tensors, state_meta = flatten_state_dict(train_state)
            (tmp / TRAIN_DIR).mkdir()
            _save_tensors(state_tensors, tmp / TRAIN_DIR / "tensors.safetensors", folder)
            write_json(
                tmp / TRAIN_DIR / "state.json", {"format": TRAIN_STATE_FORMAT, "version": VERSION, "state": state_meta}
            )
        write_json(tmp / CONFIG_FILE, meta)  # last: a folder with config.json is complete
    return folder


def _save_tensors(tensors: dict, path: Path, folder: Path, metadata: dict | None = None) -> None:
    try:  # a failed write leaves no folder: atomic_path removes the temporary one
        safetensors.torch.save_file(tensors, str(path), metadata=metadata)
    except Exception as exc:  # safetensors wraps OSError (disk full, file too large) in its own error type
        raise OutputError(f"cannot write checkpoint {folder}: {str(exc)[:200] or type(exc).__name__}") from None


# --------------------------------------------------------------------------- load
def check_checkpoint_config(info: dict, folder: Path) -> None:
    """The config of ``info`` (from :func:`read_checkpoint_info`) fits its kind's schema or family dataclass."""
    kind, where = info["kind"], str(folder / CONFIG_FILE)
    if kind in _KIND_CHECKS:
        _KIND_CHECKS[kind](info["config"], where)
    elif info.get("family") is not None:
        check_family_config(info["family"], info["config"], where)


def read_model_tensors(folder: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """``folder/model.safetensors`` after its header is checked; floating tensors must be finite."""
    path = Path(folder) / MODEL_FILE
    read_safetensors_header(path)
    tensors = _read_tensors(path, device)
    check_finite(tensors, path)
    return tensors


def _read_tensors(path: Path, device: str | torch.device) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load_file(str(path), device=str(device))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(
            f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None


def _build(info: dict, folder: Path) -> nn.Module:
    kind, family = info["kind"], info.get("family")
    try:
        if kind in _KIND_BUILDERS:
            return _KIND_BUILDERS[kind](info["config"], info["extra"])
        if family is not None:
            return registry.model_from_config(family, info["config"])
    except ConfigError as exc:
        raise CheckpointError(f"cannot rebuild the {kind!r} model in {folder}: {exc}") from None
    raise CheckpointError(
        f"no builder is registered for {kind!r} checkpoints ({folder}); it was written by another radiofm version "
        f"(known kinds: {', '.join(sorted(_KIND_BUILDERS))}, or a model family's plain backbone)"
    )


def _describe(keys: list[str], limit: int = 8) -> str:
    more = f", ... ({len(keys)} in all)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_checkpoint(
    folder: str | Path, *, expect_kind: str | None = None, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Rebuild the model saved in ``folder`` from its own config and weights (eval mode). Never unpickles.

    Returns (model, info) with info = config.json's content plus "path". CheckpointError when the folder is
    missing or malformed, of another kind than ``expect_kind``, or its tensors do not fit the model.
    """
    folder = Path(folder)
    info = read_checkpoint_info(folder)
    if expect_kind is not None and info["kind"] != expect_kind:
        raise CheckpointError(f"{folder} is a {info['kind']!r} checkpoint, expected {expect_kind!r}")
    check_checkpoint_config(info, folder)
    header = read_safetensors_header(folder / MODEL_FILE)
    tied = info.get("tied") or {}
    with torch.random.fork_rng(devices=[]):  # the build's initial draws are overwritten: the caller's stream is not
        model = build_checked(lambda: _build(info, folder), header, tied, folder)  # within a size budget
    tensors = _read_tensors(folder / MODEL_FILE, map_location)
    check_finite(tensors, folder / MODEL_FILE)
    for alias, src in tied.items():
        if src in tensors:
            tensors[alias] = tensors[src]
    try:
        model.load_state_dict(tensors, strict=True)  # names, shapes and dtypes already match (build_checked)
    except RuntimeError as exc:
        raise CheckpointError(
            f"tensors in {folder / MODEL_FILE} do not fit the model: {str(exc).split(chr(10))[0]}"
        ) from None
    model.to(map_location).eval()
    return model, {**info, "path": str(folder)}


def check_checkpoint(folder: str | Path, info: dict | None = None) -> dict:
    """What :func:`load_checkpoint` checks before it reads a tensor, for a caller that builds its own model from
    the folder's config (``finetune --init``): the config against its family, and the model it describes built
    within the size budget of the stored weights and compared with their names and shapes (then let go).
    Returns the folder's info; CheckpointError in one line otherwise."""
    folder = Path(folder)
    info = read_checkpoint_info(folder) if info is None else info
    check_checkpoint_config(info, folder)
    header = read_safetensors_header(folder / MODEL_FILE)
    with torch.random.fork_rng(devices=[]):
        build_checked(lambda: _build(info, folder), header, info.get("tied") or {}, folder)
    return info


def load_train_state(folder: str | Path, *, map_location: str | torch.device = "cpu") -> dict | None:
    """The training state saved with the checkpoint in ``folder``, or None when it has none."""
    folder = Path(folder)
    state_dir = folder / TRAIN_DIR
    if not state_dir.is_dir():
        if not folder.is_dir():
            raise CheckpointError(f"checkpoint folder {folder} does not exist")
        return None
    state_path = state_dir / "state.json"
    try:
        doc = read_json_untrusted(state_path, max_bytes=256 << 20, max_depth=64)
    except FileNotFoundError:
        raise CheckpointError(f"{state_dir} lacks state.json") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {state_path}: {exc.strerror or type(exc).__name__}") from None
    except JSONLimitError as exc:
        raise CheckpointError(f"{state_path} is malformed: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != TRAIN_STATE_FORMAT or "state" not in doc:
        raise CheckpointError(f"{state_path} is not a radiofm training state")
    read_safetensors_header(state_dir / "tensors.safetensors")
    tensors = _read_tensors(state_dir / "tensors.safetensors", map_location)
    check_finite(tensors, state_dir / "tensors.safetensors")  # a NaN moment would poison every later step
    return unflatten_state_dict(tensors, doc["state"])


def load_backbone_weights(
    module: nn.Module,
    folder: str | Path,
    *,
    prefix: str = "",
    expected_missing: tuple[str, ...] = ("head.",),
    expected_unexpected: tuple[str, ...] = ("decoder_", "mask_token"),
    source_prefix: str = "",
) -> dict[str, list[str]]:
    """Load a checkpoint's weights into part of ``module``: checkpoint key ``k`` goes to ``prefix + k``.

    Only checkpoint keys starting with ``source_prefix`` are used (that prefix stripped). Module keys left
    without a weight must start with one of ``expected_missing``; checkpoint keys with no place in the module
    must start with one of ``expected_unexpected`` (matched after ``prefix``/``source_prefix`` handling, on the
    checkpoint-side name). A shape mismatch on an expected-missing key counts as missing (e.g. a new patch
    embedding for 3-channel input). Anything else raises CheckpointError listing the offending keys.
    Returns {"loaded": [...], "missing": [...], "unexpected": [...]} (module-side names for loaded/missing).
    """
    folder = Path(folder)
    read_checkpoint_info(folder)
    raw = read_model_tensors(folder)
    source = {k[len(source_prefix) :]: v for k, v in raw.items() if k.startswith(source_prefix)}
    target = module.state_dict()
    loaded: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    wrong: dict[str, str] = {}  # module key -> "checkpoint shape->module shape"
    for key, t in source.items():
        dest = prefix + key
        if dest not in target:
            unexpected.append(key)
        elif target[dest].shape != t.shape:
            if not dest.startswith(tuple(expected_missing)):
                wrong[dest] = f"{dest} {tuple(t.shape)}->{tuple(target[dest].shape)}"
        else:
            loaded[dest] = t
    missing = sorted(k for k in target if k not in loaded)
    bad_missing = [k for k in missing if not k.startswith(tuple(expected_missing)) and k not in wrong]
    bad_unexpected = sorted(k for k in unexpected if not k.startswith(tuple(expected_unexpected)))
    problems = [
        f"{what}: {_describe(keys)}"
        for what, keys in (
            ("missing", bad_missing),
            ("unexpected", bad_unexpected),
            ("wrong shape", sorted(wrong.values())),
        )
        if keys
    ]
    if problems:
        raise CheckpointError(
            f"backbone weights in {folder} do not fit {type(module).__name__} ({'; '.join(problems)})"
        )
    module.load_state_dict(loaded, strict=False)
    return {"loaded": sorted(loaded), "missing": missing, "unexpected": sorted(unexpected)}
