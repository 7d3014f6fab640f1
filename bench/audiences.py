"""Audiences over time (SPEC §10), measured on the database ``run.py`` built, in the same run:

- `seg list` with 50 segments against the slowest single `seg count` of them, every process cold
  (fresh, and no count kept from an earlier command: `count_cache` is emptied before each list);
- `seg export --audience A --changes` against the same export without `--changes`: a 16-column
  audience of about half the customers, each export against a membership that differs by a day of
  activity (`--now` alternates between two days), so that there are changes to write;
- the bytes a kept membership of that audience takes in the database, and the peak RSS of both
  exports (memory stays flat: compare N = 100k with 1M).

    python bench/audiences.py --db bench/out/n1000000/seg.db      # on its own, after run.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ANCHOR = "2026-11-29T12:00:00Z"  # as run.py's

#: How many segments `seg list` counts (the six examples and the first of ``fifty_segments``).
LISTED = 50
#: The day after ANCHOR: exports alternate between the two, so each compares with a different day.
NEXT_DAY = "2026-11-30T12:00:00Z"
AUDIENCE = "Nightly WhatsApp"


def fifty_segments(seed: int = 7) -> list[tuple[str, str]]:
    """44 segments besides the six examples, in the shapes a business writes (the lead's
    prototype set, /work/notes/count-many-proto.md): tags and language, inactivity, tier and
    country, platform and consent, sign-up windows, interest and tags, spend and countries, and
    two-group filters."""
    rng = random.Random(seed)
    langs = ["Arabic", "English", "hi", "ur", "fr"]
    countries = ["OM", "AE", "SA", "KW", "QA", "BH", "IN"]
    tags = ["VIP", "lead", "customer", "returning", "wholesale", "newsletter", "loyalty", "Premium", "b2b", "trial"]
    out = []
    for i in range(44):
        kind = i % 8
        if kind == 0:
            where = f"tags contains {rng.choice(tags)} and language = {rng.choice(langs)}"
        elif kind == 1:
            where = f"last_interaction older than {rng.choice([7, 14, 30, 60, 90])} days"
        elif kind == 2:
            where = f'tier = {rng.choice(["gold", "silver", "bronze"])} and country = "{rng.choice(countries)}"'
        elif kind == 3:
            where = f"platform = {rng.choice(['WhatsApp', 'instagram', 'webchat'])} and opt_out = false"
        elif kind == 4:
            where = f"date_created within last {rng.choice([1, 7, 14, 30])} days"
        elif kind == 5:
            where = f"interest = {rng.choice(['Enterprise', 'SMB', 'Retail', 'Startup'])} and tags contains {rng.choice(tags)}"
        elif kind == 6:
            where = f"lifetime_value > {rng.choice([100, 500, 1000, 5000])} and country in (OM, AE)"
        else:
            where = (
                f"tags contains any ({rng.choice(tags)}, {rng.choice(tags)}) and language = Arabic"
                " or tier = gold and platform = WhatsApp"
            )
        out.append((f"S{i:02d}", where))
    return out


def _yaml(segments: list[tuple[str, str]]) -> str:
    lines = ["segments:"]
    for name, where in segments:
        lines += [f"  - name: {name}", f"    where: {json.dumps(where)}"]
    lines += [
        "audiences:",
        f"  - name: {AUDIENCE}",
        '    segments: ["WhatsApp Opted-In"]',
        '    exclude: ["New This Week"]',
        f"    columns: [{COLUMNS}]",
    ]
    return "\n".join(lines) + "\n"


COLUMNS = (
    "id,name,phone,email,platform,language,country,tags,created_at,last_interaction_at,"
    "tier,interest,lifetime_value,last_purchase,newsletter,city"
)  # run.py's EXPORT_COLUMNS


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process and its threads, stdout) of one whole process. CPU
    time hardly moves with the machine's load; wall time does, and shows what threads gain."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return elapsed, usage.ru_utime + usage.ru_stime, out.decode()


def bench_audiences(db: Path, repeat: int, segments: int, seg_command: list[str], measure: Callable) -> dict:
    """The measurements above on ``db`` (built by ``run.bench_size``), ``segments`` of them listed,
    with ``run.py``'s command and ``measure``."""
    seg = [*seg_command, "--db", str(db)]
    chosen = fifty_segments()[: max(segments - 6, 0)]
    subprocess.run([*seg, "apply", "-"], input=_yaml(chosen).encode(), check=True, capture_output=True)
    names = [r[0] for r in sqlite3.connect(db).execute("SELECT name FROM segments")]
    env = {**os.environ, "SEG_NOW": ANCHOR}

    def forget() -> None:  # cold: nothing kept from an earlier command
        conn = sqlite3.connect(db)
        conn.execute("DELETE FROM count_cache")
        conn.commit()
        conn.close()

    list_runs: list[tuple[float, float]] = []
    count_runs: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    listed = {}
    for _ in range(repeat):  # interleaved, so that a busy moment of the machine hits both
        forget()
        wall, cpu, out = timed([*seg, "list", "--json"], env)
        list_runs.append((wall, cpu))
        listed = {s["name"]: s["count"] for s in json.loads(out)}
        for name in names:
            wall, cpu, out = timed([*seg, "count", name], env)
            count_runs[name].append((wall, cpu))
            if int(out) != listed[name]:
                raise SystemExit(f"seg list says {listed[name]} for {name}, seg count {out.strip()}")
    counts = {n: statistics.median(w for w, _ in ts) for n, ts in count_runs.items()}
    slowest = max(counts, key=counts.get)
    result: dict = {
        "segments": len(names),
        "list": statistics.median(w for w, _ in list_runs),
        "slowest_count": counts[slowest],
        "slowest_name": slowest,
        "list_cpu": statistics.median(c for _, c in list_runs),
        "slowest_count_cpu": statistics.median(c for _, c in count_runs[slowest]),
        "load": os.getloadavg()[0],
    }
    forget()
    t, _, _ = measure([*seg, "list"], env=env)  # fills the cache
    result["list_reused"] = statistics.median(measure([*seg, "list"], env=env)[0] for _ in range(repeat))
    print(
        f"list of {len(names)}: {result['list']:.2f}s; slowest count ({slowest}) {counts[slowest]:.2f}s;"
        f" reused {result['list_reused']:.2f}s",
        file=sys.stderr,
    )

    # Exports of a saved audience, with and without --changes, alternating days.
    out_dir = db.parent
    target = out_dir / "nightly.csv"
    subprocess.run(
        [*seg, "export", "--audience", AUDIENCE, "-o", str(target)], env=env, check=True, capture_output=True
    )
    plain, changes, rss = [], [], {"plain": 0, "changes": 0}
    day = 0
    for _ in range(repeat):
        for kind, extra in (("plain", []), ("changes", ["--changes"])):
            day = 1 - day
            t, peak, _ = measure(
                [
                    *seg,
                    "--now",
                    NEXT_DAY if day else ANCHOR,
                    "export",
                    "--audience",
                    AUDIENCE,
                    "-o",
                    str(target),
                    *extra,
                ],
                env=env,
            )
            (plain if kind == "plain" else changes).append(t)
            rss[kind] = max(rss[kind], peak)
    conn = sqlite3.connect(db)
    export_pk, members = conn.execute(
        "SELECT pk, count FROM exports WHERE audience = ? AND membership_kept = 1 ORDER BY pk DESC LIMIT 1", (AUDIENCE,)
    ).fetchone()
    blob_bytes, chunks = conn.execute(
        "SELECT sum(length(members)), count(*) FROM audience_memberships WHERE export_pk = ?", (export_pk,)
    ).fetchone()
    added, removed = conn.execute("SELECT added, removed FROM exports WHERE pk = ?", (export_pk,)).fetchone()
    conn.close()
    result["export"] = {
        "plain": statistics.median(plain),
        "changes": statistics.median(changes),
        "members": members,
        "added": added,
        "removed": removed,
        "membership_bytes": blob_bytes,
        "membership_chunks": chunks,
        "rss_plain_kib": rss["plain"],
        "rss_changes_kib": rss["changes"],
    }
    e = result["export"]
    print(
        f"audience export of {members} rows: {e['plain']:.2f}s, with --changes {e['changes']:.2f}s"
        f" (+{added} -{removed}); membership {blob_bytes} bytes in {chunks} chunks",
        file=sys.stderr,
    )
    return result


