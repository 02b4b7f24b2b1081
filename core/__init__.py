"""kpiforge: customer-support and customer-success KPIs as plugins, computed fast.

The public API: declare definitions with :class:`Measure`, :class:`KPI`, :class:`KGI` and
:class:`Dimension` in ``kpiforge_*`` hooks marked with :data:`hookimpl`, and compute them with
:func:`compute`.
"""

from kpiforge.definitions import KGI, KPI, Dimension, Measure
from kpiforge.engine import compute
from kpiforge.errors import KpiforgeError
from kpiforge.hookspecs import hookimpl, hookspec
from kpiforge.plugin_manager import get_plugin_manager
from kpiforge.registry import Registry
from kpiforge.results import Result

__version__ = "0.1.0"

__all__ = [
    "KGI",
    "KPI",
    "Dimension",
    "KpiforgeError",
    "Measure",
    "Registry",
    "Result",
    "__version__",
    "compute",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
]
