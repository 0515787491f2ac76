"""Pickle-free encoding of tensors and training states for checkpoint folders.

A state dict's tied tensors are stored once (:func:`dedupe_state`); a training state (any nest of dicts, lists,
tuples, JSON scalars, tensors, numpy arrays, optimizers and schedulers, ``torch.Generator``,
``numpy.random.Generator`` and ``random.Random``) is split into safetensors-ready tensors and JSON metadata with
``{"__radiofm__": ...}`` markers (:func:`flatten_state_dict`), and :func:`unflatten_state_dict` gives it back.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from radiofm.errors import CheckpointError

_MARK = "__radiofm__"


# --------------------------------------------------------------------------- tensors without sharing
def _storage_key(t: torch.Tensor) -> tuple:
    return (t.device.type, t.untyped_storage().data_ptr())


def dedupe_state(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Split a state dict into unshared contiguous CPU tensors plus {alias: source} for tied entries."""
    tensors: dict[str, torch.Tensor] = {}
    tied: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    for name, t in state.items():
        t = t.detach()
        key = _storage_key(t)
        if key in seen and t.numel() > 0:
            src = state[seen[key]]
            if (src.shape, src.stride(), src.storage_offset(), src.dtype) == (
                t.shape,
                t.stride(),
                t.storage_offset(),
                t.dtype,
            ):
                tied[name] = seen[key]
                continue
            tensors[name] = t.to("cpu", copy=True).contiguous()  # a different view of shared memory: own copy
            continue
        seen.setdefault(key, name)
        tensors[name] = t.cpu().contiguous()
    unshare(tensors)
    return tensors, tied


def unshare(tensors: dict[str, torch.Tensor]) -> None:
    """Give every tensor its own exactly-sized memory, as safetensors requires (copies only where needed)."""
    owners: set[tuple] = set()
    for name, t in tensors.items():
        key = _storage_key(t)
        if t.numel() and (key in owners or t.untyped_storage().nbytes() != t.numel() * t.element_size()):
            t = tensors[name] = t.clone()
            key = _storage_key(t)
        owners.add(key)


# --------------------------------------------------------------------------- pickle-free state encoding
def _put(tensors: dict[str, torch.Tensor], path: str, t: torch.Tensor) -> str:
    """Store ``t`` under a name derived from ``path``, unique even when odd dict keys make paths collide."""
    name, i = path, 1
    while name in tensors:
        name, i = f"{path}#{i}", i + 1
    tensors[name] = t.detach().cpu().contiguous()
    return name


def _encode(obj: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, torch.Tensor):
        return {_MARK: "tensor", "key": _put(tensors, path, obj)}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise CheckpointError(f"cannot store object array at {path!r} without pickle")
        return {_MARK: "ndarray", "key": _put(tensors, path, torch.from_numpy(np.ascontiguousarray(obj)).clone())}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Generator):
        return {_MARK: "torch.Generator", "key": _put(tensors, path, obj.get_state()), "device": str(obj.device)}
    if isinstance(obj, np.random.Generator):
        bit_state = obj.bit_generator.state
        return {_MARK: "numpy.Generator", "state": _encode(bit_state, f"{path}/state", tensors)}
    if isinstance(obj, random.Random):
        return {_MARK: "random.Random", "state": _encode(obj.getstate(), f"{path}/state", tensors)}
    if isinstance(obj, tuple):
        return {_MARK: "tuple", "items": [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) for k in obj) and _MARK not in obj:
            return {k: _encode(v, f"{path}/{k}", tensors) for k, v in obj.items()}
        items = [
            [_encode(k, f"{path}/key{i}", tensors), _encode(v, f"{path}/{k}", tensors)]
            for i, (k, v) in enumerate(obj.items())
        ]
        return {_MARK: "dict", "items": items}
    if hasattr(obj, "state_dict") and callable(obj.state_dict):  # optimizer, scheduler, grad scaler
        return _encode(obj.state_dict(), path, tensors)
    raise CheckpointError(f"cannot store a {type(obj).__name__} at {path!r} in a training state without pickle")


def _decode(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    mark = obj.get(_MARK)
    if mark is None:
        return {k: _decode(v, tensors) for k, v in obj.items()}
    try:
        if mark == "tensor":
            return tensors[obj["key"]]
        if mark == "ndarray":
            return tensors[obj["key"]].numpy()
        if mark == "tuple":
            return tuple(_decode(v, tensors) for v in obj["items"])
        if mark == "dict":
            return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["items"]}
        if mark == "torch.Generator":
            device = obj["device"] if obj["device"] == "cpu" or torch.cuda.is_available() else "cpu"
            gen = torch.Generator(device=device)
            gen.set_state(tensors[obj["key"]])
            return gen
        if mark == "numpy.Generator":
            state = _decode(obj["state"], tensors)
            bit_gen = getattr(np.random, state["bit_generator"])()
            bit_gen.state = state
            return np.random.Generator(bit_gen)
        if mark == "random.Random":
            rng = random.Random()
            rng.setstate(_decode(obj["state"], tensors))
            return rng
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"malformed training state entry {mark!r}: {exc}") from None
    raise CheckpointError(f"unknown training state marker {mark!r}")


def flatten_state_dict(state: Any) -> tuple[dict[str, torch.Tensor], Any]:
    """Split a (nested) state, e.g. ``optimizer.state_dict()``, into tensors and JSON-serialisable metadata.

    Returns (tensors {name: contiguous CPU tensor}, json_meta). :func:`unflatten_state_dict` inverts it exactly.
    """
    tensors: dict[str, torch.Tensor] = {}
    meta = _encode(state, "", tensors)
    unshare(tensors)
    return tensors, meta


def unflatten_state_dict(tensors: Mapping[str, torch.Tensor], json_meta: Any) -> Any:
    """Inverse of :func:`flatten_state_dict`."""
    return _decode(json_meta, tensors)
