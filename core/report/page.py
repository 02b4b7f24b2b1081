"""HTML building blocks of the report: escaped text, tables, status badges and the page.

Everything is written inline (styles here, charts as SVG), so the file needs nothing else
to open: no script, no font, no image fetched at view time. Status is said in words and
a symbol as well as in colour, so the page reads the same printed in black and white.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

from kpiforge.goals.targets import Status

#: The minus sign of numbers and link effects on the page (typeset, unlike a hyphen).
MINUS = "\u2212"
#: The report's words for a status (``kpiforge.goals`` says on track, at risk, off).
STATUS_WORDS = {Status.ON_TRACK: "met", Status.AT_RISK: "at risk", Status.OFF: "missed"}
STATUS_SYMBOLS = {Status.ON_TRACK: "✓", Status.AT_RISK: "!", Status.OFF: "✗"}
#: CSS class of each status (and of a value without one).
STATUS_CLASSES = {Status.ON_TRACK: "met", Status.AT_RISK: "risk", Status.OFF: "missed",
                  None: "none"}


def esc(text: object) -> str:
    """``text`` safe inside HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def status_badge(status: Status | None, empty: str = "no target") -> str:
    """A status as symbol and word in a coloured badge; ``empty`` where there is none."""
    if status is None:
        return f'<span class="badge none">{esc(empty)}</span>'
    return (f'<span class="badge {STATUS_CLASSES[status]}">'
            f'<span aria-hidden="true">{STATUS_SYMBOLS[status]}</span> '
            f"{STATUS_WORDS[status]}</span>")


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, caption: str = "",
          numeric: Iterable[int] = (), classes: Mapping[int, str] | None = None,
          css: str = "") -> str:
    """A table of already-escaped cells; ``numeric`` columns are right-aligned,
    ``classes`` gives other columns a CSS class; the first column is a row header."""
    column_class = {i: "num" for i in numeric}
    for i, name in (classes or {}).items():
        column_class[i] = f"{column_class.get(i, '')} {name}".strip()

    def cell(tag: str, index: int, content: str, scope: str = "") -> str:
        attributes = f' class="{column_class[index]}"' if index in column_class else ""
        return f"<{tag}{scope}{attributes}>{content}</{tag}>"

    head = "".join(cell("th", i, h, ' scope="col"') for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("th", 0, c, ' scope="row"') if i == 0 else cell("td", i, c)
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    caption_html = f"<caption>{caption}</caption>" if caption else ""
    css_attr = f' class="{css}"' if css else ""
    return (f"<table{css_attr}>{caption_html}<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def section(anchor: str, title: str, body: str) -> str:
    """A titled section of the page, labelled by its heading."""
    return (f'<section id="{esc(anchor)}" aria-labelledby="{esc(anchor)}-title">'
            f'<h2 id="{esc(anchor)}-title">{esc(title)}</h2>{body}</section>')


STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --paper: #ffffff;
  --soft: #f6f8fa; --met: #1a7f37; --met-bg: #dafbe1; --risk: #7d4e00; --risk-bg: #fff1c2;
  --missed: #b42318; --missed-bg: #ffe4e0; --none: #59636e; --none-bg: #eef1f4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans",
  "Liberation Sans", sans-serif; color: var(--ink); background: var(--soft); }
header.page { background: var(--paper); border-bottom: 1px solid var(--line);
  padding: 20px 32px 12px; }
header.page h1 { margin: 0 0 4px; font-size: 24px; }
header.page p { margin: 0 0 6px; color: var(--muted); }
header.page .tally { color: var(--ink); font-weight: 600; }
nav ul { list-style: none; margin: 8px 0 0; padding: 0; display: flex; flex-wrap: wrap;
  gap: 4px 18px; }
nav a { color: #0550ae; text-decoration: none; }
nav a:hover { text-decoration: underline; }
main { padding: 8px 32px 32px; max-width: 1600px; }
section { margin-top: 24px; }
h2 { font-size: 19px; margin: 0 0 4px; }
h3 { font-size: 16px; margin: 0 0 6px; }
p.intro, .note { color: var(--muted); margin: 0 0 12px; max-width: 980px; }
.cards { display: grid;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 470px), 1fr));
  gap: 16px; }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 12px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em;
  color: var(--muted); font-weight: 600; }
