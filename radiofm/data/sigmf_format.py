"""The SigMF vocabulary shared by the recording reader (:mod:`radiofm.data.recording`) and the writer
(:mod:`radiofm.data.sigmf_writer`): sample datatypes and their byte layout, annotations, captures, schema check.

Integer datatypes scale to [-1, 1): signed ``x / 2**(b-1)``, unsigned ``(x - 2**(b-1)) / 2**(b-1)``. ``cf16`` is
not a SigMF datatype (the schema rejects it), so it is refused like any unknown datatype.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sigmf

from radiofm.errors import RecordingError

SIGMF_VERSION = sigmf.__specification__  # the SigMF specification version written to core:version
META_EXT = ".sigmf-meta"
DATA_EXT = ".sigmf-data"

_DATATYPE_RE = re.compile(r"^(?P<kind>[cr])(?P<fmt>[fiu])(?P<bits>8|16|32|64)(?P<endian>_le|_be)?$")
SUPPORTED_DATATYPES = tuple(
    f"{k}{f}{b}{e}"
    for k in "cr"
    for f, bits in (("f", (64, 32)), ("i", (32, 16, 8)), ("u", (32, 16, 8)))
    for b in bits
    for e in (("",) if b == 8 else ("_le", "_be"))
)
ANNOTATION_CORE = ("core:sample_start", "core:sample_count", "core:freq_lower_edge", "core:freq_upper_edge")


@dataclass
class Annotation:
    """One labelled region: samples [sample_start, sample_start + sample_count), frequency edges in absolute Hz."""

    sample_start: int
    sample_count: int
    freq_lower_edge_hz: float | None = None
    freq_upper_edge_hz: float | None = None
    label: str = ""
    extra: dict = field(default_factory=dict)  # other keys, e.g. {"radiofm:confidence": 0.93}


@dataclass
class Capture:
    """A capture segment: from ``sample_start`` on, the receiver was tuned to ``center_freq_hz``."""

    sample_start: int
    center_freq_hz: float | None = None
    extra: dict = field(default_factory=dict)  # other capture keys, e.g. {"core:datetime": "..."}


@dataclass(frozen=True)
class Layout:
    """How samples of one datatype sit in the file."""

    datatype: str
    is_complex: bool
    fmt: str  # "f", "i" or "u"
    bits: int
    component: np.dtype  # one I or Q (or real) value, with byte order

    @property
    def sample_size(self) -> int:
        return self.component.itemsize * (2 if self.is_complex else 1)


def datatype_layout(datatype: Any, where: str = "") -> Layout:
    m = _DATATYPE_RE.match(datatype) if isinstance(datatype, str) else None
    if m is None or (m["fmt"] == "f" and m["bits"] not in ("32", "64")) or (m["fmt"] != "f" and m["bits"] == "64"):
        raise RecordingError(
            f"{where}unsupported datatype {datatype!r} (supported: cf64/cf32/ci32/ci16/cu32/cu16 and rf/ri/ru "
            "with _le or _be, ci8/cu8/ri8/ru8)"
        )
    bits = int(m["bits"])
    if bits > 8 and m["endian"] is None:
        raise RecordingError(f"{where}datatype {datatype!r} needs an endianness suffix (_le or _be)")
    order = ">" if m["endian"] == "_be" else "<"
    component = np.dtype(f"{order if bits > 8 else '|'}{m['fmt']}{bits // 8}")
    return Layout(datatype, m["kind"] == "c", m["fmt"], bits, component)


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_metadata(meta: dict, where: Path) -> Any:
    """Schema-check ``meta`` with the sigmf library; returns the SigMFFile (metadata only).

    The check is the library's own (``SigMFFile.validate``: its schema, jsonschema's best-matching error), with the
    schema's own check against its metaschema done once per process (:func:`_schema_validator`) instead of on every
    call, where it cost ~18 ms of the ~20: a dataset of a few hundred recordings spent seconds on it."""
    import jsonschema
    from sigmf.error import SigMFError
    from sigmf.sigmffile import SigMFFile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undeclared extension namespaces: tolerated when reading
            sf = SigMFFile(metadata=meta)
            normalised = getattr(sf, "_metadata", None)  # what sf.validate() checks (defaults and version set)
            if isinstance(normalised, dict):
                error = jsonschema.exceptions.best_match(_schema_validator(sf).iter_errors(normalised))
                if error is not None:
                    raise error
            else:  # another sigmf version: its own check
                sf.validate()
    except jsonschema.ValidationError as exc:
        loc = "/".join(str(k) for k in exc.absolute_path) or "metadata"
        raise RecordingError(f"{where}: invalid SigMF metadata at {loc}: {one_line(exc.message, 160)}") from None
    except (SigMFError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{where}: invalid SigMF metadata ({one_line(exc, 160)})") from None
    return sf


_VALIDATORS: dict[str, Any] = {}


def _schema_validator(sf: Any) -> Any:
    """The jsonschema validator of ``sf``'s schema (``sf.get_schema()``), its schema checked once."""
    import json

    import jsonschema

    schema = sf.get_schema()
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _VALIDATORS[key] = cls(schema)
    return _VALIDATORS[key]
