"""radiofm.dsp.sequences: the 3GPP PSS/SSS and Gold sequences, unchanged by their move out of synth."""

import hashlib

import numpy as np

from radiofm.dsp import sequences
from radiofm.synth.nrlte import sequences as synth_sequences

# Computed with radiofm/synth/nrlte/sequences.py before the functions moved to radiofm/dsp (commit 5dc89ca).
DIGEST_BEFORE_MOVE = "55de5ed84ac0191eea4a7dd21c2f0ccf0f93ce31625f2202bbc96de4f2c51117"
NR_PSS_NEGATIVE_BITS = (  # np.packbits(nr_pss(n_id2) < 0).hex() for n_id2 = 0, 1, 2
    "6f3959836ba322049a7b87f1d8a5f542",
    "191024d3dc3f8ec52faa16f3959836ba",
    "fc76297d50b79cacc1b5d191024d3dc2",
)


def _digest(mod) -> str:
    """sha256 over every PSS/SSS of both standards and 4096 Gold bits for six c_init (LTE PSS rounded to 1e-5)."""
    h = hashlib.sha256()
    for n2 in range(3):
        h.update(mod.nr_pss(n2).astype("<i1").tobytes())
        lte = mod.lte_pss(n2).view(np.float32).astype(np.float64)
        h.update(np.round(lte, 5).astype("<f8").tobytes())
    for n1 in range(336):
        for n2 in range(3):
            h.update(mod.nr_sss(n1, n2).astype("<i1").tobytes())
    for n1 in range(168):
        for n2 in range(3):
            for sf in (0, 5):
                h.update(mod.lte_sss(n1, n2, sf).astype("<i1").tobytes())
    c_init = np.array([0, 1, 2**31 - 1, 123456789, 1024 * 7 + 1, 987654])
    h.update(mod.gold(c_init, 4096).astype("<u1").tobytes())
    return h.hexdigest()


def test_sequences_unchanged_by_the_move():
    assert _digest(sequences) == DIGEST_BEFORE_MOVE
    assert [np.packbits(sequences.nr_pss(i) < 0).tobytes().hex() for i in range(3)] == list(NR_PSS_NEGATIVE_BITS)
    assert np.packbits(sequences.nr_sss(123, 2) < 0).tobytes().hex() == "f35b24e1535557aa32f871feeeaf626a"
    assert np.packbits(sequences.lte_sss(77, 1, 0) < 0).tobytes().hex() == "10ec2f458b59c2c8"
    assert np.packbits(sequences.lte_sss(77, 1, 5) < 0).tobytes().hex() == "b5c0c3cdd8507370"
    assert np.packbits(sequences.gold(0x1234567, 64)).tobytes().hex() == "065386945af590a7"
    np.testing.assert_allclose(sequences.lte_pss(0)[:2], [1.0, -0.7971325 - 0.6038044j], atol=1e-6)


def test_synth_reexports_the_same_functions():
    for name in ("nr_pss", "nr_sss", "lte_pss", "lte_sss", "gold"):
        assert getattr(synth_sequences, name) is getattr(sequences, name)


def test_lte_pss_is_zadoff_chu_with_punctured_dc():
    """d_u(n) = exp(-j pi u n (n+1) / 63) for n < 31 and exp(-j pi u (n+1)(n+2) / 63) after, u = 25, 29, 34."""
    for n2, u in enumerate((25, 29, 34)):
        full = np.exp(-1j * np.pi * u * np.arange(63) * np.arange(1, 64) / 63)  # length-63 ZC, n = 0..62
        np.testing.assert_allclose(sequences.lte_pss(n2), np.delete(full, 31), atol=1e-5)
