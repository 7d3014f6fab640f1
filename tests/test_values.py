"""values.ValueContext: a source's naive timestamps are wall-clock times in its zone (SPEC §9)."""

from __future__ import annotations

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from segcli.errors import InvalidValue
from segcli.fields import BUILTIN_BY_NAME
from segcli.values import ValueContext, normalize, normalizer

CREATED = BUILTIN_BY_NAME["created_at"]
MUSCAT = ValueContext(zone=ZoneInfo("Asia/Muscat"))
NEW_YORK = ValueContext(zone=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(
    ("raw", "context", "stored"),
    [
        ("2026-11-29", MUSCAT, "2026-11-28T20:00:00Z"),  # a day is its local midnight
        ("2026-11-29T08:00:00", MUSCAT, "2026-11-29T04:00:00Z"),
        ("2026-11-29T08:00:00Z", MUSCAT, "2026-11-29T08:00:00Z"),  # an offset is never moved
        ("2026-11-29T08:00:00+02:00", MUSCAT, "2026-11-29T06:00:00Z"),
        ("2026-03-08T02:30:00", NEW_YORK, "2026-03-08T07:30:00Z"),  # in the DST gap: forward by the gap
        ("2026-11-01T01:30:00", NEW_YORK, "2026-11-01T05:30:00Z"),  # repeated hour: its first occurrence
        ("2026-11-29", ValueContext(), "2026-11-29T00:00:00Z"),  # no zone: UTC
    ],
)
def test_naive_values_are_read_in_the_zone_of_their_source(raw, context, stored):
    assert normalize(CREATED, raw, context) == stored
    assert normalizer(CREATED, context).column([raw, ""], strings=True) == [stored, None]


def test_a_local_midnight_before_the_first_instant_is_out_of_range():
    # (Pacific/Kiritimati itself was at -10:29:20, its local mean time, in year 1)
    with pytest.raises(InvalidValue, match="out of range"):
        normalize(CREATED, "0001-01-01", ValueContext(zone=timezone(timedelta(hours=14))))
