"""The step runner (:mod:`~radiofm.reproduce.steps`), the demo (:mod:`~radiofm.reproduce.demo`) and the paper
reproductions (:mod:`~radiofm.reproduce.table5`, :mod:`~radiofm.reproduce.paper_a`,
:mod:`~radiofm.reproduce.protobeam`), as resumable pipelines of
library calls.

Every experiment has a ``cpu`` preset (finishes on a 2-core CPU within its stated budget) and a ``paper`` preset
(the paper's sizes, for a GPU); both write a JSON report and a Markdown table beside the paper's figures. Each
exposes its settings dataclass, ``PRESETS`` and ``run_<experiment>(settings, out, *, preset, force, log)``; the
``radiofm reproduce`` and ``radiofm demo`` commands (:mod:`radiofm.cli`) parse flags into them.
"""
