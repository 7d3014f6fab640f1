"""The differential test: random customers and random filters; the members that seg's SQL finds
must be exactly those that a plain-Python reading of SPEC §3 finds.

The Python side (``holds``) is written from the SPEC, not from the compiler: it compares datetimes,
not stored strings, and folds text by Unicode's NFKC_Casefold, written here from its definition
(``nfkc_casefold``): case, NFC/NFD, full-width forms and zero-width characters do not matter. The
customers are imported through the real importer, in the spellings real files use (names, codes,
BCP 47 tags, offsets, numbers as strings), and their expected stored values are worked out here.
"""

from __future__ import annotations

import io
import json
import random
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segcli
from segcli.model import Condition, Filter, Group
from segcli.parse import parse_filter

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
EXAMPLES = 1500  # each example checks FILTERS_PER_EXAMPLE filters against its customers
#: On PostgreSQL an example costs server round trips: fewer examples (the suite's time), the same filters.
POSTGRES_EXAMPLES = 200
FILTERS_PER_EXAMPLE = 4

# --- the population -----------------------------------------------------------------------------

LANGUAGES = [
    ("ar", "ar"),
    ("Arabic", "ar"),
    ("AR", "ar"),
    ("ar-OM", "ar"),
    ("en", "en"),
    ("English", "en"),
    ("en-GB", "en"),
    ("hi", "hi"),
]
COUNTRIES = [("OM", "OM"), ("omn", "OM"), ("Oman", "OM"), ("AE", "AE"), ("United Arab Emirates", "AE"), ("sa", "SA")]
PLATFORMS = [("whatsapp", "whatsapp"), ("WhatsApp", "whatsapp"), ("Instagram", "instagram"), ("webchat", "webchat")]
TIERS = [("gold", "Gold"), ("GOLD", "Gold"), ("Silver", "silver"), ("bronze", "bronze")]
WORDS = [
    "Ann",
    "ann",
    "ÉLITE",
    "élite",
    "Straße",
    "محمد",
    "Al Harthy",
    "50%_off",
    "x_y",
    "O'Brien",
    "İstanbul",
    "ß",
    "E\u0301lite",
    "Ａｎｎ",
    "A\u200dnn",
]
TAGS = ["VIP", "vip", "lead", "Lead", "leader", "b2b", "عميل", "Élite", "élite", "e\u0301lite", "ＶＩＰ", "v\u200cip"]


def nfkc_casefold(text: str) -> str:
    """NFKC_Casefold for the text of these tests (no U+0345 in it): NFKD, case fold, drop the
    default-ignorable characters they hold, NFKC."""
    folded = unicodedata.normalize("NFKD", text).casefold()
    return unicodedata.normalize("NFKC", folded.replace("\u200d", "").replace("\u200c", ""))


OFFSETS = [UTC, timezone(timedelta(hours=4)), timezone(timedelta(hours=-5, minutes=-30)), None]
DAY_MARKS = [0, 1, 7, 30, 31]


def near_marks(rng) -> datetime:
    """An instant near the edges the filters use: now - N days, and midnights."""
    secs = rng.choice([-86400, -3600, -2, -1, 0, 1, 2, 3600, -43200])
    return NOW - timedelta(days=rng.choice(DAY_MARKS)) + timedelta(seconds=secs)


def raw_date(rng) -> tuple[object, datetime | None]:
    """A date as a file holds it, and the UTC instant seg must store."""
    if rng.random() < 0.25:
        return None, None
    when = near_marks(rng)
    style = rng.choice(["offset", "date", "z"])
    if style == "date":
        day = when.date()
        return day.isoformat(), datetime(day.year, day.month, day.day, tzinfo=UTC)
    if style == "z":
        return when.strftime("%Y-%m-%dT%H:%M:%SZ"), when
    tz = rng.choice(OFFSETS)
    if tz is None:
        return when.replace(tzinfo=None).isoformat(), when  # no offset means UTC
    return when.astimezone(tz).isoformat(), when


def maybe(rng, pool):
    return None if rng.random() < 0.25 else rng.choice(pool)


