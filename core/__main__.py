"""``python -m kpiforge``: the same as the ``kpiforge`` command."""

from kpiforge.cli import main

main()
