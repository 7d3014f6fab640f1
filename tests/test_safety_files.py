"""SPEC §13, the files seg writes and the process around them: outputs that must never be
written, symlinks, modes, signals, settings, a read-only folder, the writer marker, exit status
after a commit, and no database file from an import that did not commit."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import EXAMPLE_YAML, SAMPLE_CSV, run, snapshot, write

SEG = [sys.executable, "-c", "from segcli.cli import main; main()"]
VIP = "VIP Arabic Speakers"


def seg_proc(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*SEG, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, **kwargs)


def files(folder: Path) -> list[str]:
    """The folder's files, but SQLite's own -wal and -shm, which come and go with connections."""
    return sorted(f for f in os.listdir(folder) if not f.endswith(("-wal", "-shm")))


def process_start(pid: int) -> str:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().rsplit(")", 1)[1].split()[19]


def wait_until_stopped(proc: subprocess.Popen) -> None:
    """Until the process has stopped itself at its SEG_FAULT point (state T in /proc)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        with open(f"/proc/{proc.pid}/stat", encoding="ascii") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.01)
    raise AssertionError("the process never reached its fault point")


@pytest.fixture
def shop(sample_db):
    """The sample shop, with a bad row to reject and a folder, a FIFO and links to aim at."""
    bad = write(sample_db / "x.csv", SAMPLE_CSV.read_text(encoding="utf-8") + "B1,Bad,,,,,Narnia\n")
    return sample_db, bad


