"""The SQL spellings that differ between engines, for the compiler (``compile.py``): SQLite's
``Dialect`` and ``PostgresDialect``. Parameters, substring and prefix tests, list membership,
booleans, the local day of an instant in a zone, the time boundaries and anniversary windows a view
computes from the engine's clock, and the export's cell formatting.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .timeutil import EARLIEST, END_OF_TIME, DayStart, PeriodStart, Shifted

_NUMBER_LITERAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$")
_SQLITE_WEEKDAY = {"monday": 1, "sunday": 0, "saturday": 6}
_ISO_WEEKDAY = {"monday": 1, "sunday": 7, "saturday": 6}


class Dialect:
    """SQL spellings that differ between databases. This one is SQLite's; ``PostgresDialect``
    below overrides what PostgreSQL spells otherwise."""

    name = "sqlite"
    #: A condition that always holds, one that never does (SQLite has no boolean type).
    true = "1"
    false = "0"

    def param(self, name: str) -> str:
        return f":{name}"

    def boolean(self, value: bool) -> object:
        """A boolean as the value bound to compare with a boolean column (0 or 1 in SQLite)."""
        return 1 if value else 0

    def is_one_of(self, column: str, values: list, bind: Callable[[object], str]) -> str:
        """``column`` equal to one of ``values`` (normalized, folded for text), bound by ``bind``."""
        return f"{column} IN ({', '.join(bind(v) for v in values)})"

    def has_substring(self, column: str, p: str) -> str:
        # instr, not LIKE: % and _ in a value are plain characters, and no escaping is needed.
        return f"instr({column}, {p}) > 0"

    def starts_with(self, column: str, p: str) -> str:
        return f"substr({column}, 1, length({p})) = {p}"

    def ends_with(self, column: str, p: str) -> str:
        return f"substr({column}, -length({p})) = {p}"

    def negate(self, sql: str) -> str:
        return f"NOT coalesce({sql}, {self.false})"

    def in_id_order(self, column: str) -> str:
        """``column`` (an id) as it sorts in code-point order, whatever the engine's collation."""
        return column

    def local_day(self, column: str, zone: str) -> str:
        """The local calendar day (``YYYY-MM-DD``) of an instant column in the zone bound as
        ``zone``: SQLite calls ``seg_local_day``, the one function seg registers on its
        connections (``timeutil.local_day``); PostgreSQL uses ``AT TIME ZONE``."""
        return f"seg_local_day({column}, {zone})"

    # Views (``seg views``): a view holds its values in its SQL and reads the clock when queried.

    def literal(self, value: object) -> str:
        """``value`` written into SQL, for a view, which cannot have parameters: text quoted with
        its quotes doubled (seg's values hold no NUL), numbers as numbers, booleans as 1/0."""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int | float):
            text = repr(value)
            if not _NUMBER_LITERAL.match(text):
                raise AssertionError(f"not a number seg stores: {text}")
            return f"({text})" if text.startswith("-") else text
        if isinstance(value, str):
            return "'" + value.replace("'", "''") + "'"
        raise AssertionError(f"no SQL literal for {type(value).__name__}")

    def clock(self, seconds: int) -> str:
        """The instant ``seconds`` before the engine's clock at query time (UTC), as seg stores
        instants; before year 1 (a window longer than the calendar), the first instant seg stores."""
        if not seconds:
            return "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
        return f"coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-{int(seconds):d} seconds'), '{EARLIEST}')"

    def moment(self, b: DayStart | PeriodStart | Shifted, week_start: str) -> str:
        """A time boundary that moves with the clock (``timeutil``), as the engine computes it
        when a view is read: from its clock, in UTC (SPEC §11), as seg stores instants. SQLite's
        own month arithmetic does not clamp to the month's end (31 March minus a month is 3
        March), one way a view may differ from ``seg members``."""
        if isinstance(b, Shifted):
            if not b.months:
                if b.seconds <= 0:
                    return self.clock(-b.seconds)
                return self._moment([f"'+{b.seconds:d} seconds'"], later=True)
            return self._moment([f"'{b.months:+d} months'"], later=b.months > 0)
        if isinstance(b, DayStart):  # a relative day (a literal one does not move)
            n = b.day.days + b.days
            return self._moment(["'start of day'", f"'{n:+d} days'"], later=n > 0)
        n, unit = b.period.offset + b.shift, b.period.unit
        modifiers = {
            "day": ["'start of day'", f"'{n:+d} days'"],
            # back to the latest day that is the week's first: SQLite numbers Sunday 0
            "week": ["'start of day'", "'-6 days'", f"'weekday {_SQLITE_WEEKDAY[week_start]}'", f"'{7 * n:+d} days'"],
            "month": ["'start of month'", f"'{n:+d} months'"],
            "quarter": [
                "'start of month'",
                "'-' || ((CAST(strftime('%m', 'now') AS INTEGER) - 1) % 3) || ' months'",
                f"'{3 * n:+d} months'",
            ],
            "year": ["'start of year'", f"'{n:+d} years'"],
        }[unit]
        return self._moment(modifiers, later=n > 0)

    @staticmethod
    def _moment(modifiers: list[str], *, later: bool) -> str:
        edge = END_OF_TIME if later else EARLIEST  # past the calendar: as stored instants compare
        return f"coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', 'now', {', '.join(modifiers)}), '{edge}')"

    def anniversary_window(self, column: str, first: str, end: str) -> str:
        """For a view: values whose month and day (in UTC) fall on a day from the instant ``first``
        to the one before the instant ``end`` (SQL expressions), in any year, as
        ``timeutil.anniversary_ranges`` says, computed by the engine when the view is read."""
        day = f"substr({column}, 6, 5)"
        low = f"strftime('%m-%d', {first})"
        last = f"date({end}, '-1 day')"
        # 29 February counts as 28 February in a common year (one where the 28th is followed by a 1st)
        high = (
            f"(CASE WHEN strftime('%m-%d', {last}) = '02-28' AND strftime('%d', {last}, '+1 day') = '01'"
            f" THEN '02-29' ELSE strftime('%m-%d', {last}) END)"
        )
        return (
            f"(CASE WHEN julianday({last}) - julianday({first}) >= 365 THEN {column} IS NOT NULL"
            f" WHEN {low} <= {high} THEN {day} BETWEEN {low} AND {high}"
            f" ELSE ({day} >= {low} OR {day} <= {high}) END)"
        )

    # Output cells: exports format values in SQL, so that Python never touches most cells.

    def joined_list(self, column: str) -> str:
        """A list's JSON array (as the importer writes it: ``["a", "b"]``) as ``a,b``. Without a
        backslash, nothing is escaped and ``", "`` can only be a separator, so plain string
        functions do it; otherwise (or in another spelling) ``json_each`` does, at twice the cost."""
        slow = f"(SELECT group_concat(value, ',') FROM json_each({column}))"
        return (
            f"CASE WHEN instr({column}, '\\') = 0 AND substr({column}, 1, 2) = '[\"' AND instr({column}, '\",\"') = 0"
            f" THEN replace(substr({column}, 3, length({column}) - 4), '\", \"', ',') ELSE {slow} END"
        )

    def boolean_cell(self, column: str) -> str:
        return f"CASE {column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"

    def neutralized_cell(self, column: str) -> str:
        """``render.neutralize`` in SQL: text that starts like a spreadsheet formula gets a leading
        ``'`` unless it is a sign followed by a plain number or phone number. GLOB looks at the
        whole value, with no substrings made: every phone number (``+968...``) takes the second
        test, and this way it costs a quarter less. The lines inside a cell are guarded by the
        export's CSV writer: only the rare cells with a line break need it, and a test for one in
        every cell cost a large export 15%."""
        starts_like_a_formula = f"{column} GLOB '[=+@' || char(9) || char(13) || '-]*'"
        plain = f"{column} GLOB '[+-]*' AND {column} NOT GLOB '?*[^0-9 ().-]*' AND {column} GLOB '?*[0-9]*'"
        return (
            f"CASE WHEN {starts_like_a_formula}"
            f" THEN (CASE WHEN {plain} THEN {column} ELSE '''' || {column} END) ELSE {column} END"
        )


