"""Pictures of what-ifs, sweeps and forecasts: files of the asked format, written whole."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kpiforge.cli import cli

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_whatif_plot(tmp_path):
    out = tmp_path / "whatif.png"
    result = run("whatif", "flat", "--set", "scenario.days=1", "--vs", "staffing.agents=12",
                 "--vs", "staffing.agents=13", "--replications", 2, "--kpi",
                 "service_level,asa", "--workers", 1, "--plot", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG)


def test_sweep_plot(tmp_path):
    out = tmp_path / "sweep.svg"
    result = run("sweep", "flat", "--set", "scenario.days=1", "--grid",
                 "staffing.agents=10:12", "--grid", "staffing.shrinkage=0,0.1",
                 "--replications", 2, "--kpi", "service_level", "--workers", 1, "--plot", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "staffing.shrinkage=0.1" in text  # a line per value of the second key


def test_forecast_plot(tmp_path):
    pytest.importorskip("statsmodels")
    history = tmp_path / "history"
    assert run("simulate", "flat", "--days", 28, "--set", "channels.call.volume_per_day=500",
               "--out", history).exit_code == 0
    out = tmp_path / "forecast.png"
    result = run("forecast", history, "--horizon", "1w", "--backtest", 1, "--out",
                 tmp_path / "f.csv", "--plot", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG)


def test_a_plot_must_be_png_or_svg(tmp_path):
    result = run("sweep", "flat", "--grid", "staffing.agents=10", "--plot", tmp_path / "x.gif")
    assert result.exit_code == 1 and "plots are written as .png or .svg" in result.output
