"""`seg count` skips Typer for its plain forms; it must behave exactly like the full CLI."""

from __future__ import annotations

import pytest
from conftest import run
from typer.testing import CliRunner

from segcli.cli.app import app
from segcli.cli.options import parse as parse_count


@pytest.mark.parametrize(
    "argv",
    [
        ["count", "VIP Arabic Speakers"],
        ["count", "VIP Arabic Speakers", "Gold Tier in Oman", "--exclude", "Inactive 30+ Days"],
        ["count", "VIP Arabic Speakers", "-x", "Gold Tier in Oman", "--json"],
        ["--now", "2026-12-20T00:00:00Z", "count", "New This Week"],
        ["count", "No such segment"],
        ["--now", "not a date", "count", "New This Week"],
        ["list"],
        ["list", "--json"],
        ["--now", "2026-12-20T00:00:00Z", "list", "--json"],
    ],
)
def test_fast_path_matches_the_full_cli(sample_db, argv):
    assert parse_count(argv) is not None
    fast = run(*argv)
    full = CliRunner().invoke(app, argv, catch_exceptions=True)
    if full.exception is not None and not isinstance(full.exception, SystemExit):
        from segcli.errors import SegError

        assert isinstance(full.exception, SegError)
        assert fast.code == full.exception.exit_code
        assert full.exception.message in fast.err
    else:
        assert (fast.code, fast.out) == (full.exit_code, full.stdout)


@pytest.mark.parametrize(
    "argv",
    [
        ["count"],
        ["count", "--help"],
        ["count", "X", "--limit", "3"],
        ["--db"],
        ["list", "VIP"],
        ["list", "--limit", "3"],
        ["-h"],
        ["count", "X", "--exclude"],
    ],
)
def test_anything_else_goes_to_the_full_cli(argv):
    assert parse_count(argv) is None


def test_count_help_still_works():
    r = run("count", "--help")
    assert r.code == 0 and "--exclude" in r.out
