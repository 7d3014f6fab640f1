"""Profiles as YAML (SPEC §8, §14): a standalone profile file for --profile, a profiles: section
of a segments file saved by seg apply, listed by seg profiles, written by seg dump."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLE_YAML, run, snapshot, write

import segcli

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL

PROFILE_ITEM = """\
profiles:
  - name: inbox
    key: phone
    dayfirst: true
    default_region: OM
    columns:
      name: [First, Last]
      phone: Mobile
      language: {column: Lang, values: {"عربي": ar, Klingon: en}}
      marketing_opt_out: {column: Consent, invert: true}
      last_interaction_at: {column: Seen, format: epoch}
    skip: [Agent]
"""
ROWS = "First,Last,Mobile,Lang,Consent,Seen,Agent\nمريم,البلوشية,9123 4567,عربي,yes,1793842797000,Huda\nJo,,+96891234568,Klingon,,,\n"


def test_a_saved_profile_is_used_by_name(tmp_path):
    r = run("apply", "-", stdin=PROFILE_ITEM)
    assert r.code == 0 and "+ profile inbox" in r.out
    listed = run("profiles").out
    assert "inbox\tsaved\tphone" in listed and "shopify\tbuilt-in" in listed
    r = run("import", str(write(tmp_path / "a.csv", ROWS)), "--profile", "INBOX")
    assert r.code == 0, r
    c = segcli.open().customer("+96891234567")
    assert (c["name"], c["language"], c["marketing_opt_out"]) == ("مريم البلوشية", "ar", False)
    assert c["last_interaction_at"] == "2026-11-05T01:39:57Z"  # epoch milliseconds
    jo = segcli.open().customer("+96891234568")
    assert (jo["language"], jo["marketing_opt_out"]) == ("en", True)  # values map; an empty opt-in: no consent
    assert "Agent" not in json.dumps(jo)


def test_apply_dump_round_trip_and_prune_within_sections(tmp_path):
    assert run("apply", str(EXAMPLE_YAML)).code == 0
    assert run("apply", "-", stdin=PROFILE_ITEM).code == 0  # no segments section: no segment is pruned
    assert run("apply", "-", "--prune", stdin=PROFILE_ITEM).code == 0
    assert run("count", "Gold Tier in Oman").code == 0
    dumped = run("dump").out
    assert "profiles:" in dumped and "name: inbox" in dumped
    before = snapshot()
    r = run("apply", "-", stdin=dumped)
    assert r.code == 0 and "0 changes" in r.err, r
    assert snapshot() == before
    r = run("apply", "-", "--prune", stdin="profiles: []\n")
    assert "- profile inbox" in r.out and run("count", "Gold Tier in Oman").code == 0
    assert "inbox" not in run("profiles").out
    r = run("apply", "-", stdin=PROFILE_ITEM.replace("key: phone", "key: email"))
    assert "+ profile inbox" in r.out
    r = run("apply", "-", stdin=PROFILE_ITEM)
    assert "~ profile inbox" in r.out


def test_a_standalone_profile_file(tmp_path):
    body = PROFILE_ITEM.split("  - name: inbox\n", 1)[1]
    text = "profile: inbox\n" + "".join(line[4:] + "\n" for line in body.splitlines())
    profile = write(tmp_path / "inbox.yaml", text)
    r = run("import", str(write(tmp_path / "a.csv", ROWS)), "--profile", str(profile), "--dry-run")
    assert r.code == 0, r
    assert "(profile inbox, customers matched by phone)" in r.out and "Agent" in r.out and "-> skipped" in r.out
    shown = run("profiles", "show", str(profile)).out
    assert shown.startswith("profile: inbox") and "invert: true" in shown
    assert run("apply", str(profile)).code == 0 and "inbox" in run("profiles").out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profiles:\n  - name: x\n    columns: {phone: {colum: Phone}}\n", 'stdin:3: phone: unknown key "colum"'),
        ("profiles:\n  - name: x\n    key: nickname\n", 'key: "nickname" is not one of id, phone, email'),
        ("profiles:\n  - name: x\n    timezone: Mars/Olympus\n", "is not a time zone"),
        ("profiles:\n  - name: x\n    dayfirst: maybe\n", "dayfirst is true or false"),
        ("profiles:\n  - name: x\n    default_region: Atlantis\n", "is not a known country"),
        ("profiles:\n  - name: shopify\n", '"shopify" is a built-in profile'),
        ("profiles:\n  - name: x\n  - name: X\n", 'the profile "X" is defined twice'),
        ("profiles:\n  - name: x\n    columns: {created_at: {column: C, format: dd-mm}}\n", "format is"),
        ("profiles:\n  - nam: x\n", 'unknown key "nam"'),
    ],
)
def test_a_bad_profile_is_refused_with_its_line(text, message):
    before = snapshot()
    r = run("apply", "-", stdin=text)
    assert r.code == 2 and message in r.err, r
    assert snapshot() == before


def test_an_unknown_profile_is_a_usage_error(tmp_path):
    r = run("import", str(write(tmp_path / "a.csv", "id\n1\n")), "--profile", "shopfy")
    assert r.code == 2 and 'no profile named "shopfy"' in r.err and "shopify" in r.err
    r = run("import", str(tmp_path / "a.csv"), "--profile", str(tmp_path / "missing.yaml"))
    assert r.code == 1 and "no such profile file" in r.err
    r = run("profiles", "show", "chatwoot")
    assert r.code == 0 and "custom_attributes" in r.out and "phone: phone_number" in r.out
