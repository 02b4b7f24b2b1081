"""pytest plugin: synthetic contact loads and KPI benchmarks for plugin authors."""