tbody th { font-weight: 500; }
.num { text-align: right; white-space: nowrap; }
small.target { display: block; white-space: nowrap; color: var(--muted); font-size: 12px; }
table.headline { font-size: 14px; }
td.value { font-weight: 650; font-size: 15px; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 13px;
  white-space: nowrap; border: 1px solid transparent; }
.badge.met { color: var(--met); background: var(--met-bg); border-color: #8fd5a0; }
.badge.risk { color: var(--risk); background: var(--risk-bg); border-color: #e5c15b; }
.badge.missed { color: var(--missed); background: var(--missed-bg); border-color: #f0a39a; }
.badge.none { color: var(--none); background: var(--none-bg); }
.change { white-space: nowrap; }
.change .better { color: var(--met); }
.change .worse { color: var(--missed); }
.change small, .muted { color: var(--muted); }
.change small { display: block; font-size: 12px; }
.charts { display: grid;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr));
  gap: 16px; }
figure { margin: 0; background: var(--paper); border: 1px solid var(--line);
  border-radius: 8px; padding: 10px 12px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-weight: 600; margin-bottom: 2px; }
figcaption span { font-weight: 400; color: var(--muted); }
details { margin-top: 6px; font-size: 13px; }
summary { cursor: pointer; color: #0550ae; }
details table { margin-top: 6px; }
.tree, .tree ul { list-style: none; margin: 0; padding-left: 22px; }
.tree { padding-left: 0; background: var(--paper); border: 1px solid var(--line);
  border-radius: 8px; padding: 12px 16px; }
.tree li { margin: 4px 0; position: relative; }
.tree ul li::before { content: ""; position: absolute; left: -14px; top: 0; height: 14px;
  width: 10px; border-left: 1px solid var(--line); border-bottom: 1px solid var(--line); }
.node { display: inline-block; border: 1px solid var(--line); border-left-width: 6px;
  border-radius: 6px; padding: 2px 8px; background: var(--paper); }
.node.met { border-left-color: var(--met); }
.node.risk { border-left-color: #d4a72c; }
.node.missed { border-left-color: var(--missed); }
.node.none { border-left-color: #afb8c1; }
.node .kind { font-size: 11px; color: var(--muted); text-transform: uppercase; }
.node.goal { font-weight: 650; }
.link { font-size: 12px; color: var(--muted); margin-right: 4px; }
.node .badge { font-size: 12px; margin-left: 4px; }
dl.figures { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px;
  background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 16px; margin: 0 0 14px; }
dl.figures dt { color: var(--muted); }
dl.figures dd { margin: 0; }
.panel { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 14px; margin-bottom: 14px; }
code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; }
footer { color: var(--muted); padding: 0 32px 24px; font-size: 13px; }
@media print { body { background: #fff; } .card, figure, .tree, .panel { break-inside: avoid; } }
"""


def page(title: str, subtitle: str, tally: str, navigation: Sequence[tuple[str, str]],
         body: str, footer: str) -> str:
    """The whole HTML document: header (title, what it covers, the status tally, links to
    the sections), the sections, and a footer."""
    links = "".join(f'<li><a href="#{esc(anchor)}">{esc(name)}</a></li>'
                    for anchor, name in navigation)
    tally_html = f'<p class="tally">{tally}</p>' if tally else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="kpiforge">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f'<body><header class="page"><h1>{esc(title)}</h1><p>{subtitle}</p>{tally_html}'
        f'<nav aria-label="Sections"><ul>{links}</ul></nav></header>'
        f"<main>{body}</main><footer>{footer}</footer></body></html>\n"
    )