def spelled(rng, pairs):
    return (None, None) if rng.random() < 0.25 else rng.choice(pairs)


def a_customer(rng, n: int) -> tuple[dict, dict]:
    """(the JSON object imported, the values seg must hold for it).

    Customers come from a Random seeded by hypothesis: far cheaper than drawing every
    field through strategies, which made this test ten times slower."""
    name = maybe(rng, WORDS)
    padded = f"  {name} " if name and rng.random() < 0.5 else name
    email = maybe(rng, ["ann@example.com", "ANN@Example.OM", "x_y@mail.com", "50%_off@shop.ae"])
    lang_raw, lang = spelled(rng, LANGUAGES)
    country_raw, country = spelled(rng, COUNTRIES)
    platform_raw, platform = spelled(rng, PLATFORMS)
    tier_raw, tier = spelled(rng, TIERS)
    created_raw, created = raw_date(rng)
    last_raw, last = raw_date(rng)
    joined_raw, joined = raw_date(rng)
    tags = [rng.choice(TAGS) for _ in range(rng.randint(0, 4))]
    kept: list[str] = []
    for t in tags:  # duplicates that differ only in case (or spelling) collapse to the first one
        if nfkc_casefold(t) not in {nfkc_casefold(k) for k in kept}:
            kept.append(t)
    langs = [rng.choice(["ar", "EN", "fr"]) for _ in range(rng.randint(0, 3))]
    number = maybe(rng, [-20, -3, 0, 1, 9, 10, 11, 20, 9.5, -0.5, 10.0, 1e3])
    as_string = rng.random() < 0.5
    opt = rng.choice([None, True, False, "yes", "no", "1", "0"])
    vip = rng.choice([None, True, False, "yes", "n"])
    note = maybe(rng, WORDS)
    obj = {
        "id": f"c{n}",
        "name": padded,
        "email": email,
        "language": lang_raw,
        "country": country_raw,
        "platform": platform_raw,
        "tags": tags,
        "created_at": created_raw,
        "last_interaction_at": last_raw,
        "marketing_opt_out": opt,
        "attributes": {
            "tier": tier_raw,
            "ltv": (str(number) if as_string and number is not None else number),
            "vip": vip,
            "joined": joined_raw,
            "note": note,
            "langs": langs,
        },
    }
    truthy = {True: True, "yes": True, "1": True, False: False, "no": False, "0": False, "n": False, None: None}
    expected = {
        "id": f"c{n}",
        "name": name.strip() if name else None,
        "email": email,
        "phone": None,
        "language": lang,
        "country": country,
        "platform": platform,
        "tags": kept,
        "created_at": created,
        "last_interaction_at": last,
        "marketing_opt_out": truthy[opt] or False,
        "tier": tier,
        "ltv": number,
        "vip": truthy[vip],
        "joined": joined,
        "note": note,
        "langs": list(dict.fromkeys(nfkc_casefold(x) for x in langs)),
    }
    return obj, expected


def population(rng) -> list[tuple[dict, dict]]:
    return [a_customer(rng, i) for i in range(rng.randint(0, 14))]


# --- the filters --------------------------------------------------------------------------------

TEXT_FIELDS = ["name", "email", "note", "phone", "id"]
DATE_FIELDS = ["created_at", "last_interaction_at", "joined"]


