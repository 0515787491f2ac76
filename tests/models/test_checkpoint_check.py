"""Malicious and broken checkpoint folders: each refused in one line before anything big is built; never unpickled."""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch

from radiofm.errors import CheckpointError
from radiofm.models import load_checkpoint
from radiofm.models.checkpoint import load_backbone_weights, read_model_tensors

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints_v1"


def _copy(tmp_path, name):
    dst = tmp_path / name
    shutil.copytree(FIXTURES / name, dst)
    return dst


def _edit_config(folder, edit):
    info = json.loads((folder / "config.json").read_text())
    edit(info)
    (folder / "config.json").write_text(json.dumps(info))
    return folder


def _refused(folder, match=None, **kw):
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder, **kw)
    assert time.perf_counter() - t0 < 20, "refused, but only after building something big"
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 600
    if match:
        assert match in msg, msg
    return msg


class _Plant:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_named_model_safetensors_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    folder = _copy(tmp_path, "mae")
    (folder / "model.safetensors").write_bytes(pickle.dumps({"w": _Plant(marker)}))
    pickle.loads((folder / "model.safetensors").read_bytes()).get("w").close()  # the plant works when unpickled
    assert marker.exists()
    marker.unlink()
    _refused(folder, "not a safetensors file")
    with pytest.raises(CheckpointError):
        load_backbone_weights(torch.nn.Linear(2, 2), folder)
    with pytest.raises(CheckpointError):
        read_model_tensors(folder)
    torch_pickle = tmp_path / "tp"
    shutil.copytree(FIXTURES / "mae", torch_pickle)
    torch.save({"w": _Plant(marker)}, torch_pickle / "model.safetensors")  # a torch.save zip, pickle inside
    _refused(torch_pickle, "not a safetensors file")
    assert not marker.exists()


@pytest.mark.parametrize(
    "field,value",
    [("depth", 10**6), ("embed_dim", 12288), ("embed_dim", 10**9), ("mlp_ratio", 1e6), ("img_size", [10**6, 10**6])],
)
def test_absurd_sizes_are_refused_before_allocation(tmp_path, field, value):
    folder = _edit_config(_copy(tmp_path, "mae"), lambda i: i["config"].__setitem__(field, value))
    _refused(folder)


@pytest.mark.parametrize("field,value", [("num_classes", 10**9), ("grid_size", [10**6, 10**6]), ("depth", 10**6)])
def test_absurd_head_is_refused(tmp_path, field, value):
    folder = _copy(tmp_path, "segmentation-last")
    _edit_config(folder, lambda i: i["config"]["head"].__setitem__(field, value))
    _refused(folder)


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda c: c.pop("backbone"), "lacks 'backbone'"),
        (lambda c: c.pop("head"), "lacks 'head'"),
        (lambda c: c.pop("backbone_family"), "lacks 'backbone_family'"),
        (lambda c: c.__setitem__("head", "transformer"), "'head' must be"),
        (lambda c: c.__setitem__("lora", "yes"), "'lora'"),
        (lambda c: c.__setitem__("channels", "interleaved"), "'channels'"),
        (lambda c: c.__setitem__("lora", {"rank": 10**9, "alpha": 1.0}), "'lora'"),
        (lambda c: c.__setitem__("classes", "NR"), "'classes'"),
        (lambda c: c.__setitem__("classes", [f"c{i}" for i in range(10)]), "10 class names"),
        (lambda c: c["backbone"].__setitem__("mlp_ratio", "4"), "mlp_ratio"),
        (lambda c: c["backbone"].__setitem__("img_size", "16x16"), "img_size"),
        (lambda c: c["backbone"].__setitem__("depth", True), "depth"),
        (lambda c: c["backbone"].pop("depth") and c["backbone"].__setitem__("deep", 2), "deep"),
        (lambda c: c.__setitem__("backbone_family", "gpt"), "unknown model family"),
        (lambda c: c.__setitem__("readout", "mix"), "mix_levels"),  # a 'last' head read as a mix: a traceback
        (lambda c: c.__setitem__("readout", "max"), "'readout'"),
        (lambda c: c.__setitem__("input", {"norm": "dataset"}), "mean_db"),
        (lambda c: c.__setitem__("input", {"norm": "dataset", "mean_db": 0, "std_db": 0}), "std_db > 0"),
        (lambda c: c.__setitem__("input", {"norm": "zscore"}), "'input'"),
    ],
)
def test_broken_finetuned_configs_are_one_line(tmp_path, edit, match):
    folder = _edit_config(_copy(tmp_path, "segmentation-last"), lambda i: edit(i["config"]))
    _refused(folder, match)