# --- 1. never the database, an input, a device, FIFO or folder -----------------------------------


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["export", VIP, "-o", "{db}"], "it is the database"),
        (["export", VIP, "-o", "{db}-wal"], "-wal"),
        (["export", VIP, "-o", "{db}-shm"], "-shm"),
        (["export", VIP, "-o", "{dir}/./sub/../seg.db"], "it is the database"),  # another spelling
        (["export", VIP, "-o", "{dir}/link.db"], "it is the database"),  # a symlink to it
        (["export", VIP, "-o", "{dir}/hard.db"], "it is the database"),  # a hard link: same inode
        (["export", VIP, "-o", "{dir}/fifo"], "FIFO"),
        (["export", VIP, "-o", "{dir}/device"], "device"),
        (["export", VIP, "-o", "{dir}/sub"], "folder"),
        (["dump", "-o", "{db}"], "it is the database"),
        (["dump", "-o", "{dir}/link.db"], "it is the database"),
        (["import", "{dir}/x.csv", "--skip-invalid", "--rejects", "{db}"], "it is the database"),
        (["import", "{dir}/x.csv", "--skip-invalid", "--rejects", "{dir}/x.csv"], "an input of this command"),
        (["import", "{dir}/x.csv", "--skip-invalid", "--rejects", "{dir}/sub/../x.csv"], "an input of this command"),
        (["import", "{dir}/x.csv", "--skip-invalid", "--rejects", "{dir}/sub"], "folder"),
        (["import", "-", "--format", "csv", "--skip-invalid", "--rejects", "{db}"], "it is the database"),
    ],
)
def test_a_file_seg_writes_is_never_the_database_an_input_a_device_fifo_or_folder(shop, args, what):
    folder, bad = shop
    db = os.environ["SEG_DB"]
    os.mkdir(folder / "sub")
    os.mkfifo(folder / "fifo")
    # A device of our own (/dev/null's numbers), never the system's: seg without this fix would
    # replace it with a file. Only root may make one; elsewhere a link to /dev/null, which a user
    # cannot replace anyway.
    if os.geteuid() == 0:
        os.mknod(folder / "device", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    else:
        os.symlink("/dev/null", folder / "device")
    os.symlink(db, folder / "link.db")
    os.link(db, folder / "hard.db")
    before, database, source = snapshot(), Path(db).read_bytes(), bad.read_bytes()
    before_files = files(folder)
    r = run(*[a.format(db=db, dir=folder) for a in args], stdin=source)
    assert r.code == 2, r
    assert what in r.err and "Traceback" not in r.err
    assert snapshot() == before  # nothing committed: the check comes before any work
    assert Path(db).read_bytes() == database and bad.read_bytes() == source
    assert files(folder) == before_files and files(folder / "sub") == []  # no temporary file either
    assert stat.S_ISFIFO(os.stat(folder / "fifo").st_mode) and stat.S_ISCHR(os.stat(folder / "device").st_mode)


# --- 2. a symlink is followed ---------------------------------------------------------------------


def test_a_symlinked_target_is_followed_and_the_file_it_points_to_replaced(sample_db):
    # Elsewhere on another file system if there is one (/dev/shm), where a rename from beside the
    # link would fail.
    elsewhere = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        real = write(elsewhere / "audience.csv", "the earlier audience\n")
        os.chmod(real, 0o640)
        link = sample_db / "audience.csv"
        os.symlink(real, link)
        r = run("export", VIP, "-o", str(link))
        assert r.code == 0, r
        assert link.is_symlink() and os.readlink(link) == str(real)  # the link is kept...
        assert real.read_text(encoding="utf-8").startswith("id,name,")  # ...the file it names replaced
        assert stat.S_IMODE(os.stat(real).st_mode) == 0o640
        assert files(elsewhere) == ["audience.csv"]  # the temporary file was made there, and is gone
        # A link to a file that does not exist yet: the file is made where the link points.
        os.symlink(elsewhere / "new.yaml", sample_db / "segments.yaml")
        assert run("dump", "-o", str(sample_db / "segments.yaml")).code == 0
        assert (sample_db / "segments.yaml").is_symlink()
        assert "VIP Arabic Speakers" in (elsewhere / "new.yaml").read_text(encoding="utf-8")
    finally:
        shutil.rmtree(elsewhere)


# --- 3. modes --------------------------------------------------------------------------------------


def test_new_files_of_customer_data_are_0600_and_replaced_files_keep_their_mode(seg_env, tmp_path):
    old_umask = os.umask(0o022)
    try:
        assert run("apply", str(EXAMPLE_YAML)).code == 0
        bad = write(tmp_path / "x.csv", SAMPLE_CSV.read_text(encoding="utf-8") + "B1,Bad,,,,,Narnia\n")
        assert run("import", str(bad), "--skip-invalid").code == 0
        assert run("export", VIP, "-o", "audience.csv").code == 0
        assert run("dump", "-o", "segments.yaml").code == 0
        db = os.environ["SEG_DB"]
        reader = sqlite3.connect(db)  # while a connection is open, SQLite's -wal and -shm are there
        try:
            reader.execute("SELECT count(*) FROM customers").fetchone()
            assert run("create", "Gold", "-w", "tier = gold").code == 0
            made = [db, db + "-wal", db + "-shm", "x.csv.rejects.csv", "audience.csv", "segments.yaml"]
            assert {p: oct(stat.S_IMODE(os.stat(p).st_mode)) for p in made} == {p: "0o600" for p in made}
        finally:
            reader.close()
        os.chmod("audience.csv", 0o644)  # a file it replaces keeps its mode
        assert run("export", VIP, "-o", "audience.csv").code == 0
        assert stat.S_IMODE(os.stat("audience.csv").st_mode) == 0o644
    finally:
        os.umask(old_umask)


# --- 4. SIGTERM and SIGHUP act like Ctrl-C --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_before_the_rename_leaves_the_earlier_export_and_no_temporary_file(sample_db, signum):
    target = write(sample_db / "audience.csv", "the earlier audience\n")
    before, before_files = snapshot(), files(sample_db)
    proc = subprocess.Popen(
        [*SEG, "export", VIP, "-o", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "SEG_FAULT": "export:before-rename:stop"},
    )
    wait_until_stopped(proc)  # everything written to the temporary file, nothing renamed or recorded
    assert any(name.endswith(".tmp") for name in files(sample_db))
    proc.send_signal(signum)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert b"interrupted; nothing was changed" in err and b"Traceback" not in err
    assert target.read_text(encoding="utf-8") == "the earlier audience\n"
    assert snapshot() == before and files(sample_db) == before_files


@pytest.mark.slow
def test_a_signal_inside_an_import_from_stdin_removes_the_spool_and_the_writer_marker(sample_db, tmp_path):
    spools = tmp_path / "tmp"
    spools.mkdir()
    more = write(tmp_path / "more.csv", "id,name,tier\nnew-1,New,gold\nC000001,Renamed,silver\n")
    before, before_files = snapshot(), files(sample_db)
    with open(more, "rb") as stdin:
        proc = subprocess.Popen(
            [*SEG, "import", "-", "--format", "csv"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "TMPDIR": str(spools), "SEG_FAULT": "import:before-commit:stop"},
        )
        wait_until_stopped(proc)  # inside the transaction: the spool and DB.writer are there
    assert [p.name.startswith("seg-stdin-") for p in spools.iterdir()] == [True]
    assert os.path.exists(os.environ["SEG_DB"] + ".writer")
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM and b"interrupted; nothing was changed" in err
    assert list(spools.iterdir()) == []
    assert snapshot() == before and files(sample_db) == before_files  # no DB.writer either


@pytest.mark.slow
def test_a_signal_while_stdin_is_being_read_removes_the_partial_spool(sample_db, tmp_path):
    spools = tmp_path / "tmp"
    spools.mkdir()
    before = snapshot()
    proc = subprocess.Popen(
        [*SEG, "import", "-", "--format", "csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(spools)},
    )
    proc.stdin.write(b"id,name\n" + b"".join(b"S%d,Spooled\n" % i for i in range(100_000)))
    proc.stdin.flush()  # ...and stdin stays open: seg is still copying it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.stat().st_size for p in spools.iterdir()):
        time.sleep(0.01)
    assert any(p.stat().st_size for p in spools.iterdir()), "seg never started spooling stdin"
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGHUP and b"interrupted; nothing was changed" in err
    assert list(spools.iterdir()) == []
    assert snapshot() == before


# --- 5 and 6. --db, SEG_DB and the other settings ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--db", "", "import", "{csv}"], {}, "--db"),
        (["--db", ":memory:", "import", "{csv}"], {}, "--db"),
        (["import", "{csv}"], {"SEG_DB": ":memory:"}, "SEG_DB"),
        (["import", "{csv}"], {"SEG_DB": ""}, "SEG_DB"),
        (["--db", "", "count", VIP], {}, "--db"),  # the fast path of `count`
        (["count", VIP], {"SEG_DB": ":memory:"}, "SEG_DB"),
    ],
)
def test_an_empty_or_in_memory_database_is_a_usage_error(seg_env, monkeypatch, args, env, named):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    r = run(*[a.format(csv=SAMPLE_CSV) for a in args])
    assert r.code == 2, r
    assert named in r.err and "Traceback" not in r.err
    assert files(seg_env) == []  # nothing made anywhere


