"""Outputs as the issue 11 runs met them: devices and FIFOs written in place, never replaced;
unwritable places and a full standard output as one-line errors; a run directory that holds
one run; temporary files of killed runs cleaned by the next; workers quiet on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from handmade import CONTACT_ROWS
from test_cli_simulate import one_line_error
from test_shifts import DAY_PATTERN, forecast_file, patterns_file

from kpiforge.cli import cli
from kpiforge.engine.modes import ignore_interrupts
from kpiforge.errors import KpiforgeError
from kpiforge.io.output import NotEmptyError, atomic_directory, atomic_output, write_text
from kpiforge.simulations import parse_scenario, simulate

TEMPORARY = re.compile(r"^\..+\.kpiforge-.+-\d+-[^-]+\.tmp$")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def simulate_args(flat, out, *more):
    return ("simulate", flat, "--days", "1", "--set", "channels.call.volume_per_day=200",
            "--set", "staffing.agents=2", "--out", out, *more)


# --- devices and FIFOs --------------------------------------------------------------------


def _read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with path.open("rb") as handle:
            into.append(handle.read())
    thread = threading.Thread(target=read)
    thread.start()
    return thread


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_out_onto_a_fifo_writes_into_it(tmp_path, contacts_csv, fmt):
    fifo = tmp_path / "results"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = _read_fifo(fifo, received)
    result = run("compute", contacts_csv, "--kpi", "offered", "--format", fmt, "--out", fifo)
    reader.join()
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    if fmt == "json":
        assert json.loads(received[0]) == [{"offered": float(len(CONTACT_ROWS))}]
    else:
        assert received[0][:4] == b"PAR1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contacts.csv", "results"]


@pytest.mark.skipif(os.geteuid() != 0, reason="making a character device needs root")
def test_out_onto_a_character_device_leaves_the_device(tmp_path, contacts_csv):
    # A null device of the test's own, so that a regression replaces only that one.
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = run("compute", contacts_csv, "--format", "json", "--out", null)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(null.stat().st_mode)
    assert null.read_bytes() == b""


def test_out_through_a_link_replaces_the_file_it_points_to(tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("old")
    link = tmp_path / "latest.txt"
    link.symlink_to(target)
    write_text("new", link)
    assert link.is_symlink() and target.read_text() == "new"


# --- places that cannot be written --------------------------------------------------------


def _refuse(*args, **kwargs):
    raise PermissionError(13, "Permission denied")


def test_an_unwritable_output_directory_is_one_line(tmp_path, contacts_csv, monkeypatch):
    # Root writes anywhere, so the refusal is the operating system's error itself.
    monkeypatch.setattr("kpiforge.io.output.tempfile.mkstemp", _refuse)
    result = run("compute", contacts_csv, "--format", "json", "--out", tmp_path / "r.json")
    one_line_error(result, f"{tmp_path / 'r.json'}: cannot write: Permission denied")


def test_an_unwritable_run_directory_is_one_line(tmp_path, flat, monkeypatch):
    monkeypatch.setattr("kpiforge.io.output.tempfile.mkdtemp", _refuse)
    result = run(*simulate_args(flat, tmp_path / "run"))
    one_line_error(result, f"{tmp_path / 'run'}: cannot write: Permission denied")
    assert not (tmp_path / "run").exists()


def test_a_read_only_directory_is_one_line(tmp_path, contacts_csv, flat):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.access(locked, os.W_OK):
        locked.chmod(0o755)
        pytest.skip("this user writes into read-only directories (root)")
    try:
        one_line_error(run("compute", contacts_csv, "--format", "json", "--out",
                           locked / "r.json"), "cannot write: Permission denied")
        one_line_error(run(*simulate_args(flat, locked / "run")),
                       "cannot write: Permission denied")
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_standard_output_on_a_full_device_is_one_line(contacts_csv):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "kpiforge", "compute", str(contacts_csv),
                               "--format", "json"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == "Error: cannot write the output: No space left on device\n"


def test_a_closed_standard_output_ends_quietly(contacts_csv):
    reader = subprocess.Popen([sys.executable, "-m", "kpiforge", "compute", str(contacts_csv),
                               "--format", "json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    reader.stdout.close()  # before the command writes: as `| head -0` does
    errors = reader.stderr.read()
    assert reader.wait(timeout=120) == 1
    assert errors == b""


# --- a run directory holds one run --------------------------------------------------------


def test_a_run_directory_is_not_mixed_with_an_earlier_run(tmp_path, flat):
    out = tmp_path / "run"
    assert run(*simulate_args(flat, out)).exit_code == 0
    first = pq.read_table(out / "contacts.parquet").num_rows
    again = run(*simulate_args(flat, out, "--format", "csv", "--seed", "9"))
    one_line_error(again, f"{out}: is not empty (agent_intervals.parquet, contacts.parquet, "
                          "scenario.toml)")
    assert "--force" in again.output
    assert sorted(p.name for p in out.iterdir()) == [
        "agent_intervals.parquet", "contacts.parquet", "scenario.toml"]
    forced = run(*simulate_args(flat, out, "--format", "csv", "--seed", "9",
                                "--force"))
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in out.iterdir()) == [
        "agent_intervals.csv", "contacts.csv", "scenario.toml"]
    second = pacsv.read_csv(out / "contacts.csv").num_rows
    assert "seed = 9" in (out / "scenario.toml").read_text()
    offered = json.loads(run("compute", out, "--kpi", "offered", "--format", "json").output)
    assert offered == [{"offered": float(second)}] and second != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.toml", "run"]


def test_an_empty_directory_is_filled(tmp_path, flat, monkeypatch):
    empty = tmp_path / "here"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert run(*simulate_args(flat, ".")).exit_code == 0
    assert sorted(p.name for p in empty.iterdir()) == [
        "agent_intervals.parquet", "contacts.parquet", "scenario.toml"]
    one_line_error(run(*simulate_args(flat, ".", "--force")),
                   "holds the current directory; it cannot be replaced")


def test_replications_directory_holds_one_run(tmp_path, flat):
    out = tmp_path / "reps"
    args = (*simulate_args(flat, out), "--replications", "2", "--workers", "1",
            "--kpi", "offered")
    assert run(*args).exit_code == 0
    (out / "notes.txt").write_text("mine")
    one_line_error(run(*args), f"{out}: is not empty (kpis.parquet, notes.txt, replications "
                               "and 2 more)")
    assert run(*args, "--kpis-only", "--force").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "kpis.parquet", "scenario.toml", "summary.parquet"]


def test_plan_directory_holds_one_plan(tmp_path):
    path = forecast_file(tmp_path)
    patterns = patterns_file(tmp_path, DAY_PATTERN)
    out = tmp_path / "plan"
    out.mkdir()
    (out / "requirements.parquet").write_text("a stale table of another plan")
    args = ("staff", path, "--shifts", patterns, "--format", "csv", "--out", out)
    one_line_error(run(*args), f"{out}: is not empty (requirements.parquet)")
    assert run(*args, "--force").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "coverage.csv", "requirements.csv", "shifts.csv", "staffing.toml"]


def test_python_writes_refuse_or_replace_a_run_directory(tmp_path):
    run_ = simulate(parse_scenario({"scenario": {"days": 1, "seed": 1},
                                    "channels": {"call": {"volume_per_day": 10,
                                                          "aht_s": 100}},
                                    "staffing": {"agents": 1}}))
    run_.write(tmp_path / "run")
    with pytest.raises(NotEmptyError, match="pass force=True to replace it whole"):
        run_.write(tmp_path / "run", "csv")
    assert sorted(p.name for p in run_.write(tmp_path / "run", "csv", force=True)) == [
        "agent_intervals.csv", "contacts.csv", "scenario.toml"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "agent_intervals.csv", "contacts.csv", "scenario.toml"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(KpiforgeError, match="exists and is not a directory"):
        run_.write(tmp_path / "file")


def test_a_failed_write_leaves_the_directory_as_it_was(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(out, force=True) as staging:
        (staging / "new.txt").write_text("new")
        raise RuntimeError("the run broke")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


# --- killed runs --------------------------------------------------------------------------

#: Runs the command line in a process that kills itself (SIGKILL) while it writes.
KILLED_WHILE_WRITING = """
import os, signal, sys
import pyarrow.parquet as pq
from kpiforge.cli import main

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

