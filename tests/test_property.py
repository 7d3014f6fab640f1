"""The differential test: random customers and random filters; the members that seg's SQL finds
must be exactly those that a plain-Python reading of SPEC §3 and §9 finds.

The Python side is written from the SPEC, not from the compiler: it compares datetimes, not stored
strings; it reads calendar days as each value's own local date (``astimezone(zone).date()``), never
as the boundaries the compiler computes; periods by counting weeks, months, quarters and years;
anniversaries by month and day; and it folds text by Unicode's NFKC_Casefold, written here from its
definition (``nfkc_casefold``). Each example runs at its own clock: a zone (UTC, Asia/Muscat,
America/New_York and Europe/London across their 2026 DST changes, Pacific/Kiritimati at +14,
Pacific/Pago_Pago at -11), a first day of the week, and a ``now`` placed just before, at or after a
local midnight, at month ends, around 29 February. Customers are imported through the real importer,
in the spellings real files use (names, codes, BCP 47 tags, offsets, naive local times, numbers as
strings), and their expected stored values are worked out here. Filters are written here as text,
with parentheses and ``not``, and evaluated here as the trees they are; seg expands them into
groups.
"""

from __future__ import annotations

import calendar
import functools
import io
import json
import random
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segcli
from segcli.model import Condition

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


# --- the clock: a zone, a first day of the week, and a now near an edge ------------------------------

