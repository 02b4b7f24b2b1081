"""A report: a title, what it covers, and sections in order; written as one HTML file.

A section is any object with an ``anchor`` (its id on the page), a ``title`` (its heading
and its entry in the page's navigation) and a ``render()`` method returning its HTML body.
Each built-in section is a small frozen class holding the data it shows (headline,
trends, KPI tree, scenario, replications, provenance); adding a section for another kind
of result is writing one such class and passing it to :meth:`Report.with_section`.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import attrs

from kpiforge.io.output import write_text
from kpiforge.report.page import page, section


@runtime_checkable
class Section(Protocol):
    """One part of a report."""

    @property
    def anchor(self) -> str:
        """The section's id on the page (letters, digits and dashes)."""

    @property
    def title(self) -> str:
        """Its heading, also its entry in the page's navigation."""

    def render(self) -> str:
        """Its HTML body (escaped), below the heading."""


@attrs.frozen
class Report:
    """A report ready to write: ``subtitle`` (HTML) says what it covers, ``tally`` (HTML)
    sums up the statuses, ``footer`` (HTML) says how it was made."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    tally: str = ""
    footer: str = ""

    def with_section(self, extra: Section, after: str | None = None) -> Report:
        """This report with ``extra`` added after the section whose anchor is ``after``
        (default: before the provenance, which stays last)."""
        anchors = [s.anchor for s in self.sections]
        where = anchors.index(after) + 1 if after is not None else \
            anchors.index("provenance") if "provenance" in anchors else len(anchors)
        sections = (*self.sections[:where], extra, *self.sections[where:])
        return attrs.evolve(self, sections=sections)

    def to_html(self) -> str:
        """The whole page as one self-contained HTML document."""
        body = "".join(section(s.anchor, s.title, s.render()) for s in self.sections)
        return page(self.title, self.subtitle, self.tally,
                    [(s.anchor, s.title) for s in self.sections], body, self.footer)

    def write(self, path: str | os.PathLike) -> None:
        """Write the page to ``path`` atomically: the whole file or nothing."""
        write_text(self.to_html(), path)
