"""The HTML report: PNG figures that exist, one self-contained page, nothing left on error."""

from __future__ import annotations

import pandas as pd
import pytest

from twinforge.campaign.runner import generate
from twinforge.campaign.spec import load_spec
from twinforge.fidelity import load_uci_household
from twinforge.fidelity import report as report_mod
from twinforge.fidelity.comparison import compare

FIGS = ["marginals.png", "acf.png", "spectra.png", "profiles.png", "embedding.png"]


@pytest.fixture(scope="module")
def rep(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "homes"
    generate(load_spec(None, twin="home", runs=2, days=4, period="15min", start="2008-12-01", seed=5),
             out, progress=False)
    real = load_uci_household()[["mains_power_w", "kitchen_power_w"]]
    return compare(real, out, channels={"mains_power_w": "mains_power_w",
                                        "kitchen_power_w": "appliance_power_w"})


def test_report_writes_figures_and_a_self_contained_page(rep, tmp_path):
    out = tmp_path / "report"
    html_path = report_mod.write_report(rep, out)
    assert html_path == out / "report.html"
    for name in FIGS:
        png = out / name
        assert png.is_file() and png.stat().st_size > 5_000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = html_path.read_text()
    assert text.count("data:image/png;base64,") == len(FIGS)
    assert "<img" in text and 'src="http' not in text  # nothing fetched from elsewhere
    for word in ("discriminative_score", "lower is better", "higher is better", "kitchen_power_w ~ appliance_power_w"):
        assert word in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temporary folder left
    # one overall verdict with its thresholds, and where the data came from
    assert "<b>Verdict: " in text and "Thresholds: hard to tell apart at discriminative" in text
    assert "Real: " in text and "synthetic: dataset " in text
    assert "median distance ratio" in text and "(about 1)" not in text


def test_every_axis_has_a_unit(rep):
    for name, (fn, _) in report_mod.FIGURES.items():
        fig = fn(rep)
        for ax in fig.axes:
            for label in (ax.get_xlabel(), ax.get_ylabel()):
                if label:
                    assert "[" in label and "]" in label, (name, label)
            assert ax.get_xlabel(), name
    marg = report_mod.plot_marginals(rep)
    assert marg.axes[0].get_xlabel() == "value [W]"


def test_save_report_writes_html_and_metrics_whole(rep, tmp_path):
    out = report_mod.save_report(rep, tmp_path / "r")
    assert out == tmp_path / "r" / "report.html" and (tmp_path / "r" / "metrics.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_existing_folder_gets_the_files(rep, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    report_mod.write_report(rep, out)
    assert (out / "keep.txt").read_text() == "x" and (out / "report.html").is_file()


def test_nothing_written_when_a_figure_fails(rep, tmp_path, monkeypatch):
    def boom(_rep):
        raise RuntimeError("figure failed")

    monkeypatch.setitem(report_mod.FIGURES, "spectra.png", (boom, "x"))
    with pytest.raises(RuntimeError, match="figure failed"):
        report_mod.write_report(rep, tmp_path / "report")
    assert list(tmp_path.iterdir()) == []


def test_embedding_separates_what_differs(rep):
    real_xy, synth_xy, ratio = report_mod.embedding(rep)
    assert real_xy.shape == (rep.info["n_real_windows"], 2)
    assert synth_xy.shape == (rep.info["n_synth_windows"], 2)
    assert 0 < ratio.sum() <= 1


def test_no_pyplot_state_is_touched(rep, tmp_path):
    import sys

    report_mod.write_report(rep, tmp_path / "r")
    assert "matplotlib.pyplot" not in sys.modules or not __import__("matplotlib.pyplot").pyplot.get_fignums()


def test_daily_profile_table_counts_days(rep):
    table = report_mod._daily_hour_means(rep.real["mains_power_w"], "Europe/Paris")
    assert table.shape[1] == 24 and len(table) >= 62
    assert isinstance(table, pd.DataFrame)
