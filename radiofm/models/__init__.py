"""Models: architectures, their presets and heads, the fine-tuned model, checkpoint folders.

Importing this package imports every model family and checkpoint kind (``mae``, ``convlstm``, ``protonet``, the
fine-tuned backbone+head model, the ConvLSTM forecaster), each of which registers its presets, backbone spec, heads and
checkpoint kind beside its class — so ``from radiofm.models import load_checkpoint`` loads any checkpoint
folder with nothing else imported first.
"""

from radiofm.models import (
    backbones,
    checkpoint,
    convlstm,
    finetuned,
    forecaster,
    heads,
    lora,
    mae,
    protonet,
    registry,
    vit,
)
from radiofm.models.checkpoint import (
    load_backbone_weights,
    load_checkpoint,
    load_train_state,
    read_checkpoint_info,
    register_kind,
    save_checkpoint,
)
from radiofm.models.registry import (
    create_model,
    get_config,
    get_family,
    list_families,
    list_models,
    model_from_config,
    register_family,
    register_model,
)
from radiofm.models.state_codec import flatten_state_dict, unflatten_state_dict

__all__ = [
    "backbones",
    "checkpoint",
    "convlstm",
    "create_model",
    "finetuned",
    "flatten_state_dict",
    "forecaster",
    "get_config",
    "get_family",
    "heads",
    "list_families",
    "list_models",
    "load_backbone_weights",
    "load_checkpoint",
    "load_train_state",
    "lora",
    "mae",
    "protonet",
    "model_from_config",
    "read_checkpoint_info",
    "register_family",
    "register_kind",
    "register_model",
    "registry",
    "save_checkpoint",
    "unflatten_state_dict",
    "vit",
]
