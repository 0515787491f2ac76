"""Distrusting a checkpoint folder: everything in it is checked before anything is built from it.

Order (each failure is a one-line :class:`CheckpointError` naming the folder and the problem):

1. ``config.json``: bounded strict JSON (:func:`radiofm.io.read_json_untrusted`), the envelope's types;
2. ``config``: against the model family's config dataclass (types from its annotations, required keys, unknown
   keys, numbers finite and bounded) or, for fine-tuned kinds, against the fine-tuned schema (backbone family and
   config, head, classes, LoRA);
3. ``model.safetensors`` header, read without the data: its length, every tensor's dtype, shape and byte range
   inside the file (a pickle or any other file fails here, and nothing is ever unpickled);
4. the model is built while a registration hook counts its parameters and buffers as they are declared: an
   absurd config (``depth: 10**6``, ``embed_dim: 10**9``) stops once it asks for a few times the weights' own
   size, before those tensors are initialised (``torch.empty`` reserves address space; the pages are touched only
   by the initialisation that the hook pre-empts); sizes of images, grids and tokens are capped at 8192 first;
5. the model's tensor names, shapes and dtypes must match the header; then the weights are loaded and floating
   tensors must be finite.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from radiofm import checkpoint_files
from radiofm.errors import CheckpointError, ConfigError
from radiofm.models import registry

MAX_INT = 10**9  # any integer in a model config (sizes, depths, counts)
MAX_FLOAT = 1e12
MAX_SIDE = 8192  # image, grid, token and patch sides (as the CLI's --image-size)
MAX_ELEMENTS = 4 * 10**9  # parameters + buffers of any model radiofm builds
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_KIND_CHECKS: dict[str, Callable[[Any, str], None]] = {}


def register_kind_check(kind: str, check: Callable[[Any, str], None]) -> None:
    """Validate ``config.json``'s "config" of ``kind`` checkpoints with ``check(config, where)`` before building."""
    _KIND_CHECKS[kind] = check


# --------------------------------------------------------------------------- safetensors header
def read_safetensors_header(path: Path) -> dict[str, tuple[torch.dtype, tuple[int, ...]]]:
    """{tensor name: (dtype, shape)} from a safetensors file's header, every entry checked against the file
    (:func:`radiofm.checkpoint_files.read_safetensors_header`, with torch dtypes)."""
    header = checkpoint_files.read_safetensors_header(path)
    return {name: (DTYPES[dtype], shape) for name, (dtype, shape) in header.items()}