ZONES = ["UTC", "Asia/Muscat", "America/New_York", "Europe/London", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
WEEK_STARTS = {"monday": 0, "sunday": 6, "saturday": 5}  # date.weekday() of the first day
# Local days to place now on: DST changes (New York 8 March and 1 November, London 29 March and
# 25 October 2026), month, quarter and year ends, 29 February and the common year's 28th, a Sunday.
ANCHORS = [
    date(2026, 11, 29),
    date(2026, 3, 8),
    date(2026, 3, 9),
    date(2026, 11, 1),
    date(2026, 11, 2),
    date(2026, 3, 29),
    date(2026, 3, 30),
    date(2026, 10, 25),
    date(2026, 10, 26),
    date(2026, 1, 31),
    date(2026, 3, 31),
    date(2026, 5, 31),
    date(2026, 9, 30),
    date(2026, 12, 31),
    date(2027, 1, 1),
    date(2027, 2, 28),
    date(2027, 3, 1),
    date(2028, 2, 28),
    date(2028, 2, 29),
    date(2028, 3, 1),
]
#: Where now falls from its anchor's local midnight: just before it, at it, just after, midday, late.
NOW_OFFSETS = [-1, 0, 1, 43200, 86399, 7200]


def wall_to_utc(wall: datetime, zone) -> datetime:
    """A naive wall-clock time in ``zone`` as SPEC §9 reads it, written independently of seg: the
    earliest instant whose local time it is (a repeated hour: its first occurrence); a time that a
    DST change skips, moved forward by the gap (read with the offset in force before it)."""
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            found.append(instant)
    if found:
        return min(found)
    before = (wall - timedelta(hours=6)).replace(tzinfo=zone).utcoffset()
    return (wall - before).replace(tzinfo=UTC)


class Clock(NamedTuple):
    now: datetime
    zone: ZoneInfo
    week_start: str

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()


def a_clock(rng) -> Clock:
    zone = ZoneInfo(rng.choice(ZONES))
    midnight = wall_to_utc(datetime.combine(rng.choice(ANCHORS), time(0)), zone)
    return Clock(midnight + timedelta(seconds=rng.choice(NOW_OFFSETS)), zone, rng.choice(list(WEEK_STARTS)))


def add_months(clock: Clock, months: int) -> datetime:
    """Calendar months on the local wall clock, keeping the time of day, clamped to the month's end."""
    wall = clock.now.astimezone(clock.zone).replace(tzinfo=None)
    y, m = divmod(wall.year * 12 + wall.month - 1 + months, 12)
    day = min(wall.day, calendar.monthrange(y, m + 1)[1])
    return wall_to_utc(wall.replace(year=y, month=m + 1, day=day), clock.zone)


# --- the population -------------------------------------------------------------------------------

OFFSETS = [UTC, timezone(timedelta(hours=4)), timezone(timedelta(hours=-5, minutes=-30)), timezone(timedelta(hours=14))]
DAY_MARKS = [0, 1, 2, 6, 7, 8, 13, 14, 29, 30, 31, 32, 60, 92, 366]


def near_marks(rng, clock: Clock) -> datetime:
    """An instant near the edges the filters use: local midnights of days around today and of the
    periods around it, now moved by fixed and calendar durations, each give or take a second."""
    secs = rng.choice([-3600, -1, 0, 1, 3600, 43200])
    kind = rng.random()
    if kind < 0.45:
        day = clock.today + timedelta(days=rng.choice(DAY_MARKS) * rng.choice([-1, 1]))
        if rng.random() < 0.3:  # a month, quarter or year boundary
            day = day.replace(day=1, month=rng.choice([day.month, 1, 4, 7, 10]))
        return wall_to_utc(datetime.combine(day, time(0)), clock.zone) + timedelta(seconds=secs)
    if kind < 0.7:
        return clock.now + timedelta(days=rng.choice(DAY_MARKS) * rng.choice([-1, 1]), seconds=secs)
    if kind < 0.85:
        return add_months(clock, rng.choice([-13, -12, -3, -1, 1, 2, 12])) + timedelta(seconds=rng.choice([-1, 0, 1]))
    # an anniversary: another year, near today's month and day (29 February included)
    day = clock.today + timedelta(days=rng.randint(-3, 40))
    year = rng.choice([1988, 2000, 2023, 2024, 2027])
    month, dom = (2, 29) if rng.random() < 0.15 else (day.month, day.day)
    if month == 2 and dom == 29 and not calendar.isleap(year):
        year = 2000
    wall = datetime(year, month, dom, rng.choice([0, 0, 9, 23]), rng.choice([0, 30]))
    return wall_to_utc(wall, clock.zone)


def raw_date(rng, clock: Clock) -> tuple[object, datetime | None]:
    """A date as a file holds it, and the UTC instant seg must store: naive values are local
    wall-clock times in the zone in force, a date alone its local midnight."""
    if rng.random() < 0.2:
        return None, None
    when = near_marks(rng, clock)
    style = rng.choice(["offset", "date", "z", "naive"])
    if style == "date":
        day = when.astimezone(clock.zone).date()
        return day.isoformat(), wall_to_utc(datetime.combine(day, time(0)), clock.zone)
    if style == "z":
        return when.strftime("%Y-%m-%dT%H:%M:%SZ"), when
    if style == "naive":
        wall = when.astimezone(clock.zone).replace(tzinfo=None)
        return wall.isoformat(), wall_to_utc(wall, clock.zone)
    return when.astimezone(rng.choice(OFFSETS)).isoformat(), when


def maybe(rng, pool):
    return None if rng.random() < 0.25 else rng.choice(pool)


def spelled(rng, pairs):
    return (None, None) if rng.random() < 0.25 else rng.choice(pairs)


def a_customer(rng, n: int, clock: Clock) -> tuple[dict, dict]:
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
    created_raw, created = raw_date(rng, clock)
    last_raw, last = raw_date(rng, clock)
    joined_raw, joined = raw_date(rng, clock)
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


def population(rng, clock: Clock) -> list[tuple[dict, dict]]:
    return [a_customer(rng, i, clock) for i in range(rng.randint(0, 14))]


# --- the filters: trees of conditions, written as text -------------------------------------------

TEXT_FIELDS = ["name", "email", "note", "phone", "id"]
DATE_FIELDS = ["created_at", "last_interaction_at", "joined"]


class Leaf(NamedTuple):
    """A condition as written, and whether a customer meets it (SPEC, read here)."""

    text: str
    holds: Callable[[dict, Clock], bool]


def local_day(v: datetime, clock: Clock) -> date:
    return v.astimezone(clock.zone).date()


@st.composite
def scalar_condition(draw) -> Leaf:
    """The operators of SPEC §3 on the other types, as model Conditions (written by the model)."""
    kind = draw(st.sampled_from(["text", "number", "boolean", "enum", "list", "code"]))
    negated = draw(st.booleans())
    if kind == "text":
        f = draw(st.sampled_from(TEXT_FIELDS))
        op = draw(st.sampled_from(["eq", "in", "contains", "starts_with", "ends_with", "set"]))
        pool = [*WORDS, "ann@", ".om", "x_", "%", "c1", "C1", "example", "today", "in"]
        if f == "phone" and op in ("eq", "in"):  # a phone literal must be a phone number (SPEC §8)
            pool = ["+96891234567", "+96891234568"]
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        if op != "in":
            values = values[:1]
        if op == "set":
            values = []
        cond = Condition(f, op, tuple(values), negated)
    elif kind == "number":
        op = draw(st.sampled_from(["eq", "in", "gt", "ge", "lt", "le", "between", "set"]))
        nums = st.sampled_from([-20, -0.5, 0, 9.5, 10, 20, 1000])
        values = {
            "set": (),
            "between": tuple(sorted(draw(st.lists(nums, min_size=2, max_size=2)))),
            "in": tuple(draw(st.lists(nums, min_size=1, max_size=3, unique=True))),
        }.get(op, (draw(nums),))
        cond = Condition("ltv", op, values, negated)
    elif kind == "boolean":
        f = draw(st.sampled_from(["vip", "marketing_opt_out"]))
        op = draw(st.sampled_from(["eq", "set"]))
        cond = Condition(f, op, (draw(st.booleans()),) if op == "eq" else (), negated)
    elif kind == "enum":
        op = draw(st.sampled_from(["eq", "in", "set"]))
        vals = tuple(draw(st.lists(st.sampled_from(["Gold", "silver", "bronze"]), min_size=1, max_size=2, unique=True)))
        cond = Condition("tier", op, () if op == "set" else (vals if op == "in" else vals[:1]), negated)
    elif kind == "code":
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
        cond = Condition(f, op, vals if op == "in" else vals[:1], negated)
    else:
        f = draw(st.sampled_from(["tags", "langs"]))
        op = draw(st.sampled_from(["contains", "contains_any", "contains_all", "set"]))
        pool = [*TAGS, "nope"] if f == "tags" else ["AR", "en", "fr", "de"]
        vals = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)))
        cond = Condition(f, op, () if op == "set" else (vals if op != "contains" else vals[:1]), negated)
    return Leaf(cond.to_text(), lambda c, clock, cond=cond: positive(cond, c) != cond.negated)


