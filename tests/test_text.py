"""radiofm.text: user text for pictures and bounded legends (shared by the annotate overlay and radiofm.viz)."""

from radiofm.text import MAX_LEGEND, legend_entries, plain_label


def test_legend_entries_summarise_what_does_not_fit():
    names = [f"label {i}" for i in range(MAX_LEGEND + 5)]
    shown, more = legend_entries(names)
    assert shown == names[:MAX_LEGEND] and more == "... 5 more"
    assert legend_entries(["NR", "LTE"]) == (["NR", "LTE"], None)
    assert legend_entries(names[:MAX_LEGEND]) == (names[:MAX_LEGEND], None)


def test_plain_label_is_one_cut_line():
    assert plain_label("a\n  b\tc") == "a b c"
    assert plain_label("x" * 50, 10) == "x" * 9 + "…"