def test_envelope_and_literals(tmp_path):
    folder = _copy(tmp_path, "mae")
    text = (folder / "config.json").read_text().replace('"mlp_ratio": 2.0', '"mlp_ratio": NaN')
    (folder / "config.json").write_text(text)
    _refused(folder, "NaN")
    folder = _edit_config(_copy(tmp_path / "b", "mae"), lambda i: i.__setitem__("tied", ["x"]))
    _refused(folder, "'tied'")
    folder = _edit_config(_copy(tmp_path / "c", "mae"), lambda i: i.__setitem__("family", 3))
    _refused(folder, "'family'")
    mae_as_seg = _edit_config(_copy(tmp_path / "d", "mae"), lambda i: i.__setitem__("kind", "segmentation"))
    _refused(mae_as_seg, "lacks 'backbone")
    _refused(_copy(tmp_path / "e", "mae"), "expected 'segmentation'", expect_kind="segmentation")


def _rewrite_tensors(folder, fn):
    tensors = safetensors.torch.load_file(str(folder / "model.safetensors"))
    safetensors.torch.save_file(fn(tensors), str(folder / "model.safetensors"))
    return folder


def test_bad_weights(tmp_path):
    nan = _rewrite_tensors(
        _copy(tmp_path / "a", "mae"), lambda t: {k: torch.full_like(v, float("nan")) for k, v in t.items()}
    )
    _refused(nan, "NaN/Inf")
    as_int = _rewrite_tensors(_copy(tmp_path / "b", "mae"), lambda t: {k: v.to(torch.int64) for k, v in t.items()})
    _refused(as_int, "wrong shape")
    bigger = _rewrite_tensors(
        _copy(tmp_path / "c", "mae"),
        lambda t: {**t, next(k for k, v in t.items() if v.ndim == 2): torch.zeros(9000, 4)},
    )
    _refused(bigger, "wrong shape")


def test_corrupt_safetensors_headers(tmp_path):
    folder = _copy(tmp_path, "mae")
    path = folder / "model.safetensors"
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    name = next(k for k in header if k != "__metadata__")
    cases = {
        "huge length": struct.pack("<Q", 2**63) + raw[8:],
        "truncated": raw[: 8 + n + 10],
        "not json": raw[:8] + b"\xff" * n + raw[8 + n :],
    }
    for key, edit in (("dtype", "F128"), ("shape", [10**12]), ("data_offsets", [0, 2**40])):
        h = json.loads(raw[8 : 8 + n])
        h[name][key] = edit
        body = json.dumps(h).encode().ljust(n)
        if len(body) == n:
            cases[key] = raw[:8] + body + raw[8 + n :]
    for what, data in cases.items():
        path.write_bytes(data)
        msg = _refused(folder)
        assert str(path) in msg or str(folder) in msg, (what, msg)


def test_valid_fixtures_still_load():
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        model, info = load_checkpoint(folder)
        assert info["kind"] and sum(p.numel() for p in model.parameters()) > 0


def test_a_backbone_to_fine_tune_is_checked_as_a_checkpoint_is_loaded(tmp_path):
    """``finetune --init`` built the backbone from the run's config.json as it stood: a patch size of 0 crashed,
    a depth of 1000 allocated gigabytes before the weights were compared (session 56)."""
    from radiofm.models.finetuned import read_init

    for field, value, match in [("patch_size", 0, "patch size"), ("depth", 1000, "asks for a model of over")]:
        folder = _edit_config(_copy(tmp_path / field, "mae"), lambda i, f=field, v=value: i["config"].__setitem__(f, v))
        with pytest.raises(CheckpointError, match=match):
            read_init(folder)
    folder = _edit_config(_copy(tmp_path / "default", "mae"), lambda i: i["config"].pop("norm_pix_loss"))
    assert read_init(folder)["config"]["norm_pix_loss"] is False  # an absent field is its default