pq.write_table = killed
sys.argv = ["kpiforge", *sys.argv[1:]]
main()
"""


def _killed_while_writing(tmp_path: Path, *args: object) -> None:
    done = subprocess.run([sys.executable, "-c", KILLED_WHILE_WRITING, *map(str, args)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_temporary_files_of_a_killed_compute_are_cleaned_by_the_next(tmp_path, contacts_csv):
    out = tmp_path / "out"
    out.mkdir()
    _killed_while_writing(tmp_path, "compute", contacts_csv, "--format", "parquet", "--out",
                          out / "kpis.parquet")
    [left] = os.listdir(out)
    assert TEMPORARY.match(left) and left.startswith(".kpis.parquet.kpiforge-")
    result = run("compute", contacts_csv, "--format", "json", "--out", out / "kpis.json")
    assert result.exit_code == 0, result.output
    assert os.listdir(out) == ["kpis.json"]


def test_staging_directories_of_a_killed_simulate_are_cleaned_by_the_next(tmp_path,
                                                                          flat):
    _killed_while_writing(tmp_path, *simulate_args(flat, tmp_path / "run"))
    [left] = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert TEMPORARY.match(left) and left.startswith(".run.kpiforge-")
    assert run(*simulate_args(flat, tmp_path / "run")).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.toml", "run"]


def test_a_live_writers_temporary_file_is_left_alone(tmp_path, contacts_csv):
    with atomic_output(tmp_path / "other.json") as temporary:  # this process is writing
        assert run("compute", contacts_csv, "--format", "json", "--out",
                   tmp_path / "r.json").exit_code == 0
        assert temporary.exists()


# --- Ctrl-C with worker processes ---------------------------------------------------------

#: Runs compute --workers in a process group whose first worker interrupts the whole group
#: (as a terminal's Ctrl-C does) when it starts on a chunk.
INTERRUPTED_BY_A_WORKER = """
import os, signal, sys, time
import kpiforge.engine.modes as modes

