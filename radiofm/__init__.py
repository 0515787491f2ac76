"""radiofm: radio foundation models.

Pretrain a backbone on unlabelled radio spectrograms by masked spectrogram modeling, then fine-tune it
for downstream tasks. The package is laid out by concern:

- ``radiofm.dsp``    pure signal processing (spectrogram, resize, resource grids)
- ``radiofm.synth``  signal and dataset generators
- ``radiofm.data``   recordings (SigMF / .npy), spectrogram datasets
- ``radiofm.models`` ViT-MAE, ConvLSTM, heads, registry, checkpoints
- ``radiofm.tasks``  one module per downstream task
- ``radiofm.train``  the one training loop
- ``radiofm.cli``    the ``radiofm`` command
"""

from radiofm.errors import RadioFMError

__version__ = "0.1.0"
__all__ = ["RadioFMError", "__version__"]
