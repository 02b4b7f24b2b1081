"""``kpiforge import``: an export read through a mapping or preset, written as the schema's
tables, so that later runs read them directly; ``--list`` shows the presets."""

from __future__ import annotations

from pathlib import Path

import click
import pyarrow.parquet as pq

from kpiforge.cli.options import directory_advice
from kpiforge.errors import KpiforgeError
from kpiforge.io.mapping import UNTIMED_METADATA
from kpiforge.io.output import atomic_directory
from kpiforge.io.sources import load_sources
from kpiforge.presets import presets, resolve_mapping


@click.command("import")
@click.argument("export", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--map", "mapping", metavar="FILE.toml|PRESET",
              help="The mapping file or preset that reads the export.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Directory to write the mapped tables to, one Parquet file per table.")
@click.option("--force", is_flag=True, help="Replace DIR if it holds files.")
@click.option("--tz", metavar="ZONE",
              help="Time zone (IANA name, e.g. Asia/Tokyo) the export's naive times are "
                   "wall-clock times in (times with an offset are instants). Default: UTC.")
@click.option("--list", "list_presets", is_flag=True, help="List the presets and exit.")
def import_command(export: Path | None, mapping: str | None, out: Path | None, force: bool,
                   tz: str | None, list_presets: bool) -> None:
    """Read EXPORT through a mapping (--map) and write the mapped tables to DIR (--out):
    contacts.parquet, customers.parquet... which `kpiforge compute DIR` reads. Their times
    are instants (seconds since 1970-01-01 UTC), so later runs read them in any zone."""
    if list_presets:
        for preset in presets().values():
            click.echo(f"{preset.name:<20} {preset.description}")
        return
    if export is None or mapping is None or out is None:
        raise KpiforgeError("kpiforge import needs EXPORT, --map FILE.toml|PRESET and "
                            "--out DIR (or --list for the presets)")
    sources = load_sources(export, resolve_mapping(mapping), tz=tz)
    with directory_advice(), atomic_directory(out, force) as staging:
        for name, source in sources.items():
            data = source.arrow()
            source.origin.table(data, source.first_row)  # the schema's row checks
            metadata = {UNTIMED_METADATA: ",".join(sorted(source.untimed)).encode()}
            pq.write_table(data.replace_schema_metadata(metadata), staging / f"{name}.parquet")
            click.echo(f"{name}: {data.num_rows} rows", err=True)
    click.echo(f"wrote {out}", err=True)



