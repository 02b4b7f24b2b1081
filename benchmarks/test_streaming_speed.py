"""Streaming a Parquet file: in memory vs in chunks vs worker processes (reading
included), and peak memory when the file is four times larger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import generate_contacts, size_label
from test_engine_speed import BY, KPIS

import kpiforge

CHUNK_ROWS = 1_000_000


@pytest.fixture(scope="session")
def parquet_file(rows, contacts_table, tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / f"contacts-{rows}.parquet"
    pq.write_table(contacts_table, path, row_group_size=min(rows, CHUNK_ROWS))
    return path


def chunk_rows(rows: int) -> int:
    return min(CHUNK_ROWS, max(1, rows // 10))


def compute(path, **options):
    return kpiforge.compute(path, kpis=KPIS, by=BY, grain="15min", **options)


def test_parquet_in_memory(benchmark, rows, parquet_file):
    benchmark.group = f"stream-{size_label(rows)}"
    assert benchmark(compute, parquet_file)["offered"].sum() == rows


def test_parquet_streamed(benchmark, rows, parquet_file):
    benchmark.group = f"stream-{size_label(rows)}"
    result = benchmark(compute, parquet_file, chunk_rows=chunk_rows(rows))
    assert result["offered"].sum() == rows


@pytest.mark.parametrize("workers", sorted({1, os.cpu_count() or 1}))
def test_parquet_worker_processes(benchmark, rows, parquet_file, workers):
    benchmark.group = f"stream-{size_label(rows)}"
    result = benchmark.pedantic(compute, args=(parquet_file,),
                                kwargs={"chunk_rows": chunk_rows(rows), "workers": workers},
                                rounds=2, iterations=1)
    assert result["offered"].sum() == rows


# The child reads VmHWM, its own peak resident memory: ru_maxrss would carry over the
# parent's high-water mark across exec.
PEAK = textwrap.dedent("""
    import json, sys
    import kpiforge
    sys.path.insert(0, sys.argv[3])
    from test_engine_speed import BY, KPIS
    kpiforge.compute(sys.argv[1], kpis=KPIS, by=BY, grain="15min", chunk_rows=int(sys.argv[2]))
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()
    print(json.dumps(int(status[0]) * 1024))
""")


def peak_rss(path, chunk: int) -> int:
    done = subprocess.run([sys.executable, "-c", PEAK, str(path), str(chunk),
                           os.path.dirname(__file__)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_streaming_memory_stays_flat_when_the_file_grows(benchmark, rows, parquet_file,
                                                         tmp_path):
    """The same 30 days, four times the contacts: peak memory of a streamed run."""
    benchmark.group = f"stream-memory-{size_label(rows)}"
    larger = tmp_path / "contacts-x4.parquet"
    with pq.ParquetWriter(larger, pq.read_schema(parquet_file)) as writer:
        for seed in range(4):
            writer.write_table(pa.Table.from_batches(
                generate_contacts(rows, seed=100 + seed).to_batches()),
                row_group_size=chunk_rows(rows))
    small = peak_rss(parquet_file, chunk_rows(rows))
    big = benchmark.pedantic(peak_rss, args=(larger, chunk_rows(rows)), rounds=1,
                             iterations=1)
    benchmark.extra_info.update(rows=rows, peak_rss=small, peak_rss_4x=big,
                                ratio=big / small)
    assert big <= 1.6 * small, (small, big)
