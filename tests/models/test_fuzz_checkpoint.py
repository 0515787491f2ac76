"""Checkpoint folders under mutated config.json and safetensors headers (see tests/fuzz_support.py): a load or
a one-line RadioFMError, nothing else; nothing unpickled, nothing huge built."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
from fuzz_support import FUZZ_SETTINGS, Seeds, mutated_bytes, mutated_json, outcome
from hypothesis import given
from hypothesis import strategies as st

from radiofm.models import load_checkpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints_v1"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckfuzz")
    s = Seeds(work=root)
    for name in ("mae", "segmentation-lora"):
        shutil.copytree(FIXTURES / name, root / name)
        s[f"{name}/config"] = json.loads((FIXTURES / name / "config.json").read_text())
        s[f"{name}/weights"] = (FIXTURES / name / "model.safetensors").read_bytes()
    return s


def prop_config(data, s):
    name = data.draw(st.sampled_from(["mae", "segmentation-lora"]))
    (s["work"] / name / "config.json").write_bytes(data.draw(mutated_json(s[f"{name}/config"])))
    (s["work"] / name / "model.safetensors").write_bytes(s[f"{name}/weights"])
    outcome("checkpoint config.json", lambda: load_checkpoint(s["work"] / name))


def prop_header(data, s):
    name = data.draw(st.sampled_from(["mae", "segmentation-lora"]))
    raw = s[f"{name}/weights"]
    n = struct.unpack("<Q", raw[:8])[0]
    if data.draw(st.booleans()):  # structured: the header's JSON mutated, its length field kept consistent
        header = json.loads(raw[8 : 8 + n])
        text = data.draw(mutated_json(header))
        raw = struct.pack("<Q", len(text)) + text + raw[8 + n :]
    else:  # bytes of the length field and header
        raw = data.draw(mutated_bytes(raw[: 8 + n])) + raw[8 + n :]
    (s["work"] / name / "config.json").write_text(json.dumps(s[f"{name}/config"]))
    (s["work"] / name / "model.safetensors").write_bytes(raw)
    outcome("checkpoint safetensors header", lambda: load_checkpoint(s["work"] / name))


@given(st.data())
def test_config(seeds, data):
    prop_config(data, seeds)


@given(st.data())
def test_header(seeds, data):
    prop_header(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_config_fuzz(seeds, data):
    prop_config(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_header_fuzz(seeds, data):
    prop_header(data, seeds)