class Bound(NamedTuple):
    """A date literal as written, and what it is for a clock: a local day, or an instant."""

    text: str
    day: Callable[[Clock], date] | None = None
    instant: Callable[[Clock], datetime] | None = None
    relative: int | None = None  # days from today, for a relative day


@st.composite
def date_literal(draw) -> Bound:
    style = draw(st.sampled_from(["named", "ago", "in", "day", "instant", "naive"]))
    n = draw(st.sampled_from(DAY_MARKS[:12]))
    if style == "named":
        word, days = draw(st.sampled_from([("today", 0), ("yesterday", -1), ("tomorrow", 1), ("TODAY", 0)]))
        return Bound(word, day=lambda k, d=days: k.today + timedelta(days=d), relative=days)
    if style in ("ago", "in"):
        unit, size = draw(st.sampled_from([("days", 1), ("d", 1), ("day", 1), ("weeks", 7), ("w", 7)]))
        if size == 7:
            n = draw(st.sampled_from([0, 1, 2, 4]))
        gap = " " if unit in ("days", "day", "weeks") or draw(st.booleans()) else ""
        days = n * size * (-1 if style == "ago" else 1)
        text = f"{n}{gap}{unit} ago" if style == "ago" else f"in {n}{gap}{unit}"
        return Bound(text, day=lambda k, d=days: k.today + timedelta(days=d), relative=days)
    # absolute literals are drawn as offsets from now, and written once the clock is known
    shift = draw(st.sampled_from([-1, 1])) * n
    secs = draw(st.sampled_from([-3600, -1, 0, 1, 7200]))
    return Bound(f"@{style}:{shift}:{secs}")


