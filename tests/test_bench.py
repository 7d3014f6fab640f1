"""The benchmark keeps working: a tiny run of bench/run.py (its counts must agree with the floors)."""

from __future__ import annotations

import shutil
import sys

import pytest
from conftest import ROOT


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")
def test_bench_runs_and_counts_agree(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    import run as bench

    result = bench.bench_size(3000, 1, tmp_path)
    assert set(result["count"]) == set(bench.FLOOR_SQL)
    assert all(c["count"] > 0 for c in result["count"].values())
    assert result["export"]["rows"] == result["export"]["floor_rows"] == result["count"]["WhatsApp Opted-In"]["count"]
    assert "| 3,000 | import" in bench.table([result])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")
def test_the_postgresql_bench_runs_and_counts_agree(tmp_path, pg_server):
    """bench/postgres.py against the test server: its counts must agree with psql's and SQLite's,
    and its export must be byte for byte SQLite's."""
    sys.path.insert(0, str(ROOT / "bench"))
    import postgres
    import run as bench

    sqlite = bench.bench_size(3000, 1, tmp_path)
    result = postgres.bench_size(pg_server, 3000, 1, tmp_path, sqlite)
    assert {name: c["count"] for name, c in result["count"].items()} == {
        name: c["count"] for name, c in sqlite["count"].items()
    }
    assert result["export"]["rows"] == result["export"]["copy_rows"] == sqlite["export"]["rows"]
    assert "| 3,000 | import (vs seg's SQLite import" in postgres.table([result])
