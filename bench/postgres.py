"""seg on PostgreSQL, measured beside seg on SQLite in the same run of bench/run.py (SPEC §12).

For each N, on the same generated CSV as the SQLite measures, as whole processes, medians:

- `seg import` into a new schema  vs  seg's own SQLite import of the same file, run in turns with
  it (target: within 2x), with psql's `\\copy` of the flat CSV into a table of text columns beside it;
- `seg count` of each example segment  vs  the same SQL typed into `psql` (target: within 1.5x);
  the counts must equal psql's and SQLite's;
- `seg export "WhatsApp Opted-In"` with 16 columns  vs  psql's `\\copy (SELECT ...) TO` of the same
  rows, and beside SQLite's export;
- the peak RSS of import and export (flat: the same at 100k and at 1M).

The server is a throwaway one (tests/pgserver.py: Debian's binaries, a Unix socket, durable as a real
server is, shared_buffers 1GB) when the binaries are installed; otherwise these measures are skipped
with a message.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import pgserver  # noqa: E402

SCHEMA = "bench"

# The best hand-written SQL for each example segment on seg's PostgreSQL schema, at run.ANCHOR.
FLOOR_SQL = {
    "VIP Arabic Speakers": "SELECT count(*) FROM bench.customers WHERE language = 'ar' AND "
    "strpos(tags_fold, chr(31) || 'vip' || chr(31)) > 0",
    "Inactive 30+ Days": "SELECT count(*) FROM bench.customers WHERE last_interaction_at < '2026-10-30T12:00:00Z'",
    "Gold Tier in Oman": "SELECT count(*) FROM bench.customers WHERE attr_tier = 'gold' AND country = 'OM'",
    "WhatsApp Opted-In": "SELECT count(*) FROM bench.customers WHERE platform = 'whatsapp' AND NOT marketing_opt_out",
    "New This Week": "SELECT count(*) FROM bench.customers WHERE created_at >= '2026-11-22T12:00:00Z' "
    "AND created_at <= '2026-11-29T12:00:00Z'",
    "Enterprise Leads": "SELECT count(*) FROM bench.customers WHERE attr_interest = 'Enterprise' AND "
    "strpos(tags_fold, chr(31) || 'lead' || chr(31)) > 0",
}
EXPORT_COPY = (
    "\\copy (SELECT id, name, phone, email, platform, language, country, tags, created_at, last_interaction_at,"
    " attr_tier, attr_interest, attr_lifetime_value, attr_last_purchase, attr_newsletter, attr_city"
    " FROM bench.customers WHERE platform = 'whatsapp' AND NOT marketing_opt_out ORDER BY id)"
    " TO '{target}' WITH (FORMAT csv, HEADER)"
)


# The smallest Python program that runs the same SQL: what seg's start-up is measured against.
PYTHON_FLOOR = "import psycopg, sys; print(psycopg.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])"


def sql_times(url: str, repeat: int) -> dict[str, dict[str, float]]:
    """For each example segment, the median time of seg's compiled count and of the hand-written
    SQL, run in turns in one session: how seg's SQL compares, without any process's start-up."""
    import time

    import run

    import segcli

    db = segcli.open(url, now=run.ANCHOR)
    try:
        conn = db.store().conn
        out = {}
        for name, hand in FLOOR_SQL.items():
            compiled = db.audience([name])
            seg_sql = f"SELECT count(*) FROM customers c WHERE {compiled.sql}"
            times: dict[str, list[float]] = {"seg_sql": [], "hand_sql": []}
            for _ in range(max(3, repeat)):
                for key, (sql, params) in (("seg_sql", (seg_sql, compiled.params)), ("hand_sql", (hand, None))):
                    start = time.perf_counter()
                    conn.execute(sql, params).fetchone()
                    times[key].append(time.perf_counter() - start)
            out[name] = {key: statistics.median(values) for key, values in times.items()}
        return out
    finally:
        db.close()


def start_server() -> pgserver.Server | None:
    """A throwaway server for the benchmark, or None (and why, on stderr) if there can be none."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        print("PostgreSQL measures skipped: psycopg is not installed (pip install -e '.[postgres]')", file=sys.stderr)
        return None
    try:
        # In the system's temp folder: the server's user must reach it (a clone under /root it cannot).
        return pgserver.start(None, pgserver.BENCH_SETTINGS)
    except RuntimeError as exc:
        print(f"PostgreSQL measures skipped: {exc}", file=sys.stderr)
        return None


