"""The HTML report's structure, read by an HTML parser (no browser): valid, self-contained,
accessible, and showing the hand-worked headline; the report and plot commands and their
errors. ``test_report_browser.py`` opens the same page in Chromium."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import html5lib
import numpy as np
import pyarrow.parquet as pq
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from handmade import (
    MONDAY,
    REPORT_COLUMNS,
    REPORT_HEADLINE,
    REPORT_ROWS,
    REPORT_TARGETS,
    write_csv,
)
from PIL import Image

from kpiforge.cli import cli
from kpiforge.report import Report, build_report

pytest.importorskip("matplotlib")

SECTIONS = ("headline", "trends", "kpi-tree", "provenance")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def parse(html: str) -> BeautifulSoup:
    """The page, after checking that a strict HTML5 parser finds no error in it."""
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)
    return BeautifulSoup(html, "html.parser")


def headline(soup: BeautifulSoup) -> dict[str, dict[str, tuple[str, str | None, str]]]:
    """group -> KPI -> (value, status word or None, change) as the headline cards show."""
    found: dict[str, dict[str, tuple[str, str | None, str]]] = {}
    for card in soup.select("section.card[data-group]"):
        rows = {}
        for row in card.select("tbody tr"):
            kpi = row.select_one("[data-kpi]")["data-kpi"]
            cells = row.find_all("td")
            badge = cells[1].select_one(".badge")
            status = "".join(badge.find_all(string=True, recursive=False)).strip() \
                if badge else None
            change = cells[2].select_one(".better, .worse") or cells[2]
            rows[kpi] = (cells[0].get_text(strip=True), status, change.get_text(strip=True))
        found[card["data-group"]] = rows
    return found


@pytest.fixture(scope="module")
def report_files(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The hand-made data, its targets file, and their report by channel (made once)."""
    folder = tmp_path_factory.mktemp("report")
    contacts = write_csv(folder / "contacts.csv", REPORT_ROWS, REPORT_COLUMNS)
    targets = folder / "targets.toml"
    targets.write_text(REPORT_TARGETS)
    out = folder / "report.html"
    result = run("report", contacts, "--targets", targets, "--by", "channel", "--out", out)
    assert result.exit_code == 0, result.output
    return contacts, targets, out


@pytest.fixture
def report_html(report_files) -> str:
    return report_files[2].read_text(encoding="utf-8")


def test_the_headline_shows_the_hand_worked_values(report_html):
    shown = headline(parse(report_html))
    for group, kpis in REPORT_HEADLINE.items():
        for kpi, expected in kpis.items():
            assert shown[group][kpi] == expected, (group, kpi)


def test_targeted_kpis_come_first_and_say_their_target(report_html):
    soup = parse(report_html)
    call = soup.select_one('section.card[data-group="call"]')
    # csat keeps its definition's target; no one answered a survey, so it has no value.
    assert [s["data-kpi"] for s in call.select("[data-kpi]")][:3] == [
        "service_level", "asa", "csat"]
    targets = [t.get_text(strip=True) for t in call.select("small.target")]
    assert targets == ["target \u2265 80.0 %", "target \u2264 13.5 s", "target \u2265 80.0 %"]
    assert headline(soup)["call"]["csat"] == ("-", "no value", "-")
    assert "Tue 17 Nov 2026" in soup.find(id="headline-title").get_text()


def test_the_page_needs_nothing_from_outside(report_html):
    soup = parse(report_html)
    assert not soup.find_all(["script", "link", "img", "iframe", "object", "embed"])
    for element in soup.find_all(True):
        for attribute in ("src", "href", "xlink:href", "action"):
            value = element.get(attribute)
            assert value is None or value.startswith("#"), (element.name, value)
    assert "url(" not in "".join(s.get_text() for s in soup.find_all("style"))
    assert "@import" not in report_html


def test_sections_are_linked_from_the_navigation(report_html):
    soup = parse(report_html)
    links = [a["href"] for a in soup.select("nav a")]
    assert links == [f"#{anchor}" for anchor in SECTIONS]
    for anchor in SECTIONS:
        section = soup.find("section", id=anchor)
        assert section["aria-labelledby"] == f"{anchor}-title"
        assert section.find("h2", id=f"{anchor}-title")
    assert [h.name for h in soup.find_all(["h1"])] == ["h1"]


def test_every_chart_has_a_text_alternative_and_its_values(report_html):
    soup = parse(report_html)
    figures = soup.select("#trends figure")
    assert [f["data-kpi"] for f in figures][:2] == ["service_level", "asa"]
    for figure in figures:
        svg = figure.find("svg")
        assert svg["role"] == "img"
        title = svg.find("title", id=svg["aria-labelledby"])
        assert title.get_text().startswith(figure["data-kpi"])
    service_level = soup.select_one('#trends figure[data-kpi="service_level"]')
    rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])]
            for tr in service_level.select("details tbody tr")]
    # chat's threshold is 60 s: Monday's waits 50 and 10 are both within it.
    assert rows == [["Mon 16 Nov 2026", "50.0 %", "100.0 %"],
                    ["Tue 17 Nov 2026", "60.0 %", "100.0 %"]]
    assert "call: 50.0 % first, 60.0 % latest" in service_level.find("title").get_text()


