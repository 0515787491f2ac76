"""Per-task flag sets of ``radiofm finetune TASK`` and ``radiofm evaluate EVALUATION``.

Each module has ``add_finetune_args(p)`` / ``run_finetune(args) -> int`` and/or ``add_eval_args(p)`` /
``run_eval(args) -> int``, registered by name in :data:`radiofm.cli.finetune.TASKS` and
:data:`radiofm.cli.evaluate.EVALUATIONS`. They parse flags into the task's config dataclasses, call
``radiofm.tasks.<task>`` and print.
"""
