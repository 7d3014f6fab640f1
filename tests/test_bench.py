"""The benchmark keeps working: a tiny run of bench/run.py (its counts must agree with the floors)."""

from __future__ import annotations

import shutil
import sys

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def sqlite_bench(tmp_path_factory):
    """A tiny run of bench/run.py's SQLite measures, shared by the tests below: made once per
    session even when pytest-xdist runs them in two workers (the first makes it, under a lock in
    the folder the workers share; the other reads its results)."""
    import fcntl
    import json

    sys.path.insert(0, str(ROOT / "bench"))
    import run as bench

    bench.audiences.LISTED = 8  # a tiny run: the six examples and two more
    shared = tmp_path_factory.getbasetemp().parent / "bench-shared"
    shared.mkdir(exist_ok=True)
    made = shared / "results.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            made.write_text(json.dumps(bench.bench_size(3000, 1, shared)), encoding="utf-8")
        result = json.loads(made.read_text(encoding="utf-8"))
    return bench, shared, result


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")
def test_bench_runs_and_counts_agree(sqlite_bench):
    bench, _, result = sqlite_bench
    assert set(result["count"]) == set(bench.FLOOR_SQL)
    assert all(c["count"] > 0 for c in result["count"].values())
    assert result["export"]["rows"] == result["export"]["floor_rows"] == result["count"]["WhatsApp Opted-In"]["count"]
    assert "| 3,000 | import" in bench.table([result])
    zoned = result["zones"]  # calendar dates in a zone (bench/zones.py), beside within last 7 days
    assert zoned["New This Week"]["count"] == result["count"]["New This Week"]["count"]
    assert zoned["Bench since 7 days ago"]["count"] > 0 and zoned["Bench during this week"]["count"] > 0
    assert "count `created_at >= 7 days ago` in Asia/Muscat" in bench.table([result])
    listing = result["audiences"]
    listed = 8 + 3  # and the three zoned segments bench/zones.py saved before
    assert (
        listing["segments"] == listed and listing["export"]["members"] > 0 and listing["export"]["membership_bytes"] > 0
    )
    assert f"| 3,000 | seg list, {listed} segments" in bench.table([result])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")
def test_the_postgresql_bench_runs_and_counts_agree(sqlite_bench, pg_server):
    """bench/postgres.py against the test server: its counts must agree with psql's and SQLite's,
    and its export must be byte for byte SQLite's (the bench checks both, or fails)."""
    import postgres

    _, out, sqlite = sqlite_bench
    result = postgres.bench_size(pg_server, 3000, 1, out, sqlite)
    assert {name: c["count"] for name, c in result["count"].items()} == {
        name: c["count"] for name, c in sqlite["count"].items()
    }
    assert result["export"]["rows"] == result["export"]["copy_rows"] == sqlite["export"]["rows"]
    assert "| 3,000 | import (vs seg's SQLite import" in postgres.table([result])
