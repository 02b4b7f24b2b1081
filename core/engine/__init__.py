"""The metric engine: plan, one vectorised pass per table, mergeable partials, evaluation.

Layers, each importing only those below it: ``grains`` and ``grouping`` (group codes);
``accumulators`` and ``quantiles`` (per-group kernels); ``passes`` (a pass over rows and
its mergeable partial); ``plan`` (what to compute and read); ``evaluate`` (merge and
evaluate); ``modes`` and ``distributed`` (where passes run); ``api`` (``compute``) on top.
Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpiforge.lazy import lazy_exports

if TYPE_CHECKING:
    from kpiforge.engine.api import compute
    from kpiforge.engine.distributed import connect

_PUBLIC = {"compute": "kpiforge.engine.api", "connect": "kpiforge.engine.distributed"}

__all__ = ["compute", "connect"]

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
