"""`seg dump` is diff-friendly (SPEC §11), and a YAML group that YAML split at its commas says so."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import EXAMPLE_YAML, run, snapshot, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segcli


@pytest.mark.both_engines
def test_dump_is_block_style_in_name_order(sample_db):
    run("create", "Alpha", "--where", "tier in (gold, silver) and lifetime_value > 100")
    text = run("dump").out
    # no flow style, one value a line; only an empty section is written as [] (no profiles here)
    assert "{" not in text and [line for line in text.splitlines() if "[" in line] == ["profiles: []", "audiences: []"]
    assert "  tier:\n    type: enum\n    values:\n      - gold\n      - silver\n      - bronze\n" in text
    names = re.findall(r"^  - name: (.*)$", text, re.M)
    assert names == sorted(names, key=str.casefold) and names[0] == "Alpha"
    attributes = list(yaml.safe_load(text)["attributes"])
    assert attributes == sorted(attributes)
    assert "  - name: Alpha\n    where: tier in (gold, silver) and lifetime_value > 100\n" in text


def _every_section(text: str) -> dict:
    doc = yaml.safe_load(text)
    assert list(doc) == ["attributes", "profiles", "segments", "audiences"], text
    return doc


def test_dump_writes_every_section_even_empty_and_reads_back_unchanged(tmp_path, seg_env):
    """SPEC §14: seg dump writes every section; empty ones as empty lists or maps, so that
    seg dump | seg apply --prune - on the same database changes nothing."""
    assert run("import", str(write(tmp_path / "c.csv", "id,name\na,Ann\n"))).code == 0
    dumped = run("dump")
    assert dumped.code == 0 and _every_section(dumped.out) == {
        "attributes": {},
        "profiles": [],
        "segments": [],
        "audiences": [],
    }, dumped
    assert run("create", "Ann", "--where", "name = Ann").code == 0
    doc = _every_section(run("dump").out)
    assert [s["name"] for s in doc["segments"]] == ["Ann"] and doc["audiences"] == doc["profiles"] == []
    assert run("audience", "create", "Everyone", "--segment", "Ann").code == 0
    assert run("apply", "-", stdin="profiles:\n  - name: inbox\n    columns: {phone: Mobile}\n").code == 0
    assert run("attributes", "define", "tier", "--type", "enum", "--values", "gold,silver").code == 0
    for prune in ([], ["--prune"]):
        text = run("dump").out
        doc = _every_section(text)
        assert (list(doc["attributes"]), len(doc["profiles"]), len(doc["audiences"])) == (["tier"], 1, 1)
        before = snapshot()
        r = run("apply", *prune, "-", stdin=text)
        assert r.code == 0 and r.out == "" and "0 changes" in r.err, (prune, r)
        assert snapshot() == before
    # a dump of named segments stays those and what they use
    assert list(yaml.safe_load(run("dump", "Ann").out)) == ["segments"]


def test_the_same_definitions_dump_the_same_whatever_their_history(tmp_path):
    first = segcli.open(tmp_path / "a.db")
    first.apply(EXAMPLE_YAML.read_text(encoding="utf-8"))
    second = segcli.open(tmp_path / "b.db")
    doc = yaml.safe_load(EXAMPLE_YAML.read_text(encoding="utf-8"))
    reordered = {
        "attributes": dict(reversed(list(doc["attributes"].items()))),
        "segments": list(reversed(doc["segments"])),
    }
    second.apply(yaml.safe_dump(reordered))
    second.segments.edit("Gold Tier in Oman", where="country = OM")  # and back again
    second.segments.edit("Gold Tier in Oman", where="tier = gold and country = OM")
    assert first.dump() == second.dump()
    assert first.dump(["VIP Arabic Speakers", "Gold Tier in Oman"]) == second.dump(
        ["Gold Tier in Oman", "vip arabic speakers", "VIP Arabic Speakers"]
    )
    first.close()
    second.close()


WORDS = st.text(alphabet="abcxyzé ,:#-", min_size=1, max_size=30).filter(lambda s: s.strip() != "")
CONDITIONS = st.one_of(
    WORDS.map(lambda w: f'name = "{w}"'),
    st.lists(WORDS, min_size=1, max_size=4).map(lambda ws: "city in (" + ", ".join(f'"{w}"' for w in ws) + ")"),
    st.integers(-(10**9), 10**9).map(lambda n: f"lifetime_value > {n}"),
    st.sampled_from(["tags contains VIP", "created_at within last 30 days", "country = OM", "tier is not set"]),
)
FILTERS = st.lists(st.lists(CONDITIONS, min_size=1, max_size=6), min_size=1, max_size=8).map(
    lambda groups: " or ".join(" and ".join(g) for g in groups)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=st.lists(FILTERS, min_size=1, max_size=4))
def test_long_filters_are_never_wrapped_and_read_back(tmp_path_factory, filters):
    path = tmp_path_factory.mktemp("dump") / "seg.db"
    db = segcli.open(path)
    db.apply(EXAMPLE_YAML.read_text(encoding="utf-8"))
    for i, where in enumerate(filters):
        db.segments.create(f"Long {i}", where)
    text = db.dump()
    lines = text.splitlines()
    wheres = [line for line in lines if line.startswith("    where: ")]
    assert len(wheres) == 6 + len(filters)  # each filter is one line, whatever its length
    for i in range(len(filters)):
        saved = db.segments.get(f"Long {i}").where
        # the line alone reads back as the whole filter: nothing of it is on another line
        assert any(yaml.safe_load(line.strip()) == {"where": saved} for line in wheres)
    assert all(not line.startswith("     ") or line.lstrip().startswith("- ") for line in lines)
    assert db.dump() == text  # stable
    plan = db.apply(text)
    assert plan.changes == [] and plan.unchanged == len(yaml.safe_load(text)["segments"]) + 7
    db.close()


@pytest.mark.both_engines
def test_a_group_split_at_its_commas_says_so(tmp_path, seg_env):
    assert run("apply", str(EXAMPLE_YAML)).code == 0
    before = snapshot()
    path = write(
        tmp_path / "s.yaml",
        "segments:\n  - name: Gulf spenders\n    groups:\n      - [country in (OM, AE), lifetime_value > 100]\n",
    )
    r = run("apply", str(path))
    assert r.code == 2 and snapshot() == before
    assert f"{path}:4:" in r.err
    assert 'YAML split the condition "country in (OM, AE)" at its commas' in r.err
    assert '- ["country in (OM, AE)", lifetime_value > 100]' in r.err
    # the form it shows is the fix
    fixed = write(tmp_path / "fixed.yaml", path.read_text().replace("[country in (OM, AE),", '["country in (OM, AE)",'))
    r = run("apply", str(fixed))
    assert r.code == 0 and "+ segment Gulf spenders: country in (OM, AE) and lifetime_value > 100" in r.out


@pytest.mark.both_engines
def test_a_quoted_value_split_at_its_comma_says_so(tmp_path, seg_env):
    path = write(
        tmp_path / "s.yaml", 'segments:\n  - name: Odd\n    groups:\n      - [name = "Ali, Sara", country = OM]\n'
    )
    r = run("apply", str(path))
    assert r.code == 2
    assert 'YAML split the condition "name = "Ali, Sara"" at its commas' in r.err
    assert """- ['name = "Ali, Sara"', country = OM]""" in r.err
    # lint --file and test read groups the same way
    assert "YAML split" in run("lint", "--file", str(path)).err
