"""Flag sets of ``radiofm reproduce EXPERIMENT``: each module has ``add_args(p)`` and ``run(args) -> int``,
registered by name in :data:`radiofm.cli.reproduce.EXPERIMENTS`."""