@pytest.mark.parametrize(
    ("variable", "value", "args"),
    [
        ("SEG_BUSY_TIMEOUT", "abc", ["count", VIP]),
        ("SEG_BUSY_TIMEOUT", "", ["list"]),
        ("SEG_BUSY_TIMEOUT", "inf", ["create", "X", "-w", "tier = gold"]),
        ("SEG_BUSY_TIMEOUT", "-1", ["import", "{csv}"]),
        ("SEG_BUSY_TIMEOUT", "nan", ["count", VIP]),
        ("SEG_EXPORT_WAIT", "abc", ["export", VIP, "-o", "a.csv"]),
        ("SEG_EXPORT_WAIT", "-5", ["export", VIP, "-o", "a.csv"]),
        ("SEG_NOW", "2026-01-01T00:00:00+25:00", ["count", VIP]),
        ("SEG_NOW", "9999-12-31T23:00:00-05:00", ["count", VIP]),
        ("SEG_NOW", "0001-01-01T00:00:00+14:00", ["list"]),
        ("SEG_NOW", "", ["list"]),
    ],
)
def test_a_malformed_seg_variable_is_a_usage_error_naming_it(sample_db, variable, value, args):
    before, before_files = snapshot(), files(sample_db)
    # A fresh process: a setting read when seg is imported would break every command.
    r = seg_proc(*[a.format(csv=SAMPLE_CSV) for a in args], env={variable: value})
    assert r.returncode == 2, r.stderr
    assert variable in r.stderr and "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert snapshot() == before and files(sample_db) == before_files


def test_an_out_of_range_now_on_the_command_line_names_the_option(sample_db):
    r = run("--now", "9999-12-31T23:00:00-05:00", "list")
    assert r.code == 2 and "--now" in r.err and "internal error" not in r.err


# --- 7. a database in a read-only folder ----------------------------------------------------------


