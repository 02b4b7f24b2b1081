"""Whether a row loop runs compiled (numba, the ``kpiforge[fast]`` extra) or in numpy.

Both ways give the same bits; the compiled loops (``compiled.py``) are faster per row but
cost about half a second once per process to import numba and load them, so by default
they run only over many rows. ``KPIFORGE_NUMBA`` overrides the choice: ``1`` always (an
error when numba is missing), ``0`` never, ``auto`` (the default) as above.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType

from kpiforge.errors import KpiforgeError

ENV = "KPIFORGE_NUMBA"
#: Below this many rows a loop stays in numpy unless ``KPIFORGE_NUMBA=1``: numpy's time
#: there is smaller than the once-per-process cost of loading the compiled loops.
AUTO_MIN_ROWS = 200_000
_SETTINGS = ("auto", "1", "0")


def cores() -> int:
    """The cores this machine runs threads on."""
    return os.cpu_count() or 1


def loops(rows: int) -> ModuleType | None:
    """The compiled loops to run over ``rows`` rows, or None to use numpy."""
    setting = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if setting not in _SETTINGS:
        raise KpiforgeError(f"{ENV}={setting!r} is not a setting; use one of "
                            f"{', '.join(_SETTINGS)}")
    if setting == "0" or (setting == "auto" and rows < AUTO_MIN_ROWS):
        return None
    module = _compiled()
    if isinstance(module, ModuleType):
        return module
    if setting == "1":
        raise KpiforgeError(f"{ENV}=1 asks for compiled loops, but numba cannot be imported "
                            f"({module}); install it with pip install 'kpiforge[fast]', or "
                            f"unset {ENV}")
    return None


@functools.cache
def _compiled() -> ModuleType | str:
    """The compiled loops, or why they cannot be imported (tried once per process)."""
    try:
        from kpiforge.engine import compiled
    except ImportError as exc:
        return str(exc)
    return compiled
