"""`seg test FILE` (SPEC §11): fixtures for segment definitions, in a throwaway database."""

from __future__ import annotations

import json
import os

import pytest
from conftest import EXAMPLE_YAML, ROOT, run, snapshot, write

EXAMPLE_TESTS = ROOT / "segments.example.test.yaml"

SELF_CONTAINED = """now: 2026-11-29T12:00:00Z
attributes:
  tier: {type: enum, values: [gold, silver, bronze]}
segments:
  - name: Gold in Oman
    where: tier = gold and country = OM
  - name: Recent
    where: last_interaction within last 2 days
customers:
  - {id: A, tier: GOLD, country: Oman, last_interaction_at: 2026-11-28T12:00:00Z}
  - {id: B, tier: silver, country: OM, last_interaction_at: "2026-11-27T11:59:59Z"}
  - id: C
    country: NO
expect:
  Gold in Oman: [A]
  Recent: [A]
"""


@pytest.mark.both_engines
def test_the_example_fixtures_pass_against_the_example_segments(seg_env):
    assert run("apply", str(EXAMPLE_YAML)).code == 0
    before = snapshot()
    r = run("test", str(EXAMPLE_TESTS))
    assert r.code == 0, r
    assert r.out.count("✓") == 6 and "✗" not in r.out
    assert "6 segments checked: all as expected" in r.err
    assert snapshot() == before  # the database is never changed


@pytest.mark.both_engines
def test_the_fixtures_ignore_the_database_customers(sample_db):
    before = snapshot()
    r = run("test", str(EXAMPLE_TESTS), "--json")
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data["passed"] and data["now"] == "2026-11-29T12:00:00Z"
    assert {s["name"]: s["actual"] for s in data["segments"]} == {
        "VIP Arabic Speakers": ["C1", "C2"],
        "Inactive 30+ Days": ["C2", "C6"],
        "Gold Tier in Oman": ["C3"],
        "WhatsApp Opted-In": ["C1", "C6"],
        "New This Week": ["C3", "C5"],
        "Enterprise Leads": ["C4"],
    }
    assert snapshot() == before


@pytest.mark.both_engines
def test_a_mismatch_is_explained_and_exits_1(seg_env, tmp_path):
    assert run("apply", str(EXAMPLE_YAML)).code == 0
    text = EXAMPLE_TESTS.read_text(encoding="utf-8")
    text = text.replace("Gold Tier in Oman: [C3]", "Gold Tier in Oman: [C3, C4]")
    text = text.replace("New This Week: [C3, C5]", "New This Week: [C3]")
    path = write(tmp_path / "wrong.yaml", text)
    r = run("test", str(path))
    assert r.code == 1, r
    assert "✗ Gold Tier in Oman: expected [C3, C4], got [C3]" in r.out
    assert "C4: expected in the segment, but is not" in r.out
    assert "✗ country = OM" in r.out and "value: AE" in r.out  # seg why's report
    assert "✗ New This Week: expected [C3], got [C3, C5]" in r.out
    assert "C5: in the segment, but not expected" in r.out and "C5 is IN the segment" in r.out
    assert r.out.count("✓ ") >= 4
    assert "2 of 6 segments do not hold what the file expects: Gold Tier in Oman, New This Week" in r.err
    data = json.loads(run("test", str(path), "--json").out)
    [gold] = [s for s in data["segments"] if s["name"] == "Gold Tier in Oman"]
    assert (gold["passed"], gold["missing"], gold["unexpected"]) == (False, ["C4"], [])
    [why] = gold["explanations"]
    assert (why["customer"], why["matched"]) == ("C4", False)
    assert not data["passed"]


def test_a_self_contained_file_needs_no_database(tmp_path, seg_env):
    path = write(tmp_path / "t.yaml", SELF_CONTAINED)
    r = run("test", str(path))
    assert r.code == 0, r
    assert "✓ Gold in Oman: 1 customer as expected" in r.out
    assert not os.path.exists(seg_env / "seg.db")  # nothing was created


