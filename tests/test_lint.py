"""`seg lint` (SPEC §11, §14): one test per kind of finding, a clean file with none, and a
differential test that every "can never match" and "implied by" lint claims is true of the SQL."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from conftest import EXAMPLE_YAML, run, snapshot, write

ATTRIBUTES = """attributes:
  tier: {type: enum, values: [gold, silver, bronze]}
  lifetime_value: {type: number}
  city: {type: text}
  nickname: {type: text}
"""

CUSTOMERS = """id,name,email,tags,country,created_at,tier,lifetime_value,city
A,Ann,ann@x.om,"VIP,lead",OM,2026-11-28,gold,150,Muscat
B,Bob,bob@y.org,lead,AE,2026-01-05,silver,20,Dubai
C,Cat,,,SA,2025-06-01,,,
"""


def lint_file(tmp_path, segments: str, *args: str) -> tuple[int, list[dict], dict]:
    path = write(tmp_path / "lint.yaml", ATTRIBUTES + "segments:\n" + segments)
    r = run("lint", "--file", str(path), "--json", *args)
    assert r.code in (0, 1), r
    data = json.loads(r.out)
    return r.code, data["findings"], data


def only(findings: list[dict], kind: str) -> list[dict]:
    return [f for f in findings if f["kind"] == kind]


@pytest.fixture
def customers(tmp_path):
    assert run("apply", "-", stdin=ATTRIBUTES).code == 0
    assert run("import", str(write(tmp_path / "c.csv", CUSTOMERS))).code == 0


@pytest.mark.parametrize(
    "where, condition",
    [
        ("tier = gold and tier = silver", "tier = silver"),
        ("lifetime_value > 5 and lifetime_value < 3", "lifetime_value < 3"),
        ("city is set and city is not set", "city is not set"),
        ("lifetime_value between 1 and 10 and lifetime_value in (0, 11)", "lifetime_value in (0, 11)"),
        ("tier in (gold, silver) and tier not in (silver, gold)", "tier not in (silver, gold)"),
        ("tier != gold and tier != silver and tier != bronze and tier is set", None),
        ("name starts with ab and name starts with ac", "name starts with ac"),
        ("email = a@b.om and email ends with .org", "email ends with .org"),
        ("name contains abc and name not contains b", "name not contains b"),
        ("name = Ann and name != ANN", "name != ANN"),
        ("tags contains vip and tags not contains any (VIP, lead)", "tags not contains any (VIP, lead)"),
        ("tags contains all (a, b) and tags not contains b", "tags not contains b"),
        ("created_at within last 7 days and created_at older than 30 days", "created_at older than 30 days"),
        ("created_at > 2026-01-01 and created_at before 2025-12-31", "created_at before 2025-12-31"),
        ("created_at = 2026-01-01 and created_at >= 2026-01-02", "created_at >= 2026-01-02"),
        ("opt_out is not set", "marketing_opt_out is not set"),
        ("opt_out = true and opted_out = false", "marketing_opt_out = false"),
    ],
)
def test_a_group_that_can_never_match_is_an_error(tmp_path, where, condition):
    code, findings, data = lint_file(tmp_path, f"  - name: Never\n    where: {where} or country = OM\n")
    [f] = only(findings, "never-matches")
    assert (f["segment"], f["group"], f["severity"]) == ("Never", 1, "error")
    assert f["condition"] == condition and f["reason"].startswith("can never match")
    assert code == 1 and data["errors"] == 1


@pytest.mark.parametrize(
    "where",
    [
        "tier = gold and lifetime_value < 3 and lifetime_value > 1",
        "created_at > 2026-12-01 and created_at within last 7 days",  # true next month: not an error
        "created_at >= 2026-01-01 and created_at <= 2026-01-01",  # the whole day
        "name starts with ab and name ends with ba and name not contains abba",
        "tags not contains all (a, b) and tags contains a",
        "lifetime_value != 1 and lifetime_value in (1, 2)",
    ],
)
def test_groups_that_can_match_are_not_errors(tmp_path, where):
    code, findings, _ = lint_file(tmp_path, f"  - name: Fine\n    where: {where}\n")
    assert code == 0 and not only(findings, "never-matches")


@pytest.mark.parametrize(
    "where, condition, implied_by",
    [
        ("lifetime_value > 100 and lifetime_value > 50", "lifetime_value > 50", "lifetime_value > 100"),
        ("tags contains VIP and tags is set", "tags is set", "tags contains VIP"),
        ("tier = gold and tier in (gold, silver)", "tier in (gold, silver)", "tier = gold"),
        ("name = Annabel and name starts with ann", "name starts with ann", "name = Annabel"),
        ("created_at within last 7 days and created_at within last 30 days", "created_at within last 30 days", None),
        (
            "created_at = 2026-01-01 and created_at between 2026-01-01 and 2026-01-02",
            "created_at between 2026-01-01 and 2026-01-02",
            "created_at = 2026-01-01",
        ),
        ("tags contains all (a, b) and tags contains any (b, c)", "tags contains any (b, c)", None),
        ("city = Muscat and city = muscat", "city = muscat", None),
        ("tier = gold and opt_out is set", "marketing_opt_out is set", None),  # never missing: always true
    ],
)
def test_a_condition_implied_by_another_is_a_warning(tmp_path, where, condition, implied_by):
    code, findings, _ = lint_file(tmp_path, f"  - name: Wordy\n    where: {where}\n")
    [f] = only(findings, "implied-condition")
    assert (f["group"], f["condition"], f["severity"]) == (1, condition, "warning")
    if implied_by:
        assert implied_by in f["reason"]
    assert code == 0


def test_a_group_contained_in_another_is_a_warning(tmp_path):
    where = "country = OM and tier = gold or country = OM or lifetime_value > 10 or lifetime_value > 100 and city = Muscat or country = OM"
    code, findings, _ = lint_file(tmp_path, f"  - name: Wide\n    where: {where}\n")
    found = {(f["group"], f["reason"]) for f in only(findings, "contained-group")}
    assert found == {
        (1, "adds nobody: every customer it matches is also matched by group 2"),
        (4, "adds nobody: every customer it matches is also matched by group 3"),
        (5, "is the same as group 2"),
    }
    assert code == 0 and all(f["severity"] == "warning" for f in findings)


def test_segments_with_equal_filters(tmp_path):
    segments = """  - name: Gulf
    where: country in (OM, AE) and tier = gold or city = Muscat
  - name: Gulf again
    groups:
      - [city = muscat]
      - [tier = gold, "country in (AE, OM)"]
  - name: Not the same
    where: country in (OM, AE) and tier = gold
