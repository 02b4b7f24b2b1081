"""Times as the tables hold them: float seconds from an epoch, and back to calendar time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pyarrow as pa

#: Times are seconds from this instant unless a reader says otherwise (Unix time).
DEFAULT_EPOCH = dt.datetime(1970, 1, 1)
#: Arrow/Parquet schema metadata key holding the epoch as ISO time (the simulator sets it).
EPOCH_METADATA = b"kpiforge.epoch"


def epoch_from_metadata(metadata: Mapping[bytes, bytes] | None,
                        default: dt.datetime = DEFAULT_EPOCH) -> dt.datetime:
    """The epoch recorded in schema metadata, else ``default``."""
    if metadata and EPOCH_METADATA in metadata:
        return dt.datetime.fromisoformat(metadata[EPOCH_METADATA].decode())
    return default


def with_epoch(table: pa.Table, epoch: dt.datetime) -> pa.Table:
    """``table`` with ``epoch`` recorded in its schema metadata."""
    metadata = dict(table.schema.metadata or {})
    metadata[EPOCH_METADATA] = epoch.isoformat().encode()
    return table.replace_schema_metadata(metadata)


def to_datetime64(seconds: np.ndarray, epoch: dt.datetime) -> np.ndarray:
    """Seconds from ``epoch`` as ``datetime64[us]``."""
    micros = np.round(np.asarray(seconds, dtype=np.float64) * 1e6).astype(np.int64)
    return np.datetime64(epoch, "us") + micros.astype("timedelta64[us]")


def to_iso(seconds: np.ndarray, epoch: dt.datetime) -> list[str]:
    """Seconds from ``epoch`` as ISO 8601 strings (second resolution)."""
    return np.datetime_as_string(to_datetime64(seconds, epoch), unit="s").tolist()