@st.composite
def date_literal(draw) -> str:
    when = (
        NOW
        - timedelta(days=draw(st.sampled_from(DAY_MARKS)))
        + timedelta(seconds=draw(st.sampled_from([-86400, -3600, -2, -1, 0, 1, 2, 3600, -43200])))
    )
    if draw(st.booleans()):
        return when.date().isoformat()
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def a_condition(draw) -> Condition:
    kind = draw(st.sampled_from(["text", "number", "boolean", "date", "enum", "list", "code"]))
    negated = draw(st.booleans())
    if kind == "text":
        f = draw(st.sampled_from(TEXT_FIELDS))
        op = draw(st.sampled_from(["eq", "in", "contains", "starts_with", "ends_with", "set"]))
        pool = [*WORDS, "ann@", ".om", "x_", "%", "c1", "C1", "example"]
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        if op != "in":
            values = values[:1]
        if op == "set":
            values = []
        if op not in ("eq", "in", "contains", "set"):
            negated = False
        return Condition(f, op, tuple(values), negated)
    if kind == "number":
        op = draw(st.sampled_from(["eq", "in", "gt", "ge", "lt", "le", "between", "set"]))
        nums = st.sampled_from([-20, -0.5, 0, 9.5, 10, 20, 1000])
        values = {
            "set": (),
            "between": tuple(sorted(draw(st.lists(nums, min_size=2, max_size=2)))),
            "in": tuple(draw(st.lists(nums, min_size=1, max_size=3, unique=True))),
        }.get(op, (draw(nums),))
        return Condition("ltv", op, values, negated and op in ("eq", "in", "set"))
    if kind == "boolean":
        f = draw(st.sampled_from(["vip", "marketing_opt_out"]))
        op = draw(st.sampled_from(["eq", "set"]))
        return Condition(f, op, (draw(st.booleans()),) if op == "eq" else (), negated)
    if kind == "date":
        f = draw(st.sampled_from(DATE_FIELDS))
        op = draw(
            st.sampled_from(["eq", "gt", "ge", "lt", "le", "between", "before", "after", "within", "older", "set"])
        )
        if op in ("within", "older"):
            seconds = draw(st.sampled_from([1, 7, 30])) * 86400
            return Condition(f, op, (), False, seconds)
        if op == "set":
            return Condition(f, op, (), negated)
        if op == "between":
            a, b = sorted(
                (draw(date_literal()), draw(date_literal())), key=lambda v: v if len(v) > 10 else v + "T00:00:00Z"
            )
            return Condition(f, op, (a, b), False)
        return Condition(f, op, (draw(date_literal()),), negated and op == "eq")
    if kind == "enum":
        op = draw(st.sampled_from(["eq", "in", "set"]))
        vals = tuple(draw(st.lists(st.sampled_from(["Gold", "silver", "bronze"]), min_size=1, max_size=2, unique=True)))
        return Condition("tier", op, () if op == "set" else (vals if op == "in" else vals[:1]), negated)
    if kind == "code":
        f, pool = draw(
            st.sampled_from(
                [
                    ("language", ["ar", "en", "hi", "fr"]),
                    ("country", ["OM", "AE", "SA"]),
                    ("platform", ["whatsapp", "instagram", "webchat"]),
                ]
            )
        )
        op = draw(st.sampled_from(["eq", "in"]))
        vals = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True)))
        return Condition(f, op, vals if op == "in" else vals[:1], negated)
    f = draw(st.sampled_from(["tags", "langs"]))
    op = draw(st.sampled_from(["contains", "contains_any", "contains_all", "set"]))
    pool = [*TAGS, "nope"] if f == "tags" else ["AR", "en", "fr", "de"]
    vals = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)))
    return Condition(f, op, () if op == "set" else (vals if op != "contains" else vals[:1]), negated)


filters = st.builds(
    lambda groups: Filter(tuple(Group(tuple(g)) for g in groups)),
    st.lists(st.lists(a_condition(), min_size=1, max_size=3), min_size=1, max_size=3),
)


# --- the plain-Python reading of SPEC §3 ----------------------------------------------------------


def _day(literal: str) -> tuple[datetime, bool]:
    if len(literal) == 10:
        d = date.fromisoformat(literal)
        return datetime(d.year, d.month, d.day, tzinfo=UTC), True
    return datetime.fromisoformat(literal.replace("Z", "+00:00")), False


