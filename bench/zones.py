"""Calendar dates in a zone (SPEC §9) beside what seg counted before: bench/run.py calls ``measure``
after its own counts, on the same database, in the same run.

- `seg count` of `created_at within last 7 days` (the example "New This Week": fixed-length, no
  zone), the baseline;
- `seg count` of `created_at >= 7 days ago` and of `created_at during this week`, in Asia/Muscat
  (SEG_TZ): relative days and periods, whose boundaries are local midnights, computed once in
  Python and bound as parameters, so the SQL is the same index range. Target: within 1.1x of the
  baseline;
- `seg count` of `last_purchase anniversary within next 30 days` in Asia/Muscat, for information:
  each row's local day comes from the one function seg registers on SQLite (a full scan).

The machine is shared and noisy: the commands take turns, medians of at least 7 rounds, and only
ratios within one run count.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

SEGMENTS = {
    "Bench since 7 days ago": "created_at >= 7 days ago",
    "Bench during this week": "created_at during this week",
    "Bench birthdays next 30 days": "last_purchase anniversary within next 30 days",
}
BASELINE = "New This Week"
ZONE = "Asia/Muscat"


def measure(seg: list[str], db: Path, repeat: int, env: dict, run_once) -> dict:
    """Median seconds and the count of each count, the baseline first. The commands take turns,
    ``repeat`` rounds of each (at least 7), so that the machine's load falls on all of them alike:
    only their ratios are compared. ``run_once(cmd, env=...)`` is bench/run.py's ``measure``."""
    for name, where in SEGMENTS.items():
        subprocess.run([*seg, "--db", str(db), "delete", name, "--yes"], capture_output=True)
        subprocess.run([*seg, "--db", str(db), "create", name, "--where", where], check=True, capture_output=True)
    zoned = {**env, "SEG_TZ": ZONE}
    commands = [(BASELINE, env), *((n, zoned) for n in SEGMENTS)]
    times: dict[str, list[float]] = {name: [] for name, _ in commands}
    printed: dict[str, str] = {}
    for _ in range(max(repeat, 7)):
        for name, environment in commands:
            seconds, _, printed[name] = run_once([*seg, "--db", str(db), "count", name], env=environment)
            times[name].append(seconds)
    out = {}
    for name, environment in commands:
        out[name] = {
            "seg": statistics.median(times[name]),
            "count": int(printed[name]),
            "zone": environment.get("SEG_TZ", "UTC"),
        }
        print(
            f"count {name} ({out[name]['zone']}): {printed[name].strip()} in {out[name]['seg'] * 1000:.0f} ms",
            file=sys.stderr,
        )
    return out


def table_rows(n: str, results: dict | None) -> list[str]:
    """Rows for bench/run.py's table: each count against the baseline's."""
    if not results:
        return []
    base = results[BASELINE]["seg"]
    rows = []
    for name, r in results.items():
        if name == BASELINE:
            continue
        where = SEGMENTS[name]
        target = "for information" if "anniversary" in where else "≤ 1.1×"
        rows.append(
            f"| {n} | count `{where}` in {r['zone']} = {r['count']:,} (vs `within last 7 days` = "
            f"{results[BASELINE]['count']:,}) | {r['seg'] * 1000:.0f} ms | {base * 1000:.0f} ms | "
            f"{r['seg'] / base:.2f}× | {target} |"
        )
    return rows


if __name__ == "__main__":  # python bench/zones.py DB: a quick look at an existing database
    sys.path.insert(0, str(Path(__file__).parent))
    from run import measure as run_once
    from run import seg_command

    found = measure(seg_command(), Path(sys.argv[1]), 11, {**os.environ, "SEG_NOW": "2026-11-29T12:00:00Z"}, run_once)
    print("\n".join(table_rows("?", found)))