# --------------------------------------------------------------------------- config against a dataclass
def check_dataclass_config(cls: type, config: Any, where: str) -> None:
    """``config`` (a dict from JSON) fits dataclass ``cls``: known keys, required keys present, value types."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{where} must be an object, got {type(config).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise CheckpointError(f"{where}: unknown {cls.__name__} field(s) {', '.join(k[:40] for k in unknown[:5])}")
    missing = [
        name
        for name, f in fields.items()
        if name not in config and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise CheckpointError(f"{where}: missing {cls.__name__} field(s) {', '.join(missing)}")
    hints = typing.get_type_hints(cls)
    for name, value in config.items():
        if not _fits(hints.get(name, Any), value):
            raise CheckpointError(f"{where}: {name} = {_short(value)} is not a valid {_type_name(hints.get(name))}")
        if name.endswith(("size", "shape")) and any(v > MAX_SIDE for v in _numbers(value)):
            raise CheckpointError(f"{where}: {name} = {_short(value)} is larger than {MAX_SIDE}")


def _numbers(value: Any) -> list:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _fits(tp: Any, v: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return _json_bounded(v)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(t, v) for t in typing.get_args(tp))
    if tp is type(None):
        return v is None
    if tp is bool:
        return isinstance(v, bool)
    if tp is int:
        return isinstance(v, int) and not isinstance(v, bool) and abs(v) <= MAX_INT
    if tp is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= MAX_FLOAT
    if tp is str:
        return isinstance(v, str) and len(v) <= 10_000
    if origin is tuple or tp is tuple:
        args = typing.get_args(tp)
        if not isinstance(v, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return len(v) <= 10_000 and all(_fits(args[0], x) for x in v)
        return not args or (len(v) == len(args) and all(_fits(t, x) for t, x in zip(args, v)))
    if origin is list or tp is list:
        args = typing.get_args(tp) or (Any,)
        return isinstance(v, list) and len(v) <= 10_000 and all(_fits(args[0], x) for x in v)
    if origin is dict or tp is dict:
        return isinstance(v, dict) and _json_bounded(v)
    return _json_bounded(v)


def _json_bounded(v: Any, depth: int = 0) -> bool:
    """A JSON value whose numbers are finite and bounded (nesting already bounded by the parser)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return True
    if isinstance(v, int):
        return abs(v) <= MAX_INT
    if isinstance(v, float):
        return math.isfinite(v) and abs(v) <= MAX_FLOAT
    if isinstance(v, list):
        return depth < 16 and all(_json_bounded(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return depth < 16 and all(_json_bounded(x, depth + 1) for x in v.values())
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def check_family_config(family: Any, config: Any, where: str) -> None:
    """``family`` is a registered family and ``config`` fits its config dataclass."""
    if not isinstance(family, str) or family not in registry.list_families():
        raise CheckpointError(f"{where}: unknown model family {_short(family)}")
    config_cls, _ = registry._family_classes(family)
    check_dataclass_config(config_cls, config, f"{where} ({family} config)")


def check_finetune_config(config: Any, where: str) -> None:
    """The config of a fine-tuned model (:func:`radiofm.models.finetuned.rebuild`): backbone, head, classes, LoRA."""
    from radiofm.models.heads import HEAD_TYPES

    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: config must be an object")
    for key in ("backbone_family", "backbone", "head"):
        if key not in config:
            raise CheckpointError(f"{where}: config lacks {key!r} (not a fine-tuned model's checkpoint)")
    check_family_config(config["backbone_family"], config["backbone"], f"{where} backbone")
    head = config["head"]
    if not isinstance(head, dict) or not _json_bounded(head):
        raise CheckpointError(f"{where}: 'head' must be an object of finite numbers, strings and lists")
    for key, value in head.items():
        if key.endswith(("size", "shape")) and any(v > MAX_SIDE for v in _numbers(value)):
            raise CheckpointError(f"{where}: head {key} = {_short(value)} is larger than {MAX_SIDE}")
    if not isinstance(head.get("type", "transformer"), str) or head.get("type", "transformer") not in HEAD_TYPES:
        raise CheckpointError(f"{where}: unknown head type {_short(head.get('type'))}")
    readout = config.get("readout") or "last"
    if readout not in ("last", "mix"):  # finetuned.READOUTS (it imports us)
        raise CheckpointError(f"{where}: 'readout' must be 'last' or 'mix', got {_short(readout)}")
    depth = config["backbone"].get("depth")
    levels = head.get("mix_levels")
    if readout == "mix" and _fits(int, depth) and levels != depth + 1:
        raise CheckpointError(f"{where}: readout 'mix' needs head mix_levels = the backbone's depth + 1 = {depth + 1}")
    if readout == "last" and levels:
        raise CheckpointError(f"{where}: head mix_levels {_short(levels)} without readout 'mix'")
    checkpoint_files.check_input_norm(config, where)
    if config.get("channels", "joint") not in (None, "joint", "separate"):  # finetuned.CHANNELS (it imports us)
        raise CheckpointError(f"{where}: 'channels' must be 'joint' or 'separate', got {_short(config['channels'])}")
    lora = config.get("lora")
    if lora not in (None, False, {}):
        rank, alpha = (lora.get("rank"), lora.get("alpha")) if isinstance(lora, dict) else (None, None)
        if not _fits(int, rank) or not 1 <= rank <= 4096 or not _fits(float, alpha) or not alpha > 0:
            raise CheckpointError(f"{where}: 'lora' must be null or {{rank: 1..4096, alpha: > 0}}")
    classes = config.get("classes")
    if classes is not None:
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or len(classes) > 10_000:
            raise CheckpointError(f"{where}: 'classes' must be a list of names")
        n = head.get("num_classes")
        if isinstance(n, int) and len(classes) != n:
            raise CheckpointError(f"{where}: {len(classes)} class names for a head of {n} classes")


# --------------------------------------------------------------------------- build on meta, within a budget
class _TooBig(Exception):
    pass


@contextlib.contextmanager
def _element_budget(limit: int) -> Iterator[None]:
    count = [0]

    def hook(module, name, t):
        if t is not None:
            count[0] += t.numel()
            if count[0] > limit:
                raise _TooBig(count[0])

    mod = torch.nn.modules.module
    handles = [
        mod.register_module_parameter_registration_hook(hook),
        mod.register_module_buffer_registration_hook(hook),
    ]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def build_checked(build: Callable[[], nn.Module], header: dict, tied: dict, folder: Path) -> nn.Module:
    """Build the model within a size budget from the weights' header and compare its tensors with the header."""
    stored = sum(math.prod(shape) for _, shape in header.values())
    limit = min(MAX_ELEMENTS, 3 * stored + 2 * 10**5)  # buffers (positions) and tied tensors: slack
    try:
        with _element_budget(limit):
            model = build()
    except _TooBig:
        raise CheckpointError(
            f"config.json in {folder} asks for a model of over {limit:.3g} values; its weights hold {stored:.3g}"
        ) from None
    except CheckpointError:
        raise
    except (ConfigError, Exception) as exc:  # any failure to build from an untrusted config is the folder's fault
        msg = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise CheckpointError(f"cannot rebuild the model in {folder} from its config.json: {msg}") from None
    expected = model.state_dict()
    names = set(header) | {a for a, s in tied.items() if s in header}
    missing, unexpected = sorted(set(expected) - names), sorted(names - set(expected))
    wrong = []
    for k in sorted(set(expected) & names):
        dtype, shape = header[tied.get(k, k)] if k not in header else header[k]
        if tuple(expected[k].shape) != shape or expected[k].dtype != dtype:
            wrong.append(f"{k} {list(shape)} {str(dtype)[6:]}")
    problems = [
        f"{what}: {', '.join(keys[:6])}{f', ... ({len(keys)} in all)' if len(keys) > 6 else ''}"
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
        if keys
    ]
    if problems:
        raise CheckpointError(
            f"tensors in {folder / 'model.safetensors'} do not fit its config ({'; '.join(problems)})"
        )
    return model


def check_finite(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Every floating tensor finite; CheckpointError naming the first that is not."""
    for name, t in tensors.items():
        if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{path}: tensor {name[:80]!r} holds NaN/Inf values")