def written(bound: Bound, clock: Clock) -> Bound:
    """An absolute literal for this clock: a day around today, an instant around now (with Z or,
    naive, as a wall-clock time in the zone)."""
    if not bound.text.startswith("@"):
        return bound
    style, shift, secs = bound.text[1:].split(":")
    when = clock.now + timedelta(days=int(shift), seconds=int(secs))
    if style == "day":
        d = when.astimezone(clock.zone).date()
        return Bound(d.isoformat(), day=lambda k, d=d: d)
    if style == "instant":
        return Bound(when.strftime("%Y-%m-%dT%H:%M:%SZ"), instant=lambda k, w=when: w)
    wall = when.astimezone(clock.zone).replace(tzinfo=None)
    instant = wall_to_utc(wall, clock.zone)
    return Bound(wall.isoformat(), instant=lambda k, w=instant: w)


def _offset(b: Bound) -> int:
    """How far from now an absolute literal is drawn, in seconds."""
    _, shift, secs = b.text[1:].split(":")
    return int(shift) * 86400 + int(secs)


def compare(v: datetime, op: str, b: Bound, clock: Clock) -> bool:
    """``v op b``: a day compares by the value's local day, an instant as an instant."""
    if b.day is not None:
        x, y = local_day(v, clock), b.day(clock)
    else:
        x, y = v, b.instant(clock)
    return {"=": x == y, "!=": x != y, ">": x > y, ">=": x >= y, "<": x < y, "<=": x <= y}[op]


DURATIONS = [
    ("{n} days", 86400, 0),
    ("{n}d", 86400, 0),
    ("{n} weeks", 604800, 0),
    ("{n}w", 604800, 0),
    ("{n} hours", 3600, 0),
    ("{n}h", 3600, 0),
    ("{n} min", 60, 0),
    ("{n} months", 0, 1),
    ("{n}mo", 0, 1),
    ("{n} years", 0, 12),
    ("{n}y", 0, 12),
]
PERIODS = ["day", "week", "month", "quarter", "year"]


def period_index(d: date, unit: str, clock: Clock) -> int:
    """Which day, week (from week_start), month, quarter or year ``d`` is, counted from any origin."""
    if unit == "day":
        return d.toordinal()
    if unit == "week":  # date(2001, 1, 1) was a Monday
        origin = date(2001, 1, 1).toordinal() + (WEEK_STARTS[clock.week_start] - 7) % 7
        return (d.toordinal() - origin) // 7
    if unit == "month":
        return d.year * 12 + d.month
    if unit == "quarter":
        return d.year * 4 + (d.month - 1) // 3
    return d.year


def in_period(d: date, word: str, unit: str, clock: Clock) -> bool:
    return (
        period_index(d, unit, clock)
        == period_index(clock.today, unit, clock) + {"last": -1, "this": 0, "next": 1}[word]
    )


def anniversary_of(v: datetime, targets: list[date], clock: Clock) -> bool:
    """The value's local month and day is that of one of the target days; 29 February counts as 28
    February in a common year."""
    d = local_day(v, clock)
    for t in targets:
        if (d.month, d.day) == (t.month, t.day):
            return True
        if (d.month, d.day) == (2, 29) and (t.month, t.day) == (2, 28) and not calendar.isleap(t.year):
            return True
    return False


@functools.cache
def period_days(word: str, unit: str, clock: Clock) -> list[date]:
    """Every day of the period: the days around today (two years either way) that are in it."""
    days = [clock.today + timedelta(days=k) for k in range(-800, 800)]
    return [d for d in days if in_period(d, word, unit, clock)]