class PostgresDialect(Dialect):
    """PostgreSQL's spellings: psycopg's named parameters, real booleans, ``strpos``, regular
    expressions for the export's guard. Text columns are ``COLLATE "C"`` and hold the same folded
    copies as SQLite's, so every comparison gives the same answer on both engines."""

    name = "postgresql"
    true = "TRUE"
    false = "FALSE"

    def param(self, name: str) -> str:
        return f"%({name})s"

    def boolean(self, value: bool) -> object:
        return bool(value)

    def is_one_of(self, column: str, values: list, bind: Callable[[object], str]) -> str:
        # Text as one array parameter: one plan, and one parameter, whatever the length of the list.
        if values and all(isinstance(v, str) for v in values):
            return f"{column} = ANY({bind(list(values))})"
        return super().is_one_of(column, values, bind)

    def literal(self, value: object) -> str:
        """As SQLite's, with real booleans and a list (a text list's one array) as an ARRAY."""
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, list):
            return "ARRAY[" + ", ".join(self.literal(v) for v in value) + "]::text[]"
        if isinstance(value, str) and "\\" in value:
            # E'...' reads a backslash the same whatever the server's standard_conforming_strings
            # (off, a plain '...' would take \' for a quote and end the text elsewhere).
            return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
        return super().literal(value)

    def clock(self, seconds: int) -> str:
        """The server's clock (the reading transaction's start) in UTC, ``seconds`` back, as seg
        stores instants; before year 1, the first instant seg stores."""
        instant = f"(now() AT TIME ZONE 'UTC') - make_interval(secs => {int(seconds):d})"
        return (
            f"(CASE WHEN {instant} >= timestamp '0001-01-01' "
            f"THEN to_char({instant}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') ELSE '{EARLIEST}' END)"
        )

    def local_day(self, column: str, zone: str) -> str:
        """``AT TIME ZONE`` with the zone bound as a parameter: the server's zone rules, not
        Python's (the same for the dates people have; both follow the tz database)."""
        return f"to_char(({column})::timestamptz AT TIME ZONE {zone}, 'YYYY-MM-DD')"

    def moment(self, b: DayStart | PeriodStart | Shifted, week_start: str) -> str:
        """As SQLite's, from the server's clock in UTC; PostgreSQL's month arithmetic clamps to the
        month's end (31 March minus a month is 28 or 29 February), as ``seg members`` does."""
        now = "(now() AT TIME ZONE 'UTC')"
        if isinstance(b, Shifted):
            if not b.months:
                if b.seconds <= 0:
                    return self.clock(-b.seconds)
                return self._instant(f"{now} + make_interval(secs => {b.seconds:d})")
            return self._instant(f"{now} + make_interval(months => {b.months:d})")
        day = f"date_trunc('day', {now})"
        if isinstance(b, DayStart):  # a relative day (a literal one does not move)
            return self._instant(f"{day} + make_interval(days => {b.day.days + b.days:d})")
        n, unit = b.period.offset + b.shift, b.period.unit
        if unit == "day":
            return self._instant(f"{day} + make_interval(days => {n:d})")
        if unit == "week":  # back to the latest day that is the week's first (ISO: Monday 1)
            first = _ISO_WEEKDAY[week_start]
            back = f"((CAST(extract(isodow FROM {now}) AS integer) - {first:d} + 7) % 7)"
            return self._instant(f"{day} - make_interval(days => {back}) + make_interval(days => {7 * n:d})")
        months = {"month": n, "quarter": 3 * n, "year": 12 * n}[unit]
        return self._instant(f"date_trunc('{unit}', {now}) + make_interval(months => {months:d})")

    @staticmethod
    def _instant(timestamp: str) -> str:
        """A UTC timestamp expression as seg stores instants; past the calendar, as stored
        instants compare."""
        return (
            f"(CASE WHEN {timestamp} < timestamp '0001-01-01' THEN '{EARLIEST}'"
            f" WHEN {timestamp} >= timestamp '10000-01-01' THEN '{END_OF_TIME}'"
            f' ELSE to_char({timestamp}, \'YYYY-MM-DD"T"HH24:MI:SS"Z"\') END)'
        )

    def anniversary_window(self, column: str, first: str, end: str) -> str:
        """As SQLite's: month and day (in UTC) from the day of ``first`` to the day before ``end``."""
        day = f"substr({column}, 6, 5)"
        start = f"CAST(substr({first}, 1, 10) AS date)"
        last = f"(CAST(substr({end}, 1, 10) AS date) - 1)"
        low = f"to_char({start}, 'MM-DD')"
        # 29 February counts as 28 February in a common year (one where the 28th is followed by a 1st)
        high = (
            f"(CASE WHEN to_char({last}, 'MM-DD') = '02-28' AND extract(day FROM {last} + 1) = 1"
            f" THEN '02-29' ELSE to_char({last}, 'MM-DD') END)"
        )
        return (
            f"(CASE WHEN {last} - {start} >= 365 THEN {column} IS NOT NULL"
            f" WHEN {low} <= {high} THEN {day} BETWEEN {low} AND {high}"
            f" ELSE ({day} >= {low} OR {day} <= {high}) END)"
        )

    def has_substring(self, column: str, p: str) -> str:
        return f"strpos({column}, {p}) > 0"

    def starts_with(self, column: str, p: str) -> str:
        return f"starts_with({column}, {p})"

    def ends_with(self, column: str, p: str) -> str:
        return f"right({column}, char_length({p})) = {p}"

    def joined_list(self, column: str) -> str:
        """As SQLite's: plain string functions when no element needs JSON's escapes, else
        ``json_array_elements_text``, in the array's order. ``chr(92)`` is a backslash whatever the
        server's ``standard_conforming_strings``."""
        slow = (
            f"(SELECT string_agg(e, ',' ORDER BY n) FROM json_array_elements_text({column}::json)"
            " WITH ORDINALITY AS item(e, n))"
        )
        return (
            f"CASE WHEN strpos({column}, chr(92)) = 0 AND left({column}, 2) = '[\"'"
            f" AND strpos({column}, '\",\"') = 0"
            f" THEN replace(substr({column}, 3, length({column}) - 4), '\", \"', ',') ELSE {slow} END"
        )

    def boolean_cell(self, column: str) -> str:
        return f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"

    def neutralized_cell(self, column: str) -> str:
        """``render.neutralize`` as SQLite's version does it; the plain number or phone number is a
        regular expression (``$``: the end of the text, not of a line)."""
        starts_like_a_formula = f"left({column}, 1) IN ('=', '+', '-', '@', chr(9), chr(13))"
        plain = f"{column} ~ '^[+-][0-9 ().-]*[0-9][0-9 ().-]*$'"
        return (
            f"CASE WHEN {starts_like_a_formula}"
            f" THEN (CASE WHEN {plain} THEN {column} ELSE '''' || {column} END) ELSE {column} END"
        )


DIALECTS: dict[str, Dialect] = {"sqlite": Dialect(), "postgresql": PostgresDialect()}


def dialect_of(engine: str) -> Dialect:
    """The dialect of a store's engine (``Store.engine``)."""
    return DIALECTS[engine]
