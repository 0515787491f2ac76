"""An independent NR + LTE downlink generator, for validation only (placeholder docstring)."""

from radiofm.synth.nrlte_alt.capture import make_capture
from radiofm.synth.nrlte_alt.traffic import TRAFFIC_REGIMES

__all__ = ["TRAFFIC_REGIMES", "make_capture"]