def _without_override() -> None:
    """In the child, before exec: as root, give up the capabilities that let root ignore file
    permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER), so that a read-only folder is
    read-only for it too. As another user, nothing to do."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def _check_permissions_can_bind() -> None:
    probe = Path(tempfile.mkdtemp())
    try:
        os.chmod(probe, 0o555)
        r = subprocess.run(
            [sys.executable, "-c", f"open({str(probe / 'x')!r}, 'w')"],
            capture_output=True,
            preexec_fn=_without_override,
        )
        if r.returncode == 0:
            pytest.skip("cannot make a folder read-only for this user (root that cannot drop CAP_DAC_OVERRIDE)")
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop root's capabilities here: {exc}")
    finally:
        os.chmod(probe, 0o755)
        shutil.rmtree(probe)


@pytest.mark.parametrize("writer_open", [False, True], ids=["closed", "a writer has it open"])
def test_a_database_in_a_read_only_folder_can_be_read(tmp_path, writer_open):
    _check_permissions_can_bind()
    folder = tmp_path / "shop"
    folder.mkdir()
    db = folder / "shop.db"
    holder = None
    try:
        env = {"SEG_DB": str(db)}
        assert seg_proc("apply", str(EXAMPLE_YAML), env=env).returncode == 0
        assert seg_proc("import", str(SAMPLE_CSV), env=env).returncode == 0
        expected = seg_proc("count", VIP, env=env).stdout
        if writer_open:  # a writer with more rights has the database open, its last commit in the -wal
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("PRAGMA wal_autocheckpoint = 0")
            holder.execute("DELETE FROM customers WHERE language = 'ar' AND id != 'C000001'")
            assert os.path.getsize(str(db) + "-wal") > 0
            expected = "0\n"
            for name in ("shop.db", "shop.db-wal", "shop.db-shm"):  # ours to read, not to write
                os.chmod(folder / name, 0o444)
        os.chmod(folder, 0o555)
        before = files(folder)
        drop = _without_override
        r = seg_proc("count", VIP, env=env, preexec_fn=drop)
        assert (r.returncode, r.stdout) == (0, expected), r.stderr
        for args in (["list"], ["members", VIP, "-c", "id"], ["customers", "show", "C000001"], ["history"]):
            r = seg_proc(*args, env=env, preexec_fn=drop)
            assert r.returncode == 0 and "Traceback" not in r.stderr, (args, r.stderr)
        r = seg_proc("create", "Gold", "-w", "tier = gold", env=env, preexec_fn=drop)
        assert r.returncode == 1 and "read-only" in r.stderr and "Traceback" not in r.stderr
        assert files(folder) == before
    finally:
        if holder is not None:
            holder.close()
        os.chmod(folder, 0o755)


# --- 8. the writer marker --------------------------------------------------------------------------


def test_a_marker_whose_pid_was_reused_names_no_holder(sample_db, monkeypatch):
    monkeypatch.setenv("SEG_BUSY_TIMEOUT", "0.2")
    holder = sqlite3.connect(os.environ["SEG_DB"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    marker = Path(os.environ["SEG_DB"] + ".writer")
    try:
        # The pid runs (it is this test), but not since the marker was written: another process now.
        started = str(int(process_start(os.getpid())) + 1)
        marker.write_text(
            json.dumps(
                {"operation": "import", "pid": os.getpid(), "since": "2026-11-29T02:30:00Z", "started": started}
            ),
            encoding="utf-8",
        )
        r = seg_proc("create", "Blocked", "-w", "tier = gold")
        assert r.returncode == 1 and "locked by another process" in r.stderr
        assert f"pid {os.getpid()}" not in r.stderr and "seg import" not in r.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        marker.unlink()


def test_the_writer_marker_is_never_written_through_a_symlink(sample_db, tmp_path):
    victim = write(tmp_path / "victim.txt", "precious\n")
    marker = Path(os.environ["SEG_DB"] + ".writer")
    os.symlink(victim, marker)
    assert run("create", "Gold", "-w", "tier = gold").code == 0
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not marker.is_symlink() or os.readlink(marker) == str(victim)


# --- 9. the export's lock message ---------------------------------------------------------------


def test_the_export_lock_message_names_the_wait_that_ran_out(sample_db, tmp_path):
    holder = sqlite3.connect(os.environ["SEG_DB"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        r = seg_proc(
            "export", VIP, "-o", str(tmp_path / "a.csv"), env={"SEG_EXPORT_WAIT": "0.2", "SEG_BUSY_TIMEOUT": "30"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.returncode == 1
    assert "waited 0.2 s" in r.stderr and "SEG_EXPORT_WAIT" in r.stderr
    assert "SEG_BUSY_TIMEOUT" not in r.stderr and "30 s" not in r.stderr
    assert not (tmp_path / "a.csv").exists()


# --- 10. exit status 0 means everything succeeded -------------------------------------------------


def test_a_closed_stdout_after_a_committed_import_says_what_was_committed(seg_env):
    r = seg_proc("import", str(SAMPLE_CSV), "--json", preexec_fn=lambda: os.close(1))  # `>&-`
    assert r.returncode == 1
    assert "the import was committed (300 read, 300 created" in r.stderr and "could not be written" in r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert len(snapshot()["customers"]) == 300


def test_a_broken_pipe_after_a_committed_import_says_what_was_committed(seg_env):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before seg writes: `seg import ... --json | true`
    try:
        r = subprocess.run(
            [*SEG, "import", str(SAMPLE_CSV), "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ,
        )
    finally:
        os.close(write_end)
    assert r.returncode == 1
    assert "the import was committed (300 read, 300 created" in r.stderr and "could not be written" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(snapshot()["customers"]) == 300


def _to_a_gone_reader(*args: str) -> subprocess.CompletedProcess:
    """``seg ARGS | head -0``: the reader is gone before seg writes anything."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([*SEG, *args], stdout=write_end, stderr=subprocess.PIPE, text=True, env=os.environ)
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["members", VIP, "--format", "csv"],
        ["members", VIP],
        ["filter", "--where", "tags contains VIP", "--format", "csv"],
        ["show", VIP, "--history"],
        ["count", VIP],
    ],
    ids=["members-csv", "members-table", "filter-csv", "show", "count"],
)
def test_a_reader_that_goes_away_is_one_line_on_stderr_and_exit_1(sample_db, args):
    r = _to_a_gone_reader(*args)
    assert r.returncode == 1, r
    # one line (after the count that `filter` notes first), and no second report at exit
    assert r.stderr.splitlines()[-1] == "seg: error: standard output was closed before everything was written", r
    assert r.stderr.count("\n") == (2 if args[0] == "filter" else 1), r


