"""Settings kept in the database (`seg config`): defaults, checked values, a bad one changes nothing."""

from __future__ import annotations

import json

import pytest
from conftest import run, snapshot

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL


def settings() -> dict:
    r = run("config", "--json")
    assert r.code == 0, r
    return json.loads(r.out)


def test_defaults_are_listed_without_creating_a_database():
    assert settings() == {"timezone": "UTC", "week_start": "monday", "default_region": None, "audience_keep": "30"}
    assert snapshot() == {"exists": False}


def test_set_get_and_unset_a_setting():
    assert run("config", "set", "timezone", "Asia/Muscat").code == 0
    assert run("config", "set", "week_start", "Sunday").code == 0
    assert run("config", "set", "default_region", "Oman").code == 0
    assert settings() == {
        "timezone": "Asia/Muscat",
        "week_start": "sunday",
        "default_region": "OM",
        "audience_keep": "30",
    }
    assert run("config", "get", "timezone").out == "Asia/Muscat\n"
    assert run("config", "unset", "timezone").code == 0
    assert run("config", "get", "timezone").out == "UTC\n"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("week_start", "tuesday", '"tuesday" is not a first day of the week'),
        ("timezone", "Mars/Olympus", '"Mars/Olympus" is not a time zone'),
        ("timezone", "../../etc/passwd", "is not a time zone"),
        ("audience_keep", "0", "is not a number of exports to keep"),
        ("default_region", "Atlantis", "is not a known country"),
        ("colour", "blue", 'unknown setting "colour"'),
    ],
)
def test_a_bad_value_is_a_usage_error_and_changes_nothing(name, value, message):
    assert run("config", "set", "week_start", "saturday").code == 0
    before = snapshot()
    r = run("config", "set", name, value)
    assert r.code == 2 and message in r.err, r
    assert snapshot() == before
    assert settings()["week_start"] == "saturday"
