"""Named model presets and pluggable model families.

A *family* maps a name ("mae", "convlstm") to a config dataclass and the model class built from it::

    register_family("mae", MAEConfig, MaskedAutoencoderViT)       # done by radiofm/models/mae.py
    register_model("vit-s", "mae", MAEConfig(embed_dim=512, ...))
    model = create_model("vit-s", img_size=(128, 256))              # overrides replace config fields

Model modules register themselves where their classes are defined; :mod:`radiofm.models` imports every one
of them, so the registry is complete as soon as anything in ``radiofm.models`` is imported (this module
imports none of them: no cycle).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from torch import nn

from radiofm.errors import ConfigError

_FAMILIES: dict[str, tuple[type, type[nn.Module]]] = {}  # family -> (config class, model class)
_MODELS: dict[str, tuple[str, Any]] = {}  # preset name -> (family, config instance)


def register_family(name: str, config_cls: type, model_cls: type[nn.Module]) -> None:
    """Declare a model family: ``model_cls(config)`` builds a model from a ``config_cls`` instance."""
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"config class for family {name!r} must be a dataclass")
    _FAMILIES[name] = (config_cls, model_cls)


def register_model(name: str, family: str, config: Any) -> None:
    """Register preset ``name`` of ``family`` with a config dataclass instance (re-registering replaces it)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"config for model {name!r} must be a dataclass instance")
    _MODELS[name] = (family, copy.deepcopy(config))


def list_models(family: str | None = None) -> list[str]:
    """Sorted names of the registered presets, optionally of one family only."""
    return sorted(n for n, (fam, _) in _MODELS.items() if family is None or fam == family)


def list_families() -> list[str]:
    return sorted(_FAMILIES)


def _unknown_model(name: str) -> ConfigError:
    return ConfigError(f"unknown model {name!r}; valid models: {', '.join(list_models())}")


def get_config(name: str) -> Any:
    """A copy of preset ``name``'s config dataclass."""
    if name not in _MODELS:
        raise _unknown_model(name)
    return copy.deepcopy(_MODELS[name][1])


def get_family(name: str) -> str:
    """The family of preset ``name``."""
    if name not in _MODELS:
        raise _unknown_model(name)
    return _MODELS[name][0]


def family_of(config: Any) -> str | None:
    """The family whose config class ``config`` is an instance of (exact type), or None."""
    for fam, (config_cls, _) in _FAMILIES.items():
        if type(config) is config_cls:
            return fam
    return None


def _family_classes(family: str) -> tuple[type, type[nn.Module]]:
    if family not in _FAMILIES:
        raise ConfigError(f"unknown model family {family!r}; valid families: {', '.join(sorted(_FAMILIES))}")
    return _FAMILIES[family]


def _replace(config: Any, overrides: Mapping[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(config)}
    bad = sorted(set(overrides) - names)
    if bad:
        raise ConfigError(
            f"unknown {type(config).__name__} field(s) {', '.join(bad)}; valid fields: {', '.join(sorted(names))}"
        )
    try:
        return dataclasses.replace(config, **overrides)
    except TypeError as exc:
        raise ConfigError(f"invalid {type(config).__name__}: {exc}") from None


def create_model(name_or_config: str | Any, **overrides: Any) -> nn.Module:
    """Build a model from a preset name or a config dataclass; ``overrides`` replace config fields.

    ``create_model("vit-tiny", img_size=(64, 64), depth=2)``. ConfigError for an unknown name or field.
    """
    if isinstance(name_or_config, str):
        family, config = get_family(name_or_config), get_config(name_or_config)
    elif dataclasses.is_dataclass(name_or_config) and not isinstance(name_or_config, type):
        config = name_or_config
        family = family_of(config)
        if family is None:
            raise ConfigError(f"no model family is registered for config type {type(config).__name__}")
    else:
        raise ConfigError(f"create_model needs a model name or a config dataclass, got {type(name_or_config).__name__}")
    config = _replace(config, overrides) if overrides else copy.deepcopy(config)
    _, model_cls = _family_classes(family)
    return model_cls(config)


def config_from_dict(family: str, config_dict: Mapping[str, Any]) -> Any:
    """Rebuild ``family``'s config dataclass from a plain dict (e.g. read from JSON); ConfigError on bad keys."""
    config_cls, _ = _family_classes(family)
    if not isinstance(config_dict, Mapping):
        raise ConfigError(f"config for family {family!r} must be a mapping, got {type(config_dict).__name__}")
    names = {f.name for f in dataclasses.fields(config_cls)}
    bad = sorted(set(config_dict) - names)
    if bad:
        raise ConfigError(f"unknown {config_cls.__name__} field(s) {', '.join(bad)}")
    try:
        return config_cls(**config_dict)
    except TypeError as exc:
        raise ConfigError(f"invalid {config_cls.__name__}: {exc}") from None


def model_from_config(family: str, config_dict: Mapping[str, Any]) -> nn.Module:
    """Build a ``family`` model from a plain config dict (the inverse of ``dataclasses.asdict(model.config)``)."""
    _, model_cls = _family_classes(family)
    return model_cls(config_from_dict(family, config_dict))
