"""ConvLSTM backbones in the shared fine-tuning framework: NR/LTE segmentation as paper A §III-D.

Importing this module registers, through the framework's hooks,

- the ``convlstm`` backbone (:func:`radiofm.tasks.finetune.register_backbone`): checkpoints of kind
  "convlstm-msm" (``radiofm pretrain --model convlstm…``) or "convlstm" are accepted as ``--init``; the MSM
  Conv3D output layer (``head``) is dropped; blocks are the ConvLSTM layers (``last-k``); features are the
  frozen backbone's per-token outputs laid side by side along time, (B, D, H, T·W);
- its segmentation head (``radiofm.tasks.segmentation.HEAD_CONFIGS["convlstm"]`` and ``HEAD_TYPES["conv2d"]``):
  a two-layer Conv2D classifier → logits (B, 3, H, T·W), the ViT model's output face, so
  ``radiofm evaluate segmentation`` and ``predict`` work unchanged.

so that ``radiofm finetune segmentation --init <convlstm run> --data <nrlte>`` trains it (frozen backbone: the
paper's protocol; ``--mode scratch`` the baseline). The image size is the backbone config's ``img_size``
(paper: 256 × 256 = 16 tokens of 256 × 16; ``convlstm-tiny``: 64 × 128 = 16 tokens of 64 × 8); the framework
resizes the 256 × 256 spectrograms to it (labels by nearest neighbour). The CLI imports this module through
:mod:`radiofm.tasks.forecasting`; other code loading such a checkpoint must import it first.
"""

from __future__ import annotations

from radiofm.models.convlstm_heads import ConvSegHead, ConvSegHeadConfig, feature_map
from radiofm.tasks import finetune as ft
from radiofm.tasks import segmentation as seg

HEAD_TYPE = "conv2d"


def head_config(backbone: dict, opts: dict) -> dict:
    """Head settings for a ConvLSTM backbone config dict; ``opts["embed_dim"]`` (--head-dim) sets the width."""
    return {
        "type": HEAD_TYPE,
        "in_dim": int(backbone["hidden_channels"]),
        "num_classes": len(seg.CLASSES),
        "hidden": int(opts.get("embed_dim") or backbone["hidden_channels"]),
        "kernel": 3,
    }


def register() -> None:
    """Register the ConvLSTM backbone and head with the fine-tuning framework (idempotent)."""
    ft.register_backbone(
        ft.BackboneSpec(
            family="convlstm",
            kinds=("convlstm-msm", "convlstm"),
            dropped=("head",),  # the MSM Conv3D output layer
            blocks="layers",  # ConvLSTMModel.layers: the ConvLSTM layers in depth order
            final=(),
            embed=(),
            lora_targets=(),  # no attention, no linear layer: --mode lora is refused by apply_lora
            features=feature_map,  # (B, 1, H, T·W) -> (B, D, H, T·W)
        )
    )
    seg.HEAD_CONFIGS["convlstm"] = head_config
    seg.HEAD_TYPES[HEAD_TYPE] = lambda c: ConvSegHead(ConvSegHeadConfig(**c))


register()