def test_an_export_to_a_reader_that_goes_away_is_not_recorded_and_says_so(sample_db):
    r = _to_a_gone_reader("export", VIP, "-o", "-")
    assert r.returncode == 1, r
    assert r.stderr.splitlines()[-1] == (
        "seg: error: standard output was closed before every row was written; the export was not recorded"
    ), r
    assert "Traceback" not in r.stderr
    assert json.loads(run("history", "--json").out) == []


def test_a_rejects_file_that_cannot_be_written_at_the_end_says_the_import_was_committed(shop, monkeypatch):
    folder, bad = shop
    replace = os.replace

    def failing_replace(src, dst, *args, **kwargs):
        if str(dst).endswith(".rejects.csv"):
            raise OSError(28, "No space left on device")
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    before_files = files(folder)
    r = run("import", str(bad), "--skip-invalid")
    assert r.code == 1, r
    assert "the import was committed (301 read, 0 created, 0 updated, 300 unchanged, 1 rejected)" in r.err
    assert "rejects file" in r.err and "No space left on device" in r.err and "Traceback" not in r.err
    assert files(folder) == before_files  # no temporary file left


# --- 11. no database file from an import that did not commit --------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["import", "missing.csv"],
        ["import", str(SAMPLE_CSV), "--dry-run"],
        ["import", "{bad}"],  # strict: one invalid row
        ["import", "{bad}", "--skip-invalid", "--dry-run"],
        ["apply", str(EXAMPLE_YAML), "--dry-run"],
    ],
)
def test_an_import_that_commits_nothing_creates_no_database_file(seg_env, args):
    bad = write(seg_env / "bad.csv", "id,name,country\nB1,Bad,Narnia\n")
    r = run(*[a.format(bad=bad) for a in args])
    assert r.code in (0, 1) and "Traceback" not in r.err
    assert files(seg_env) == ["bad.csv"]  # no database, no temporary one, no -wal or -shm


@pytest.mark.slow
def test_an_interrupted_first_import_leaves_no_database_file(seg_env):
    proc = subprocess.Popen(
        [*SEG, "import", str(SAMPLE_CSV)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "SEG_FAULT": "import:before-commit:stop"},
    )
    wait_until_stopped(proc)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert files(seg_env) == []


def test_the_first_import_that_commits_creates_the_database(seg_env):
    assert run("import", str(SAMPLE_CSV)).code == 0
    assert files(seg_env) == ["seg.db"]
    assert len(snapshot()["customers"]) == 300