@st.composite
def date_condition(draw) -> Leaf:
    """SPEC §3 and §9 on dates: comparisons with days (literal and relative) and instants, between,
    windows of fixed and calendar durations, periods, anniversaries."""
    f = draw(st.sampled_from(DATE_FIELDS))
    kind = draw(st.sampled_from(["compare", "compare", "between", "window", "window", "during", "anniversary", "set"]))

    def leaf(text: str, test: Callable[[datetime, Clock], bool]) -> Leaf:
        return Leaf(text, lambda c, clock: c[f] is not None and test(c[f], clock))

    if kind == "set":
        return leaf(f"{f} is set", lambda v, k: True)
    if kind == "compare":
        comparisons = [("=", "="), ("is", "="), ("!=", "!="), (">", ">"), (">=", ">="), ("<", "<"), ("<=", "<=")]
        word, op = draw(st.sampled_from([*comparisons, ("before", "<"), ("after", ">")]))
        b = draw(date_literal())
        if op == "!=":  # a negation: missing values match too
            return Leaf(f"{f} != {b.text}", lambda c, k: c[f] is None or compare(c[f], "!=", written(b, k), k))
        return leaf(f"{f} {word} {b.text}", lambda v, k: compare(v, op, written(b, k), k))
    if kind == "between":
        lo, hi = draw(date_literal()), draw(date_literal())
        if lo.relative is not None and hi.relative is not None and lo.relative > hi.relative:
            lo, hi = hi, lo
        if lo.text.startswith("@") and hi.text.startswith("@") and _offset(lo) > _offset(hi):
            lo, hi = hi, lo  # two absolute bounds in order (a day's order is its instants' order)

        def between(v: datetime, k: Clock) -> bool:
            a, z = written(lo, k), written(hi, k)
            return compare(v, ">=", a, k) and compare(v, "<=", z, k)

        return leaf(f"{f} between {lo.text} and {hi.text}", between)
    if kind == "window":
        spelled, seconds, months = draw(st.sampled_from(DURATIONS))
        n = draw(st.sampled_from([1, 2, 3, 7, 12, 13, 30] if seconds else [1, 2, 3, 11, 12, 13]))
        duration = spelled.format(n=n)
        op = draw(st.sampled_from(["within last", "older than", "within next"]))

        def moved(k: Clock, sign: int) -> datetime:
            return add_months(k, sign * n * months) if months else k.now + timedelta(seconds=sign * n * seconds)

        test = {
            "within last": lambda v, k: moved(k, -1) <= v <= k.now,
            "older than": lambda v, k: v < moved(k, -1),
            "within next": lambda v, k: k.now <= v <= moved(k, 1),
        }[op]
        return leaf(f"{f} {op} {duration}", test)
    if kind == "during":
        word, unit = draw(st.sampled_from(["this", "last", "next"])), draw(st.sampled_from(PERIODS))
        if draw(st.booleans()):
            return Leaf(
                f"{f} not during {word} {unit}",
                lambda c, k: c[f] is None or not in_period(local_day(c[f], k), word, unit, k),
            )
        return leaf(f"{f} during {word} {unit}", lambda v, k: in_period(local_day(v, k), word, unit, k))
    form = draw(st.sampled_from(["=", "within", "during"]))
    if form == "=":
        b = draw(date_literal().filter(lambda b: b.relative is not None or b.text.startswith("@day")))
        return leaf(f"{f} anniversary = {b.text}", lambda v, k: anniversary_of(v, [written(b, k).day(k)], k))
    if form == "within":
        spelled, size = draw(
            st.sampled_from([("{n} days", 1), ("{n} day", 1), ("{n}d", 1), ("{n}w", 7), ("{n} weeks", 7)])
        )
        n = draw(st.sampled_from([1, 2, 7, 30] if size == 1 else [1, 2, 6]))
        return leaf(
            f"{f} anniversary within next {spelled.format(n=n)}",
            lambda v, k: anniversary_of(v, [k.today + timedelta(days=i) for i in range(n * size + 1)], k),
        )
    word, unit = draw(st.sampled_from(["this", "last", "next"])), draw(st.sampled_from(PERIODS))
    return leaf(f"{f} anniversary during {word} {unit}", lambda v, k: anniversary_of(v, period_days(word, unit, k), k))


