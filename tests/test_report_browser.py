"""The report in a real browser: headless Chromium (the distribution's package, driven by
Playwright) opens the page from disk, with no console error and no request beyond the file
itself; the headline shows the hand-worked values; a screenshot is not an empty page.

Skipped, saying why, where no Chromium is installed (``.ci/run`` installs Debian's
``chromium`` when it is absent).
"""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
from handmade import REPORT_COLUMNS, REPORT_HEADLINE, REPORT_ROWS, REPORT_TARGETS, write_csv

from kpiforge.report import build_report

pytest.importorskip("matplotlib")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is in the dev extra")
Image = pytest.importorskip("PIL.Image")

CHROMIUM = os.environ.get("KPIFORGE_CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: install Debian's chromium package (.ci/run does) "
                             "or set KPIFORGE_CHROMIUM to a Chromium executable")
WIDTH = 1280
#: The first group's colour in the charts (figures.PALETTE[0]), and the badges'.
BLUE = (0x00, 0x72, 0xB2)
MISSED_BACKGROUND = (0xFF, 0xE4, 0xE0)


@pytest.fixture(scope="module")
def page_in_chromium(tmp_path_factory):
    """The hand-made report opened in Chromium: the page, its console messages, page
    errors and requests, and a full-page screenshot (PNG bytes)."""
    folder = tmp_path_factory.mktemp("browser")
    contacts = write_csv(folder / "contacts.csv", REPORT_ROWS, REPORT_COLUMNS)
    (folder / "targets.toml").write_text(REPORT_TARGETS)
    path = folder / "report.html"
    build_report(contacts, targets=folder / "targets.toml", by=["channel"]).write(path)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        console: list[tuple[str, str]] = []
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda message: console.append((message.type, message.text)))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri(), wait_until="load")
        shot = page.screenshot(full_page=True)
        yield {"page": page, "console": console, "errors": errors, "requests": requests,
               "screenshot": shot, "uri": path.as_uri()}
        browser.close()


def test_it_loads_with_no_console_error_and_no_request(page_in_chromium):
    assert page_in_chromium["errors"] == []
    assert [m for m in page_in_chromium["console"] if m[0] in ("error", "warning")] == []
    assert page_in_chromium["requests"] == [page_in_chromium["uri"]]


def test_the_headline_shows_the_hand_worked_values(page_in_chromium):
    page = page_in_chromium["page"]
    for group, kpis in REPORT_HEADLINE.items():
        card = page.locator(f'section.card[data-group="{group}"]')
        assert card.locator("h3").inner_text() == group
        for kpi, (value, status, change) in kpis.items():
            row = card.locator(f'tr:has([data-kpi="{kpi}"])')
            cells = row.locator("td")
            assert cells.nth(0).inner_text() == value
            shown = cells.nth(1).inner_text()
            assert (status or "no target") in shown
            assert cells.nth(2).inner_text().split("\n")[0] == change
            assert cells.nth(0).is_visible()


def test_the_screenshot_is_a_whole_page(page_in_chromium):
    page = page_in_chromium["page"]
    image = Image.open(io.BytesIO(page_in_chromium["screenshot"])).convert("RGB")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert image.size == (WIDTH, height)
    assert height > 2000                                  # headline, charts, tree, provenance

    def region(selector: str) -> Image.Image:
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["width"] > 50 and box["height"] > 10, selector
        return image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]),
                           int(box["y"] + box["height"])))

    def share_near(picture: Image.Image, colour: tuple[int, int, int]) -> float:
        """The share of pixels within 24 levels of ``colour`` on every channel."""
        pixels = np.asarray(picture, dtype=np.int16)
        return float((np.abs(pixels - colour) <= 24).all(axis=-1).mean())

    assert np.asarray(region("header.page h1")).min() < 80          # dark text drawn
    assert share_near(region('#trends figure[data-kpi="service_level"] svg'), BLUE) > 0.002
    assert share_near(region('section.card[data-group="call"] .badge.missed'),
                      MISSED_BACKGROUND) > 0.3
    assert share_near(region("#kpi-tree ul.tree"), (255, 255, 255)) > 0.5
