import numpy as np
import pytest

from radiofm.cli.inspect import frame_spans
from radiofm.cli.main import main
from radiofm.data import Annotation, open_recording, write_sigmf


def _is_png(path):
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inspect_prints_metadata_and_writes_png(tmp_sigmf, tmp_path, capsys):
    out = tmp_path / "figs" / "tiny.png"
    assert main(["inspect", str(tmp_sigmf), "--out", str(out), "--fft-size", "256"]) == 0
    text = capsys.readouterr().out
    assert _is_png(out)
    for expected in (
        "tiny.sigmf-meta",
        "cf32_le",
        "1 MHz",
        "4096 (4.096 ms)",
        "centre 2450.000000 MHz",
        "annotations  2",
        "burst",
        "2449.800",
        "2450.200",
        f"wrote {out}",
    ):
        assert expected in text
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # atomic write left no temp file


def test_inspect_without_out_only_prints(tmp_sigmf, capsys):
    assert main(["inspect", str(tmp_sigmf)]) == 0
    assert "tone" in capsys.readouterr().out


def test_inspect_missing_file_is_one_line_exit_2(tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["inspect", str(tmp_path / "missing.sigmf-meta"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("radiofm: error:") and "missing.sigmf-meta" in err[0]
    assert not out.exists()


@pytest.mark.parametrize(
    "flag", [["--fft-size", "4"], ["--max-seconds", "0"], ["--max-seconds", "inf"], ["--max-frames", "0"]]
)  # (inf was a traceback)
def test_inspect_bad_flags(tmp_sigmf, tmp_path, capsys, flag):
    assert main(["inspect", str(tmp_sigmf), "--out", str(tmp_path / "x.png"), *flag]) == 2
    assert "radiofm: error:" in capsys.readouterr().err


def test_inspect_too_short_recording(tmp_path, capsys):
    meta = write_sigmf(tmp_path / "short", np.zeros(100, np.complex64), sample_rate_hz=1e6)
    assert main(["inspect", str(meta), "--out", str(tmp_path / "x.png")]) == 2
    assert "has 100 samples, need at least 512" in capsys.readouterr().err


def test_frame_spans_strides_long_recordings():
    assert frame_spans(4096, 512, 2000).tolist() == [0, 512, 1024, 1536, 2048, 2560, 3072, 3584]
    starts = frame_spans(10_000_000, 512, 2000)
    assert len(starts) == 2000 and starts[0] == 0 and starts[-1] == 10_000_000 - 512


def test_inspect_long_npy_is_strided_and_repairs_nan(tmp_path, capsys, monkeypatch):
    """A long recording is drawn from max-frames spans only; NaNs are drawn as zeros with a note."""
    iq = np.full(64 * 512, 0.1 + 0.1j, np.complex64)
    iq[5] = np.nan
    np.save(tmp_path / "long.npy", iq)
    reads = []
    real_read = type(open_recording(tmp_path / "long.npy", sample_rate_hz=1e6)).read

    def spy(self, start=0, count=None, **kw):
        reads.append(count)
        return real_read(self, start, count, **kw)

    monkeypatch.setattr(type(open_recording(tmp_path / "long.npy", sample_rate_hz=1e6)), "read", spy)
    out = tmp_path / "long.png"
    args = ["inspect", str(tmp_path / "long.npy"), "--sample-rate", "1e6", "--out", str(out), "--max-frames", "10"]
    assert main([*args, "--fft-size", "1024"]) == 0
    assert _is_png(out) and reads == [512] * 10
    assert "note: drew 1 non-finite" in capsys.readouterr().out


def test_inspect_many_labels_and_baseband(tmp_path, capsys):
    anns = [
        Annotation(i * 100, 300, None if i % 2 else -1e5, None if i % 2 else 1e5, f"sig{i % 12}") for i in range(25)
    ]
    meta = write_sigmf(tmp_path / "bb", np.zeros(4096, np.complex64) + 0.01, sample_rate_hz=1e6, annotations=anns)
    out = tmp_path / "bb.png"
    assert main(["inspect", str(meta), "--out", str(out), "--max-seconds", "0.002"]) == 0
    text = capsys.readouterr().out
    assert _is_png(out) and "... and 5 more" in text and "centre unknown" in text


def test_save_figure_atomic_and_closes_pyplot_figures(tmp_path):
    import matplotlib.pyplot as plt

    from radiofm.viz import new_figure, plot_spectrogram, save_figure

    fig, ax = plt.subplots()
    plot_spectrogram(ax, np.random.default_rng(0).standard_normal((16, 8)), extent=(0, 1, -0.5, 0.5), title="t")
    assert save_figure(fig, tmp_path / "a.pdf") == tmp_path / "a.pdf"
    assert (tmp_path / "a.pdf").read_bytes()[:4] == b"%PDF" and not plt.fignum_exists(fig.number)
    fig = new_figure()
    fig.add_subplot().plot([0, 1])
    save_figure(fig, tmp_path / "b.png", dpi=50)
    assert _is_png(tmp_path / "b.png") and sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "b.png"]