a_condition = st.one_of(scalar_condition(), date_condition(), date_condition())


class Node(NamedTuple):
    """``and``, ``or`` or ``not`` of its parts."""

    kind: str
    parts: tuple


def trees(depth: int = 2):
    if depth == 0:
        return a_condition
    inner = trees(depth - 1)
    return st.one_of(
        a_condition,
        st.builds(lambda p: Node("and", tuple(p)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda p: Node("or", tuple(p)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda p: Node("not", (p,)), inner),
    )


def text_of(tree, clock: Clock) -> str:
    """The tree as a filter: parentheses where precedence needs them (and some where it does not)."""
    if isinstance(tree, Leaf):
        return _absolute(tree.text, clock)
    if tree.kind == "not":
        inner = text_of(tree.parts[0], clock)
        return f"not {inner}" if isinstance(tree.parts[0], Leaf) else f"not ({inner})"
    joined = f" {tree.kind} ".join(
        f"({text_of(p, clock)})"
        if isinstance(p, Node) and (tree.kind == "and" or p.kind == "or")
        else text_of(p, clock)
        for p in tree.parts
    )
    return joined


def _absolute(text: str, clock: Clock) -> str:
    """A leaf's absolute date literals (``@day:...``), written for the clock."""
    return " ".join(written(Bound(w), clock).text if w.startswith("@") else w for w in text.split(" "))


def holds(tree, c: dict, clock: Clock) -> bool:
    if isinstance(tree, Leaf):
        return tree.holds(c, clock)
    if tree.kind == "not":
        return not holds(tree.parts[0], c, clock)
    results = [holds(p, c, clock) for p in tree.parts]
    return all(results) if tree.kind == "and" else any(results)


# --- the plain-Python reading of SPEC §3, for the other types ---------------------------------------


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
    """A new empty database with the attributes above, for each example, at the example's clock:
    an in-memory SQLite one, or, on PostgreSQL, one schema made once and emptied of customers
    before each example (a new schema per example would cost more than the example)."""

    def __init__(self, engine: str, new_database) -> None:
        self.url = new_database() if engine == "postgresql" else None
        self.made = False

    def empty(self, clock):
        db = segcli.open(self.url or ":memory:", now=clock.now, tz=clock.zone.key)
        if self.url is None or not self.made:
            db.apply(ATTRIBUTES)
            self.made = True
        else:
            from conftest import query_url

            query_url(self.url, "TRUNCATE customers")
        db.settings.set("week_start", clock.week_start)
        return db


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
        checks=st.lists(trees(), min_size=FILTERS_PER_EXAMPLE, max_size=FILTERS_PER_EXAMPLE),
    )
    def agrees(seed, checks):
        rng = random.Random(seed)
        clock = a_clock(rng)
        people = population(rng, clock)
        db = databases.empty(clock)
        try:
            if people:
                lines = "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj, _ in people)
                db.import_file("-", fmt="jsonl", stdin=io.BytesIO(lines.encode("utf-8")))
            filters, wanted = [], []
            for tree in checks:
                text = text_of(tree, clock)
                flt = db.parse(text)
                # The text form reads back to the same model: the parser is under test too.
                assert db.parse(flt.to_text()) == flt, text
                got = {m["id"] for m in db.members(where=flt, columns=["id"])}
                want = {exp["id"] for _, exp in people if holds(tree, exp, clock)}
                assert got == want, (text, clock)
                assert db.count_filter(flt) == len(want)
                filters.append(flt)
                wanted.append(len(want))
            # All of them counted together, as seg list, seg snapshot and seg overlap count (SPEC §10).
            assert db.count_many(filters) == wanted, ([text_of(t, clock) for t in checks], clock)
        finally:
            db.close()

    agrees()