"""
    code, findings, _ = lint_file(tmp_path, segments)
    [f] = only(findings, "same-filter")
    assert (f["segment"], f["group"], f["severity"]) == ("Gulf again", None, "warning")
    assert f["reason"] == 'has the same filter as "Gulf"'
    assert code == 0


@pytest.mark.both_engines
def test_saved_segments_named_are_compared_with_all(customers):
    run("create", "Gold", "--where", "tier = gold")
    run("create", "Gilded", "--where", "tier = gold")
    r = run("lint", "Gold", "--json")
    [f] = json.loads(r.out)["findings"]
    assert (f["segment"], f["kind"], f["reason"]) == ("Gold", "same-filter", 'has the same filter as "Gilded"')


@pytest.mark.both_engines
def test_a_segment_that_matches_nobody_or_everybody_right_now(customers):
    run("create", "Nobody", "--where", "lifetime_value > 1000")
    run("create", "Everybody", "--where", "id is set")
    run("create", "Some", "--where", "country = OM")
    r = run("lint", "--json")
    assert r.code == 0, r  # warnings only
    findings = json.loads(r.out)["findings"]
    assert [(f["segment"], f["kind"], f["severity"]) for f in findings] == [
        ("Everybody", "matches-everybody", "warning"),
        ("Nobody", "matches-nobody", "warning"),
    ]
    assert "of 3 customers" in findings[1]["reason"]


@pytest.mark.both_engines
def test_a_condition_on_an_attribute_no_customer_has(customers, tmp_path):
    run("create", "Nick", "--where", "country = OM or nickname = bob and city = Muscat")
    findings = json.loads(run("lint", "Nick", "--json").out)["findings"]
    [f] = only(findings, "no-values")
    assert (f["group"], f["condition"], f["severity"]) == (2, "nickname = bob", "warning")
    # and in a file, an attribute the file declares that the database does not have yet
    path = write(
        tmp_path / "new.yaml", "attributes:\n  fresh: {type: number}\nsegments:\n  - name: New\n    where: fresh > 1\n"
    )
    [f] = json.loads(run("lint", "--file", str(path), "--json").out)["findings"]
    assert (f["segment"], f["kind"], f["condition"]) == ("New", "no-values", "fresh > 1")


@pytest.mark.both_engines
def test_a_clean_file_has_no_findings(sample_db):
    before = snapshot()
    r = run("lint", "--file", str(EXAMPLE_YAML))
    assert (r.code, r.out) == (0, ""), r
    assert "6 segments checked: 0 errors, 0 warnings" in r.err
    data = json.loads(run("lint", "--file", str(EXAMPLE_YAML), "--json").out)
    assert data["findings"] == [] and data["data_checked"] and len(data["segments"]) == 6
    assert snapshot() == before  # --file applies nothing
    r = run("lint")
    assert (r.code, r.out) == (0, "") and "0 errors, 0 warnings" in r.err


@pytest.mark.both_engines
def test_lint_without_customers_skips_the_data(tmp_path):
    r = run("lint", "--file", str(EXAMPLE_YAML), "--json")
    assert r.code == 0 and json.loads(r.out)["data_checked"] is False
    assert not (tmp_path / "seg.db").exists()  # no database made
    assert run("lint").code == 1  # saved segments need a database


def test_human_output_and_exit_status(tmp_path):
    path = write(
        tmp_path / "s.yaml", ATTRIBUTES + "segments:\n  - name: Bad\n    where: tier = gold and tier = silver\n"
    )
    r = run("lint", "--file", str(path))
    assert r.code == 1
    assert (
        r.out
        == "error    Bad / group 1 / tier = silver: can never match: tier = gold and tier = silver cannot both hold\n"
    )
    assert "1 error, 0 warnings" in r.err
    bad = write(tmp_path / "bad.yaml", "segments:\n  - name: X\n    where: teir = gold\n")
    r = run("lint", "--file", str(bad))
    assert r.code == 2 and "bad.yaml:3" in r.err and "teir" in r.err


# --- lint's claims against the SQL -----------------------------------------------------------------

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
LETTERS = "abc"
WORDS = [a for a in LETTERS] + [a + b for a in LETTERS for b in LETTERS]
STRINGS = WORDS + [a + b + c for a in LETTERS for b in LETTERS for c in LETTERS] + ["AB", "Ca"]
NUMBERS = [-1, 0, 0.5, 1, 2, 3, 4.5, 5, 5.5, 10, 10.5, 11]
DAYS = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
ELEMENTS = ["a", "b", "c", "d"]


def _instants() -> list[str]:
    out = []
    for day in DAYS:
        start = datetime.fromisoformat(day + "T00:00:00+00:00")
        out += [start - timedelta(seconds=1), start, start + timedelta(seconds=1), start + timedelta(hours=12)]
    for days in (1, 7, 8):
        mark = NOW - timedelta(days=days)
        out += [mark - timedelta(seconds=1), mark, mark + timedelta(seconds=1)]
    out.append(NOW)
    return [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in out]


INSTANTS = _instants()


def _population() -> list[dict]:
    subsets = [[e for i, e in enumerate(ELEMENTS) if mask >> i & 1] for mask in range(16)]
    columns = {
        "lifetime_value": [None, *NUMBERS],
        "city": [None, *STRINGS],
        "tags": subsets,
        "tier": [None, "gold", "silver", "bronze"],
        "created_at": [None, *INSTANTS],
    }
    size = max(len(v) for v in columns.values())
    return [{"id": f"c{i}", **{k: v[i % len(v)] for k, v in columns.items()}} for i in range(size)]


def _condition(rng: random.Random) -> tuple[str, str]:
    field = rng.choice(["lifetime_value", "city", "tags", "tier", "created_at"])
    pick = {
        "lifetime_value": lambda: rng.choice([0, 1, 3, 5, 10]),
        "city": lambda: rng.choice([*WORDS, "AB"]),
        "tags": lambda: rng.choice(ELEMENTS),
        "tier": lambda: rng.choice(["gold", "silver", "bronze"]),
        "created_at": lambda: rng.choice(DAYS + INSTANTS[::3]),
    }[field]
    two = sorted([pick(), pick()]) if field != "tags" else [pick(), pick()]
    ops = {
        "lifetime_value": [
            "= {}",
            "!= {}",
            "in ({}, {})",
            "not in ({}, {})",
            "> {}",
            ">= {}",
            "< {}",
            "<= {}",
            "between {} and {}",
        ],
        "city": [
            "= {}",
            "!= {}",
            "in ({}, {})",
            "not in ({}, {})",
            "contains {}",
            "not contains {}",
            "starts with {}",
            "ends with {}",
        ],
        "tags": [
            "contains {}",
            "not contains {}",
            "contains any ({}, {})",
            "not contains any ({}, {})",
            "contains all ({}, {})",
            "not contains all ({}, {})",
        ],
        "tier": ["= {}", "!= {}", "in ({}, {})", "not in ({}, {})"],
        "created_at": [
            "= {}",
            "!= {}",
            "> {}",
            ">= {}",
            "< {}",
            "<= {}",
            "between {} and {}",
            "before {}",
            "after {}",
            "within last {n} days",
            "older than {n} days",
        ],
    }[field] + ["is set", "is not set"]
    op = rng.choice(ops)
    return field, f"{field} {op.format(*two, n=rng.choice([1, 7, 8]))}"


def test_what_lint_claims_is_true_of_the_sql(tmp_path):
    """Lint's reasoning is checked against seg's own SQL on customers at every edge the conditions
    use: a group lint says can never match has no members, and where it says ``a`` implies ``b``,
    ``a and b`` has the members of ``a``. (It cannot check what lint leaves unsaid.)"""
    import segcli
    from segcli.model import Filter, Group
    from segcli.satisfiable import literal, satisfiable

    db = segcli.open(tmp_path / "p.db", now=NOW)
    db.apply(ATTRIBUTES)
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in _population()) + "\n", encoding="utf-8")
    db.import_file(str(path))
    registry = db.registry()
    rng = random.Random(14)
    claims = {"never": 0, "implies": 0}
    for _ in range(1500):
        field, first = _condition(rng)
        texts = [first] + [_condition_on(rng, field) for _ in range(rng.randint(1, 2))]
        group = db.parse(" and ".join(texts)).groups[0]
        f = registry.get(field)
        if satisfiable(f, [literal(c) for c in group.conditions]) is False:
            claims["never"] += 1
            assert db.count_filter(Filter((group,))) == 0, group.to_text()
        for a in group.conditions:
            for b in group.conditions:
                if a is b or satisfiable(f, [literal(a), literal(b, negate=True)]) is not False:
                    continue
                claims["implies"] += 1
                both = db.count_filter(Filter((Group((a, b)),)))
                assert both == db.count_filter(Filter((Group((a,)),))), f"{a.to_text()} => {b.to_text()}"
    assert claims["never"] > 100 and claims["implies"] > 100, claims  # the claims were put to the test
    db.close()


def _condition_on(rng: random.Random, field: str) -> str:
    while True:
        f, text = _condition(rng)
        if f == field:
            return text
