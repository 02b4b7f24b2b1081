"""Writing results: CSV and JSON text, Parquet files, and all-or-nothing output."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kpiforge.errors import KpiforgeError
from kpiforge.io.timestamps import iso_text

TEXT_FORMATS = ("csv", "json")


def json_text(records: Sequence[dict[str, Any]]) -> str:
    """Records as an indented JSON list, one line at the end."""
    return json.dumps(list(records), indent=1) + "\n"


def csv_text(table: pa.Table) -> str:
    """A table as CSV with a header; timestamps as ISO 8601, nulls as empty cells."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            iso = iso_text(table.column(index))
            table = table.set_column(index, field.name, iso)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue().to_pybytes().decode("utf-8")


def write_parquet(table: pa.Table, path: str | os.PathLike) -> None:
    """``table`` as a Parquet file at ``path``, atomically."""
    with atomic_output(path) as temporary:
        pq.write_table(table, temporary)


def write_text(text: str, path: str | os.PathLike) -> None:
    """``text`` as a UTF-8 file at ``path``, atomically."""
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it becomes ``path`` (renamed into
    place), so ``path`` is whole or untouched.

    A ``path`` that exists and is not a regular file (a FIFO, ``/dev/null``,
    ``/dev/stdout``) is never renamed over, which would replace the device with a file: what
    was written is copied into it once complete. A link to a file keeps pointing at the
    file, which is replaced. Errors writing are one-line :class:`KpiforgeError` naming
    ``path``."""
    target = Path(path)
    if target.is_dir():
        raise KpiforgeError(f"{path}: is a directory; give a file name to write")
    if target.exists() and not target.is_file():
        with _naming_errors(path), tempfile.TemporaryDirectory(prefix="kpiforge-") as scratch:
            temporary = Path(scratch) / target.name
            yield temporary
            with temporary.open("rb") as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
        return
    target = Path(os.path.realpath(target)) if target.is_symlink() else target
    if not target.parent.is_dir():
        raise KpiforgeError(f"{target.parent}: no such directory to write {target.name} into")
    with _naming_errors(path), _temporary(target, directory=False) as temporary:
        yield temporary
        os.replace(temporary, target)


class NotEmptyError(KpiforgeError):
    """A run directory to write holds files already (``path``): replacing it needs
    ``force``."""

    def __init__(self, path: Path, names: list[str]) -> None:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        super().__init__(f"{path}: is not empty ({shown}); a run directory holds one run: "
                         "choose a new directory, or pass force=True to replace it whole")
        self.path = path
        self.shown = shown


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield an empty staging directory beside ``path``; on success it becomes ``path``.

    A directory holds one run, so stale files of another never sit beside the new ones: an
    existing ``path`` that holds files is refused (:class:`NotEmptyError`) unless ``force``,
    and is then replaced whole (renamed aside, the staging directory renamed into place, the
    old one deleted); an empty one is filled. Errors writing are one-line
    :class:`KpiforgeError` naming ``path``."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_dir():
        raise KpiforgeError(f"{path}: exists and is not a directory")
    with _naming_errors(path):
        held = sorted(p.name for p in target.iterdir()) if target.is_dir() else []
        if held and not force:
            raise NotEmptyError(Path(path), held)
        if held and Path.cwd().resolve().is_relative_to(target):
            raise KpiforgeError(f"{path}: holds the current directory; it cannot be replaced")
        target.parent.mkdir(parents=True, exist_ok=True)
        with _temporary(target, directory=True) as staging:
            yield staging
            if held:
                with _temporary(target, directory=True) as old:
                    os.replace(target, old)
                    os.replace(staging, target)
            elif target.exists():  # empty (perhaps the current directory): fill it
                for entry in sorted(staging.iterdir()):
                    os.replace(entry, target / entry.name)
            else:
                os.replace(staging, target)


#: Temporary files and directories: ``.NAME.kpiforge-HOST-PID-RANDOM.tmp`` beside ``NAME``.
_TEMPORARY = re.compile(r"^\..+\.kpiforge-(?P<host>.+)-(?P<pid>\d+)-[^-]+\.tmp$")


@contextlib.contextmanager
def _temporary(target: Path, directory: bool) -> Iterator[Path]:
    """A temporary file or directory beside ``target``, named for this process and removed
    afterwards; stale ones of processes that died (``SIGKILL``) are removed first."""
    _remove_stale(target.parent)
    prefix = f".{target.name}.kpiforge-{_host()}-{os.getpid()}-"
    if directory:
        temporary = Path(tempfile.mkdtemp(".tmp", prefix, target.parent))
    else:
        handle, name = tempfile.mkstemp(".tmp", prefix, target.parent)
        os.close(handle)
        temporary = Path(name)
    try:
        yield temporary
    finally:
        _remove(temporary)


def _remove_stale(directory: Path) -> None:
    """Remove the temporary files and directories in ``directory`` that processes of this
    machine left when they were killed."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match and match["host"] == _host() and not _alive(int(match["pid"])):
            _remove(Path(entry.path))


def _remove(path: Path) -> None:
    """Remove a file or directory, if this process may (another user's stays)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "localhost"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on POSIX; elsewhere assumed, so nothing is removed)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


@contextlib.contextmanager
def _naming_errors(path: str | os.PathLike) -> Iterator[None]:
    """An operating-system error (no permission, a full disk) as one line naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise KpiforgeError(f"{path}: cannot write: {exc.strerror or exc}") from None