def bench_size(server: pgserver.Server, n: int, repeat: int, out: Path, sqlite: dict) -> dict:
    """The PostgreSQL measures at N, beside ``sqlite`` (``run.bench_size``'s results at N)."""
    import run

    seg = run.seg_command()
    data = out / f"n{n}"
    csv_path = data / "customers.csv"
    url = server.url("postgres", SCHEMA)
    psql = server.psql_command()
    results: dict = {"n": n}

    # Each PostgreSQL import is followed by seg's SQLite import of the same file, so that the two
    # are compared over the same minutes of this shared, noisy machine.
    import_runs, sqlite_runs, import_rss, copy_runs = [], [], 0, []
    header = csv_path.open(encoding="utf-8").readline().strip().split(",")
    flat = ", ".join(f'"{h}" text' for h in header)
    sqlite_db = data / "seg-beside-pg.db"
    example = str(ROOT / "segments.example.yaml")
    for _ in range(max(1, repeat // 2) if n >= 1_000_000 else repeat):
        server.psql("postgres", f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; DROP TABLE IF EXISTS flat")
        subprocess.run([*seg, "--db", url, "apply", example], check=True, capture_output=True)
        t, rss, _ = run.measure([*seg, "--db", url, "import", str(csv_path)])
        import_runs.append(t)
        import_rss = max(import_rss, rss)
        run.fresh(sqlite_db)
        subprocess.run([*seg, "--db", str(sqlite_db), "apply", example], check=True, capture_output=True)
        sqlite_runs.append(run.measure([*seg, "--db", str(sqlite_db), "import", str(csv_path)])[0])
        server.psql("postgres", f"CREATE TABLE flat ({flat})")
        t, _, _ = run.measure([*psql, "-c", f"\\copy flat FROM '{csv_path}' WITH (FORMAT csv, HEADER)"])
        copy_runs.append(t)
    run.fresh(sqlite_db)
    server.psql("postgres", f"DROP TABLE flat; VACUUM ANALYZE {SCHEMA}.customers")
    results["import"] = {
        "seg": statistics.median(import_runs),
        "sqlite": statistics.median(sqlite_runs),
        "copy": statistics.median(copy_runs),
        "rss_kib": import_rss,
    }
    print(
        f"postgresql import: seg {results['import']['seg']:.2f}s, seg on SQLite {results['import']['sqlite']:.2f}s, "
        f"\\copy {results['import']['copy']:.2f}s",
        file=sys.stderr,
    )

    env = {**run.os.environ, "SEG_NOW": run.ANCHOR}
    counts = {}
    python_floor = [sys.executable, "-c", PYTHON_FLOOR, server.conninfo()]
    query_times = sql_times(url, repeat)
    for name, sql in FLOOR_SQL.items():
        seg_t, _, seg_out = run.median_of([*seg, "--db", url, "count", name], repeat, env=env)
        psql_t, _, psql_out = run.median_of([*psql, "-c", sql], repeat)
        py_t, _, py_out = run.median_of([*python_floor, sql], repeat)
        if not seg_out.strip() == psql_out.strip() == py_out.strip() == str(sqlite["count"][name]["count"]):
            raise SystemExit(
                f"counts differ for {name}: seg {seg_out.strip()}, psql {psql_out.strip()}, python {py_out.strip()}, "
                f"SQLite {sqlite['count'][name]['count']}"
            )
        counts[name] = {
            "count": int(seg_out),
            "seg": seg_t,
            "psql": psql_t,
            "python": py_t,
            "sqlite": sqlite["count"][name]["seg"],
            **query_times[name],
        }
        print(
            f"postgresql count {name}: {seg_out.strip()} in {seg_t * 1000:.0f} ms (psql {psql_t * 1000:.0f} ms, "
            f"python {py_t * 1000:.0f} ms; in one session, seg's SQL {query_times[name]['seg_sql'] * 1000:.0f} ms, "
            f"the hand-written {query_times[name]['hand_sql'] * 1000:.0f} ms)",
            file=sys.stderr,
        )
    results["count"] = counts

    target = data / "audience-pg.csv"
    exp_t, exp_rss, _ = run.median_of(
        [*seg, "--db", url, "export", "WhatsApp Opted-In", "-o", str(target), "-c", run.EXPORT_COLUMNS], repeat, env=env
    )
    rows = sum(1 for _ in target.open(encoding="utf-8")) - 1
    floor_target = data / "floor-pg.csv"
    copy_t, _, _ = run.median_of([*psql, "-c", EXPORT_COPY.format(target=floor_target)], repeat)
    results["export"] = {
        "seg": exp_t,
        "sqlite": sqlite["export"]["seg"],
        "copy": copy_t,
        "rss_kib": exp_rss,
        "rows": rows,
        "copy_rows": sum(1 for _ in floor_target.open(encoding="utf-8")) - 1,
    }
    if (data / "audience.csv").exists() and target.read_bytes() != (data / "audience.csv").read_bytes():
        raise SystemExit("the PostgreSQL export differs from the SQLite export of the same segment")
    print(f"postgresql export: {rows} rows in {exp_t:.2f}s (\\copy {copy_t:.2f}s)", file=sys.stderr)
    return results


def table(all_results: list[dict]) -> str:
    """The PostgreSQL rows of the results table (seg on PostgreSQL beside its floor and SQLite)."""
    lines = [
        "| N | PostgreSQL measure | seg | floor | ratio | seg on SQLite | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in all_results:
        n = f"{r['n']:,}"
        imp = r["import"]
        lines.append(
            f"| {n} | import (vs seg's SQLite import; `\\copy` of the flat CSV {imp['copy']:.2f} s) | "
            f"{imp['seg']:.2f} s | {imp['sqlite']:.2f} s | {imp['seg'] / imp['sqlite']:.2f}× | "
            f"{imp['sqlite']:.2f} s | ≤ 2× |"
        )
        ratios, python_ratios, sql_ratios = [], [], []
        for name, c in r["count"].items():
            ratios.append(c["seg"] / c["psql"])
            python_ratios.append(c["seg"] / c["python"])
            sql_ratios.append(c["seg_sql"] / c["hand_sql"])
            lines.append(
                f"| {n} | count {name} = {c['count']:,} (vs the same SQL in psql; python -c + psycopg "
                f"{c['python'] * 1000:.0f} ms: {python_ratios[-1]:.2f}×; seg's SQL {c['seg_sql'] * 1000:.0f} ms vs "
                f"{c['hand_sql'] * 1000:.0f} ms in one session) | {c['seg'] * 1000:.0f} ms | {c['psql'] * 1000:.0f} ms | "
                f"{ratios[-1]:.2f}× | {c['sqlite'] * 1000:.0f} ms | ≤ 1.5× |"
            )
        lines.append(
            f"| {n} | count, median of the six (vs python -c + psycopg: {statistics.median(python_ratios):.2f}×; "
            f"seg's SQL vs the hand-written in one session: {statistics.median(sql_ratios):.2f}×) | | | "
            f"{statistics.median(ratios):.2f}× | | |"
        )
        exp = r["export"]
        lines.append(
            f"| {n} | export WhatsApp Opted-In, 16 columns, {exp['rows']:,} rows (vs psql `\\copy`) | "
            f"{exp['seg']:.2f} s | {exp['copy']:.2f} s | {exp['seg'] / exp['copy']:.2f}× | {exp['sqlite']:.2f} s | |"
        )
        lines.append(
            f"| {n} | peak RSS import / export | {imp['rss_kib'] / 1024:.0f} / {exp['rss_kib'] / 1024:.0f} MiB "
            "| | | | flat |"
        )
    return "\n".join(lines)


def run_all(sqlite_results: list[dict], repeat: int, out: Path) -> list[dict]:
    """The PostgreSQL measures at each N of ``sqlite_results``, on a throwaway server started and
    stopped here; an empty list if none can be started."""
    server = start_server()
    if server is None:
        return []
    try:
        return [bench_size(server, r["n"], repeat, out, r) for r in sqlite_results]
    finally:
        server.stop()