def positive(cond: Condition, c: dict) -> bool:
    v = c[cond.field]
    op = cond.op
    if op == "set":
        return bool(v) if isinstance(v, list) else v is not None
    if v is None or v == []:
        return False
    if isinstance(v, list):
        items = {nfkc_casefold(x) for x in v}
        wanted = [nfkc_casefold(str(x)) for x in cond.values]
        if op == "contains":
            return wanted[0] in items
        if op == "contains_any":
            return any(w in items for w in wanted)
        return all(w in items for w in wanted)
    if isinstance(v, datetime):
        day = timedelta(days=1)
        if op in ("within", "older"):
            since = NOW - timedelta(seconds=cond.seconds)
            return since <= v <= NOW if op == "within" else v < since
        if op == "between":
            (lo, _lo_day), (hi, hi_day) = _day(cond.values[0]), _day(cond.values[1])
            return lo <= v and (v < hi + day if hi_day else v <= hi)
        x, is_day = _day(cond.values[0])
        if not is_day:
            return {
                "eq": v == x,
                "gt": v > x,
                "ge": v >= x,
                "lt": v < x,
                "le": v <= x,
                "before": v < x,
                "after": v > x,
            }[op]
        return {
            "eq": x <= v < x + day,
            "gt": v >= x + day,
            "ge": v >= x,
            "lt": v < x,
            "le": v < x + day,
            "before": v < x,
            "after": v >= x + day,
        }[op]
    if isinstance(v, (bool, int | float)):
        x = cond.values
        return {
            "eq": lambda: v == x[0],
            "in": lambda: v in x,
            "gt": lambda: v > x[0],
            "ge": lambda: v >= x[0],
            "lt": lambda: v < x[0],
            "le": lambda: v <= x[0],
            "between": lambda: x[0] <= v <= x[1],
        }[op]()
    text, wanted = nfkc_casefold(v), [nfkc_casefold(str(x)) for x in cond.values]
    return {
        "eq": lambda: text == wanted[0],
        "in": lambda: text in wanted,
        "contains": lambda: wanted[0] in text,
        "starts_with": lambda: text.startswith(wanted[0]),
        "ends_with": lambda: text.endswith(wanted[0]),
    }[op]()


def holds(flt: Filter, c: dict) -> bool:
    return any(all(positive(k, c) != k.negated for k in g.conditions) for g in flt.groups)


# --- the test ------------------------------------------------------------------------------------

ATTRIBUTES = """
attributes:
  tier: {type: enum, values: [Gold, silver, bronze]}
  ltv: {type: number}
  vip: {type: boolean}
  joined: {type: date}
  note: {type: text}
  langs: {type: array}
"""


class EmptyDatabases:
    """A new empty database with the attributes above, for each example: an in-memory SQLite one,
    or, on PostgreSQL, one schema made once and emptied of customers before each example (a new
    schema per example would cost more than the example)."""

    def __init__(self, engine: str, new_database) -> None:
        self.engine = engine
        self.url = new_database() if engine == "postgresql" else None
        self.db = None

    def empty(self):
        if self.url is None:
            db = segcli.open(":memory:", now=NOW)
            db.apply(ATTRIBUTES)
            return db
        if self.db is None:
            self.db = segcli.open(self.url, now=NOW)
            self.db.apply(ATTRIBUTES)
        else:
            from conftest import query_url

            query_url(self.url, "TRUNCATE customers")
        return self.db

    def done(self, db) -> None:
        if self.url is None:
            db.close()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


@pytest.mark.both_engines
def test_sql_agrees_with_python(engine, new_database):
    databases = EmptyDatabases(engine, new_database)

    @settings(
        max_examples=EXAMPLES if engine == "sqlite" else POSTGRES_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        seed=st.integers(0, 2**32 - 1),
        checks=st.lists(filters, min_size=FILTERS_PER_EXAMPLE, max_size=FILTERS_PER_EXAMPLE),
    )
    def agrees(seed, checks):
        people = population(random.Random(seed))
        db = databases.empty()
        if people:
            lines = "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj, _ in people)
            db.import_file("-", fmt="jsonl", stdin=io.BytesIO(lines.encode("utf-8")))
        registry = db.registry()
        for flt in checks:
            # The text form reads back to the same model: the parser is under test too.
            assert parse_filter(flt.to_text(), registry) == flt
            got = {m["id"] for m in db.members(where=flt, columns=["id"])}
            want = {exp["id"] for _, exp in people if holds(flt, exp)}
            assert got == want, flt.to_text()
            assert db.count_filter(flt) == len(want)
        databases.done(db)

    try:
        agrees()
    finally:
        databases.close()
