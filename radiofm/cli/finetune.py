"""``radiofm finetune TASK``: adapt a pretrained backbone to a downstream task on the one training loop.

Tasks plug in through :data:`TASKS`: each module provides ``add_finetune_args(p)`` (usually calling
:func:`radiofm.tasks.finetune.add_common_args`) and ``run_finetune(args) -> int``.
"""

from __future__ import annotations

import importlib

# task name -> (module, help)
TASKS = {
    "segmentation": ("radiofm.tasks.segmentation", "NR/LTE spectrogram segmentation (paper B §III-D)"),
    "forecasting": ("radiofm.tasks.forecasting", "spectrum forecasting with a ConvLSTM backbone (paper A)"),
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a pretrained backbone on a task (frozen, last-k, lora, full, scratch)",
        description="Fine-tune a pretrained backbone (or train the same architecture from scratch) on a task.",
    )
    tsub = p.add_subparsers(dest="task", metavar="TASK", parser_class=type(p))
    tsub.required = True
    for name, (modname, help_) in TASKS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        if not hasattr(mod, "add_finetune_args"):  # a task module that does not fine-tune (yet)
            continue
        tp = tsub.add_parser(name, help=help_, description=help_)
        mod.add_finetune_args(tp)
        tp.set_defaults(run=mod.run_finetune)
