"""User text made safe for a picture, and legends of bounded length (no plotting library imported here: the
annotate overlay uses it at start-up; radiofm.viz's matplotlib figures too)."""

from __future__ import annotations


def plain_label(text: object, limit: int = 40) -> str:
    """User text for a picture: one line, at most ``limit`` characters (draw it with ``parse_math=False``)."""
    text = " ".join(str(text).split())
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


MAX_LEGEND = 20  # legend entries drawn; more labels are summarised in one line


def legend_entries(names: list[str]) -> tuple[list[str], str | None]:
    """The first :data:`MAX_LEGEND` of ``names``, and the line that stands for the rest ("... N more"; None when
    every name fits)."""
    extra = len(names) - MAX_LEGEND
    return list(names[:MAX_LEGEND]), (f"... {extra} more" if extra > 0 else None)