def test_status_reads_without_colour(report_html):
    soup = parse(report_html)
    words = {b.get_text(" ", strip=True) for b in soup.select("#headline .badge")}
    assert words == {"\u2713 met", "! at risk", "\u2717 missed", "no value"}


def test_the_kpi_tree_is_coloured_by_the_worst_group(report_html):
    soup = parse(report_html)
    tree = soup.select_one("#kpi-tree ul.tree")
    service_level = tree.select_one('[data-node="service_level"]')
    assert "missed" in service_level["class"]           # call missed, chat met
    assert "call \u2717 missed" in service_level.get_text(" ", strip=True)
    assert "risk" in tree.select_one('[data-node="asa"]')["class"]   # call at risk
    # service_level and asa serve csat, which serves ltv: the goals sit above them.
    csat = tree.select_one('[data-node="csat"]')
    assert "goal" in csat["class"]
    assert csat.find_parent("li").find("ul").select_one('[data-node="asa"]')
    assert tree.find("li").select_one('[data-node="ltv"]')


def test_provenance_names_the_file_rows_times_and_what_is_left_out(report_html, report_files):
    soup = parse(report_html)
    provenance = soup.find("section", id="provenance")
    data = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])]
            for tr in provenance.select("table")[0].select("tbody tr")]
    assert data == [["contacts", str(report_files[0]), "13", "arrived_s",
                     "2026-11-16 08:00:00", "2026-11-17 13:00:00"]]
    text = provenance.get_text(" ", strip=True)
    assert str(report_files[1]) in text          # the targets file
    assert "Time zone none recorded" in text
    assert "kpiforge.plugins.operations" in text
    left_out = {tr.th.get_text(strip=True): tr.td.get_text(strip=True)
                for tr in provenance.select("table")[2].select("tbody tr")}
    assert "needs the agent_intervals table" in left_out["occupancy"]
    assert "needs column 'reply_wait_s' of " in left_out["average_response_time"]
    assert "Computed but not shown" in text and "wait_p90" in text


def test_a_report_is_small_whatever_the_rows(report_html):
    assert len(report_html.encode()) < 1_000_000


def test_a_section_can_be_added(report_data):
    class Note:
        anchor = "note"
        title = "A note"

        def render(self) -> str:
            return "<p>what-ifs go here</p>"

    report = build_report(report_data[0], by=["channel"]).with_section(Note())
    assert [s.anchor for s in report.sections][-2:] == ["note", "provenance"]
    soup = parse(report.to_html())
    assert soup.select_one("#note p").get_text() == "what-ifs go here"
    assert isinstance(report, Report)


def test_bad_targets_stop_before_anything_is_written(report_data, tmp_path):
    contacts, _ = report_data
    out = tmp_path / "report.html"
    out.write_text("yesterday's report")
    bad = tmp_path / "bad.toml"
    bad.write_text("[servce_level]\ntarget = 0.8\n")
    result = run("report", contacts, "--targets", bad, "--out", out)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.splitlines()) == 1
    assert "servce_level" in result.output and "did you mean: service_level" in result.output
    assert out.read_text() == "yesterday's report"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["bad.toml", "contacts.csv", "targets.toml", "report.html"])


def test_empty_data_is_a_clear_error(tmp_path):
    empty = write_csv(tmp_path / "contacts.csv", [], ("channel", "arrived_s"))
    out = tmp_path / "report.html"
    result = run("report", empty, "--out", out)
    assert result.exit_code == 1
    assert result.output == f"Error: {empty}: the contacts table has no rows\n"
    assert not out.exists()


