"""The one exception type for errors a user can cause and fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KpiforgeError(Exception):
    """A problem in the user's data, plugin, scenario or command line.

    The message names what is wrong (file, row, column, plugin, KPI) and what to do about
    it; the CLI prints it without a traceback and exits non-zero.
    """


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ' (did you mean: a, b?)' for close matches of ``name``, or ''."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""