def interrupted(*args):
    try:  # once: the first worker to start on a chunk
        os.close(os.open("interrupted", os.O_CREAT | os.O_EXCL))
        os.killpg(os.getpgid(0), signal.SIGINT)
        time.sleep(0.5)
    except FileExistsError:
        pass
    return original(*args)

original, modes._pass = modes._pass, interrupted
from kpiforge.cli import main
sys.argv = ["kpiforge", *sys.argv[1:]]
main()
"""


def test_ctrl_c_with_workers_prints_no_worker_tracebacks(tmp_path, contacts_csv):
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_BY_A_WORKER, "compute",
                           str(contacts_csv), "--workers", "2", "--chunk-rows", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          start_new_session=True)
    assert done.returncode == 1
    assert done.stderr.strip() == "Aborted!", done.stderr


def _interrupt_myself() -> str:
    os.kill(os.getpid(), signal.SIGINT)
    return "still here"


def test_workers_leave_interrupts_to_their_parent():
    with ProcessPoolExecutor(1, initializer=ignore_interrupts) as pool:
        assert pool.submit(_interrupt_myself).result() == "still here"


def test_the_suite_runs_in_a_temporary_directory():
    """A file a test writes by a relative path lands in a temporary directory (the fixture
    in conftest.py), never in the working tree."""
    tree = Path(__file__).resolve().parent.parent
    assert not Path.cwd().resolve().is_relative_to(tree)
