"""radiofm: radio foundation models.

Pretrain a backbone on unlabelled radio spectrograms by masked spectrogram modeling, then fine-tune it
for downstream tasks. The package is laid out in layers; each imports only the ones above it in this list
(docs/ARCHITECTURE.md):

- ``radiofm.errors``, ``radiofm.io``, ``radiofm.viz``  errors, atomic files, figures
- ``radiofm.dsp``       pure signal processing (spectrogram, resize, resource grids, the NR/LTE model front end)
- ``radiofm.synth``     generators: arrays and plain-dict metadata, no files
- ``radiofm.data``      recordings (one SigMF reader, one writer), dataset folders (writer + reader), caches, splits
- ``radiofm.models``    architectures with their presets, heads and checkpoint kinds; ``load_checkpoint``
- ``radiofm.train``     the one training loop
- ``radiofm.tasks``     one module per task: dataset → head → loss → metrics, with dataclass configs
- ``radiofm.annotate``  NR/LTE carriers in any recording → annotated SigMF
- ``radiofm.reproduce`` the step runner, the demo, paper reproductions
- ``radiofm.cli``       the ``radiofm`` command: flags → configs → the layers above; printing, exit codes
"""

from radiofm.errors import RadioFMError

__version__ = "0.1.0"
__all__ = ["RadioFMError", "__version__"]
