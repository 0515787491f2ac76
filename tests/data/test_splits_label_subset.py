import numpy as np
import pytest

from radiofm.data.splits import label_subset
from radiofm.errors import ConfigError


def test_label_subset_is_stratified_seeded_and_keeps_every_class():
    labels = [0] * 50 + [1] * 30 + [2] * 3
    keep = label_subset(labels, 0.1, seed=4)
    assert keep == sorted(keep) and len(set(keep)) == len(keep)
    counts = np.bincount(np.asarray(labels)[keep], minlength=3)
    assert counts.tolist() == [5, 3, 1]  # round(50*.1), round(30*.1), at least one of the rare class
    assert keep == label_subset(labels, 0.1, seed=4)
    assert keep != label_subset(labels, 0.1, seed=5)
    assert label_subset(labels, 1.0, seed=0) == list(range(len(labels)))


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_label_subset_refuses_fractions_outside_unit_interval(fraction):
    with pytest.raises(ConfigError, match="label fraction"):
        label_subset([0, 1], fraction, seed=0)


def test_a_class_held_out_whole_gets_one_item_back():
    """`finetune signals` on 11 recordings of one class and 1 of another held the single one out for validation: the
    head never trained on that class, and nothing said so (session 60's review)."""
    from radiofm.data.splits import keep_every_class

    labels = np.array([0] * 11 + [1, 2, 2])
    assert keep_every_class([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12], [10, 11, 13], labels) == (
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12],
        [10, 13],
    )
    split = ([0, 2, 11, 12], [1, 13])
    assert keep_every_class(*split, labels) == split  # every class trained on: the split as it was