def test_compute_plots_a_panel_per_kpi(report_data, tmp_path):
    contacts, targets = report_data
    png, svg = tmp_path / "kpis.png", tmp_path / "kpis.svg"
    for path in (png, svg):
        result = run("compute", contacts, "--by", "channel", "--grain", "1d", "--kpi",
                     "service_level,asa", "--targets", targets, "--plot", path)
        assert result.exit_code == 0, result.output
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > image.height > 200
    texts = [t.text or "" for t in ET.parse(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert "service_level (%)" in texts and "asa (s)" in texts
    assert {"call", "chat", "target"} <= set(texts)      # the legend


def test_compute_plot_needs_a_grain(report_data, tmp_path):
    out = tmp_path / "kpis.png"
    result = run("compute", report_data[0], "--by", "channel", "--plot", out)
    assert result.exit_code == 1
    assert result.output == "Error: --plot draws KPIs over time: give --grain too (1h, 1d...)\n"
    assert not out.exists()


def test_compute_plot_needs_an_image_name(report_data, tmp_path):
    out = tmp_path / "kpis.gif"
    result = run("compute", report_data[0], "--grain", "1d", "--plot", out)
    assert result.exit_code == 1
    assert result.output == f"Error: {out}: plots are written as .png or .svg, not 'gif'\n"
    assert not out.exists()


def test_a_replications_run_reports_its_intervals(tmp_path):
    run_dir = tmp_path / "run"
    result = run("simulate", "--days", "1", "--replications", "2", "--workers", "1",
                 "--kpis-only", "--by", "channel", "--kpi", "service_level,asa", "--out",
                 run_dir)
    assert result.exit_code == 0, result.output
    out = tmp_path / "report.html"
    assert run("report", run_dir, "--out", out).exit_code == 0
    soup = parse(out.read_text())
    assert soup.find("section", id="scenario")
    rows = {(tr.th.get_text(strip=True), tr.find_all("td")[0].get_text(strip=True)):
            [td.get_text(strip=True) for td in tr.find_all("td")[1:3]]
            for tr in soup.select("#replications table tbody tr")}
    summary = pq.read_table(run_dir / "summary.parquet").to_pylist()
    assert len(rows) == len(summary) == 6
    for row in summary:
        if row["kpi"] == "service_level":
            expected = [f"{row['mean'] * 100:.1f} %",
                        f"{row['ci_low'] * 100:.1f} % .. {row['ci_high'] * 100:.1f} %"]
        else:
            expected = [f"{row['mean']:,.1f} s",
                        f"{row['ci_low']:,.1f} s .. {row['ci_high']:,.1f} s"]
        assert rows[(row["kpi"], row["channel"])] == expected
    assert len(soup.select("#replications figure svg[role=img]")) == 2
    mismatch = run("report", run_dir, "--by", "queue", "--out", out)
    assert mismatch.exit_code == 1
    assert "summarised by channel, not queue" in mismatch.output
    finer = run("report", run_dir, "--grain", "1h", "--out", out)
    assert finer.exit_code == 1
    assert "summarised per whole run, not 1h" in finer.output


def test_a_simulated_run_reports_its_scenario(tmp_path):
    run_dir = tmp_path / "run"
    assert run("simulate", "--days", "1", "--out", run_dir).exit_code == 0
    out = tmp_path / "report.html"
    result = run("report", run_dir, "--by", "channel", "--kpi", "service_level",
                 "--title", "Monday", "--out", out)
    assert result.exit_code == 0, result.output
    soup = parse(out.read_text())
    assert soup.title.get_text() == "Monday"
    figures = {dt.get_text(): dd.get_text()
               for dt, dd in zip(soup.select("#scenario dt"), soup.select("#scenario dd"),
                                 strict=True)}
    assert figures["Scenario"] == "demo week"
    assert figures["Days"] == "Mon 16 Nov 2026 to Mon 16 Nov 2026 (1 day), seed 2026"
    assert figures["Shrinkage"] == "12.0 %"
    assert str(run_dir / "scenario.toml") in soup.select_one("#scenario p.note").get_text()
    tables = [tr.th.get_text() for tr in soup.select("#provenance table")[0].select("tbody tr")]
    assert tables == ["contacts", "agent_intervals", "customers"]


def test_demo_writes_the_weeks_report(tmp_path):
    out = tmp_path / "demo.html"
    result = run("demo", "--report", out)
    assert result.exit_code == 0, result.output
    soup = parse(out.read_text())
    assert [c["data-group"] for c in soup.select("section.card")] == ["call", "chat", "email"]
    assert "Sun 22 Nov 2026" in soup.find(id="headline-title").get_text()
    assert "demo week" in soup.select_one("#scenario dl").get_text()
    assert len(soup.select("#trends figure")) == 11


def test_long_trends_keep_the_latest_periods(tmp_path):
    """Five days of 15-minute periods (480): the charts keep the latest 366, the value
    tables the latest 60; twelve KPIs at most by default."""
    arrived = MONDAY + np.arange(480) * 900.0 + 60
    contacts = {"channel": np.array(["call"] * 480, dtype=object), "arrived_s": arrived,
                "answered_s": arrived + 10, **{c: np.full(480, np.nan) for c in
                                               REPORT_COLUMNS[3:]}}
    report = build_report({"contacts": contacts}, grain="15min")
    soup = parse(report.to_html())
    intro = soup.select_one("#trends p.intro").get_text()
    assert "the latest 366 of 480 periods (the 114 earlier ones are left out" in intro
    figure = soup.select_one('#trends figure[data-kpi="service_level"]')
    rows = figure.select("details tbody tr")
    assert len(rows) == 60
    assert rows[-1].th.get_text() == "Fri 20 Nov 2026 23:45"
    assert figure.select_one("caption").get_text() == "the latest 60 of 366 periods"
    assert len(soup.select("section.card tbody tr")) == 12
