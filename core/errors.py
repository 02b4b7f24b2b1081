"""The one exception type for errors a user can cause and fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KpiforgeError(Exception):
    """A problem in the user's data, plugin, scenario or command line.

    The message names what is wrong (file, row, column, plugin, KPI) and what to do about
    it; the CLI prints it without a traceback and exits non-zero.
    """


class KpiforgeWarning(UserWarning):
    """Something the user should know that does not stop the work (an unknown plugin name
    in ``KPIFORGE_PLUGINS``, KPIs left out); the CLI prints it as one line."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ' (did you mean: a, b?)' for close matches of ``name``, or ''."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


class MissingTableError(KpiforgeError):
    """``subject`` (a KPI) needs ``table``, which the data does not include."""

    def __init__(self, subject: str, table: str) -> None:
        super().__init__(f"{subject} needs the {table} table; pass it as the {table!r} "
                         "entry of data")
        self.subject = subject
        self.table = table


class MissingColumnError(KpiforgeError):
    """A KPI needs a column its table lacks; leaving the KPI out is one way around it."""