def table(n: int, r: dict) -> list[str]:
    """Rows for run.py's Markdown table."""
    size = f"{n:,}"
    e = r["export"]
    return [
        f"| {size} | seg list, {r['segments']} segments, cold (vs slowest single count, {r['slowest_name']}) | "
        f"{r['list']:.2f} s | {r['slowest_count']:.2f} s | {r['list'] / r['slowest_count']:.1f}× | ≤ 3× |",
        f"| {size} | the same in CPU time (all threads; load average {r['load']:.1f} on {os.cpu_count()} cores) | "
        f"{r['list_cpu']:.2f} s | {r['slowest_count_cpu']:.2f} s | {r['list_cpu'] / r['slowest_count_cpu']:.1f}× | |",
        f"| {size} | seg list again, counts reused (same data version and boundaries) | {r['list_reused']:.2f} s | | | |",
        f"| {size} | export --audience, 16 columns, {e['members']:,} rows, --changes (+{e['added']:,} -{e['removed']:,})"
        f" vs without | {e['changes']:.2f} s | {e['plain']:.2f} s | {e['changes'] / e['plain']:.2f}× | ≤ 1.3× |",
        f"| {size} | a kept membership of {e['members']:,} customers | {e['membership_bytes']:,} bytes"
        f" ({e['membership_bytes'] / max(e['members'], 1):.2f} per customer) | | | |",
        f"| {size} | peak RSS export --audience / with --changes | {e['rss_plain_kib'] / 1024:.0f} /"
        f" {e['rss_changes_kib'] / 1024:.0f} MiB | | | ≤ 80 MiB |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a database built by bench/run.py")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    db = Path(args.db)
    from run import measure, seg_command  # run.py imports this module: not at the top

    result = bench_audiences(db, args.repeat, LISTED, seg_command(), measure)
    n = sqlite3.connect(db).execute("SELECT count(*) FROM customers").fetchone()[0]
    print("\n".join(table(n, result)))


if __name__ == "__main__":
    main()