@pytest.mark.both_engines
def test_the_file_sections_win_over_the_database(sample_db, tmp_path):
    # The database's "Gold Tier in Oman" is not the file's; the file's attributes hold too.
    path = write(tmp_path / "t.yaml", SELF_CONTAINED.replace("Gold in Oman", "Gold Tier in Oman"))
    r = run("test", str(path))
    assert r.code == 0, r
    wrong = write(tmp_path / "w.yaml", SELF_CONTAINED.replace("Recent: [A]", "Recent: [A, B]"))
    r = run("test", str(wrong), "--json")
    assert r.code == 1
    [recent] = [s for s in json.loads(r.out)["segments"] if s["name"] == "Recent"]
    assert recent["missing"] == ["B"] and recent["explanations"][0]["groups"][0]["matched"] is False


@pytest.mark.parametrize(
    "change, where, message",
    [
        (("  - id: C\n    country: NO\n", "  - id: C\n    country: Narnia\n"), ":12:", "Narnia"),
        (("expect:\n", "expect:\n  Nope: []\n"), ":15:", 'no segment named "Nope"'),
        (("Recent: [A]", "Recent: [A, Z]"), ":16:", '"Z" is not the id of a customer in the file'),
        (("now: 2026-11-29T12:00:00Z\n", "now: yesterday-ish\n"), ":1:", "now:"),
        (("now: 2026-11-29T12:00:00Z\n", "now: 2026-11-29T12:00:00Z\ntimezone: Mars/Olympus\n"), ":2:", "Mars/Olympus"),
        (("now: 2026-11-29T12:00:00Z\n", "now: 2026-11-29T12:00:00Z\ncolour: blue\n"), ":2:", 'unknown key "colour"'),
        (("now: 2026-11-29T12:00:00Z\n", ""), "t.yaml:1:", "needs now:"),
        (("where: tier = gold and", "where: tier = platinum and"), ":6:", "platinum"),
    ],
)
def test_a_wrong_file_is_a_usage_error_at_its_line(tmp_path, seg_env, change, where, message):
    path = write(tmp_path / "t.yaml", SELF_CONTAINED.replace(*change))
    r = run("test", str(path))
    assert r.code == 2, r
    assert where in r.err and message in r.err


@pytest.mark.both_engines
def test_segments_from_a_database_that_does_not_exist(tmp_path, seg_env):
    path = write(tmp_path / "t.yaml", "now: 2026-01-01\ncustomers: []\nexpect:\n  VIP: []\n")
    r = run("test", str(path))
    assert r.code == 2 and "no segments:" in r.err


def test_a_fixture_sets_its_zone_and_week_start(seg_env, tmp_path):
    """SPEC §14: a fixture may carry timezone and week_start; its naive times and calendar days are
    then that zone's, whatever SEG_TZ says (the fixture pins them, as it pins now)."""
    fixture = """now: 2026-11-29T12:00:00Z
timezone: Asia/Muscat
week_start: sunday
segments:
  - name: On the 29th
    where: created_at = 2026-11-29
  - name: This week
    where: created_at during this week
customers:
  - {id: early, created_at: "2026-11-29 01:00:00"}
  - {id: late, created_at: 2026-11-28T22:00:00Z}
  - {id: sat, created_at: 2026-11-28T12:00:00+04:00}
expect:
  On the 29th: [early, late]
  This week: [early, late]
"""
    os.environ["SEG_TZ"] = "Pacific/Pago_Pago"
    try:
        r = run("test", str(write(tmp_path / "zoned.test.yaml", fixture)))
    finally:
        del os.environ["SEG_TZ"]
    assert r.code == 0, r
    r = run("test", str(write(tmp_path / "utc.test.yaml", fixture.replace("timezone: Asia/Muscat\n", ""))))
    assert r.code == 1 and "late" in r.out, r  # in UTC, 22:00 on the 28th is the 28th
