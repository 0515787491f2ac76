"""Models: the ViT masked autoencoder, the model registry and checkpoint folders.

Model modules (``mae``, ``convlstm``) register their families and presets on import; the registry imports
them lazily, so ``from radiofm.models import create_model`` stays cheap and cycle-free.
"""

from radiofm.models.checkpoint import (
    flatten_state_dict,
    load_backbone_weights,
    load_checkpoint,
    load_train_state,
    read_checkpoint_info,
    register_kind,
    save_checkpoint,
    unflatten_state_dict,
)
from radiofm.models.registry import (
    create_model,
    get_config,
    list_families,
    list_models,
    model_from_config,
    register_family,
    register_model,
)

__all__ = [
    "create_model",
    "flatten_state_dict",
    "get_config",
    "list_families",
    "list_models",
    "load_backbone_weights",
    "load_checkpoint",
    "load_train_state",
    "model_from_config",
    "read_checkpoint_info",
    "register_family",
    "register_kind",
    "register_model",
    "save_checkpoint",
    "unflatten_state_dict",
]
