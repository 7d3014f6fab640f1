"""Segments as code: `seg apply` and `seg dump` (SPEC §4)."""

from __future__ import annotations

import pytest
from conftest import EXAMPLE_YAML, run, snapshot, write

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL


def test_dump_then_apply_changes_nothing(sample_db, tmp_path):
    dumped = run("dump")
    assert dumped.code == 0 and "VIP Arabic Speakers" in dumped.out
    before = snapshot()
    r = run("apply", "-", stdin=dumped.out)
    assert r.code == 0, r
    assert r.out == "" and "0 changes" in r.err
    assert snapshot() == before
    # and the example file applied again is also a no-op
    r = run("apply", str(EXAMPLE_YAML))
    assert "0 changes" in r.err and snapshot() == before


def test_dump_to_a_file_and_selected_names(sample_db, tmp_path):
    out = tmp_path / "out.yaml"
    assert run("dump", "Gold Tier in Oman", "-o", str(out)).code == 0
    text = out.read_text(encoding="utf-8")
    assert "Gold Tier in Oman" in text and "VIP Arabic" not in text
    assert "tier:" in text and "lifetime_value" not in text  # only the attributes it uses


def test_plan_dry_run_and_prune(sample_db, tmp_path):
    path = write(
        tmp_path / "s.yaml",
        """
segments:
  - name: VIP Arabic Speakers
    where: tags contains VIP and language = en
  - name: Big spenders
    groups:
      - [lifetime_value > 1000, country = OM]
      - [lifetime_value > 5000]
""",
    )
    before = snapshot()
    r = run("apply", str(path), "--prune", "--dry-run")
    assert r.code == 0 and "dry run" in r.err
    assert "~ segment VIP Arabic Speakers: tags contains VIP and language = en" in r.out
    assert "+ segment Big spenders: lifetime_value > 1000 and country = OM or lifetime_value > 5000" in r.out
    assert "- segment Gold Tier in Oman" in r.out
    assert snapshot() == before
    r = run("apply", str(path))  # without --prune nothing is deleted
    assert r.code == 0 and "- segment" not in r.out
    assert run("count", "Gold Tier in Oman").code == 0
    r = run("apply", str(path), "--prune")
    assert "- segment Gold Tier in Oman" in r.out
    assert run("count", "Gold Tier in Oman").code == 1
    assert run("count", "Big spenders").code == 0


INVALID = [
    ("segments:\n  - name: X\n    wehre: tier = gold\n", 'stdin:3: unknown key "wehre" in a segment'),
    ("segments:\n  - name: X\n    where: tier = gold\n    groups: [[tier = gold]]\n", "needs either where or groups"),
    (
        "segments:\n  - name: OK\n    where: country = OM\n  - name: X\n    where: teir = gold\n",
        'stdin:5: segment "X": unknown field "teir"',
    ),
    ("attributes:\n  score: {type: numbr}\n", 'stdin:2: score: unknown type "numbr"'),
    ("attributes:\n  tier: {type: enum}\n", "an enum needs its values"),
    ("colours: [red]\n", 'unknown key "colours"'),
    ("segments:\n  - name: A\n    where: country = OM\n  - name: a\n    where: country = AE\n", "defined twice"),
    ("segments: [\n", "stdin:2"),
    ("!!python/object/apply:os.system ['echo hacked']\n", "is not allowed"),
    ("a: &x [1, 2]\nb: *x\n", "anchors"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[m for _, m in INVALID])
def test_an_invalid_file_changes_nothing(sample_db, text, message):
    before = snapshot()
    r = run("apply", "-", stdin=text)
    assert r.code == 2, r
    assert message in r.err and "Traceback" not in r.err
    assert snapshot() == before


def test_billion_laughs_is_refused_without_expanding():
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    r = run("apply", "-", stdin=bomb)
    assert r.code == 2 and "anchors" in r.err


def test_apply_declares_attributes_then_import_checks_them(tmp_path):
    r = run("apply", str(EXAMPLE_YAML))
    assert r.code == 0 and "+ attribute tier: enum (gold, silver, bronze)" in r.out
    r = run("import", str(write(tmp_path / "a.csv", "id,tier\n1,platinum\n")))
    assert r.code == 1 and "not one of gold, silver, bronze" in r.err


def test_enum_values_may_grow_but_not_drop_values_in_use(sample_db):
    grow = "attributes:\n  tier: {type: enum, values: [gold, silver, bronze, platinum]}\n"
    r = run("apply", "-", stdin=grow)
    assert r.code == 0 and "~ attribute tier" in r.out
    before = snapshot()
    shrink = "attributes:\n  tier: {type: enum, values: [gold, silver]}\n"
    r = run("apply", "-", stdin=shrink)
    assert r.code == 1 and 'still have the value "bronze"' in r.err
    assert snapshot() == before


def test_inferred_text_can_become_an_enum(tmp_path):
    run("import", str(write(tmp_path / "a.csv", "id,tier\n1,GOLD\n2,silver\n")))
    r = run(
        "apply",
        "-",
        stdin="attributes:\n  tier: {type: enum, values: [Gold, Silver]}\nsegments:\n  - name: G\n    where: tier = gold\n",
    )
    assert r.code == 0, r
    assert run("count", "G").out == "1\n"
    assert run("members", "G", "-c", "tier", "-f", "csv").out == "tier\nGold\n"
