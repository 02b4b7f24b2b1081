"""The data layer: table schemas, readers of files and frames, and writers of results.

It knows nothing of KPIs: it turns what users hold (CSV, Parquet, pandas, polars, Arrow,
Dask) into checked tables of numpy columns, and writes tables back out.
"""
