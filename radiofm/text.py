"""User text made safe for a picture (no plotting library imported here: the annotate overlay uses it at start-up)."""

from __future__ import annotations


def plain_label(text: object, limit: int = 40) -> str:
    """User text for a picture: one line, at most ``limit`` characters (draw it with ``parse_math=False``)."""
    text = " ".join(str(text).split())
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"
