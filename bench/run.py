"""seg's benchmark: each seg operation beside the floor it is measured against, in one run.

    python bench/run.py                       # N = 100k and 1M (about 10 minutes)
    python bench/run.py --sizes 100000 --repeat 5

For each N it generates N customers (sample_data/generate.py, seeded) and measures, as whole
processes, medians over --repeat runs:

- `seg import` of the CSV   vs  `sqlite3 .import --csv` of the same file into a flat table;
- `seg count` of each example segment  vs  a bare `python -c` that opens seg's database with sqlite3
  and runs the best hand-written SQL for the same filter (with the sqlite3 CLI's time beside it);
  the counts must be equal;
- `seg export "WhatsApp Opted-In"` with 16 columns  vs  a plain Python csv.writer loop over the
  same rows;
- the peak RSS of import and export;
- then the same on PostgreSQL (bench/postgres.py), beside these figures, when a server can be started.
- audiences over time (bench/audiences.py): `seg list` with 50 segments against the slowest single
  `seg count`, an export of a saved audience with `--changes` against the same without, the bytes
  of a kept membership.
- then (bench/profiles.py) imports of real exports: through a profile, with attributes undeclared,
  and the cost of phones.

It prints a Markdown table (medians and ratios) and writes it, with the raw numbers as JSON, to
bench/out/. The machine is shared and noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sample_data"))
import audiences  # noqa: E402  (bench/audiences.py, beside this file)
import postgres  # noqa: E402  (bench/postgres.py)
import zones  # noqa: E402  (bench/zones.py: calendar dates in a zone)
from generate import generate  # noqa: E402

ANCHOR = "2026-11-29T12:00:00Z"
EXPORT_COLUMNS = (
    "id,name,phone,email,platform,language,country,tags,created_at,last_interaction_at,"
    "tier,interest,lifetime_value,last_purchase,newsletter,city"
)

# The best hand-written SQL for each example segment, on seg's own schema, at ANCHOR.
FLOOR_SQL = {
    "VIP Arabic Speakers": "SELECT count(*) FROM customers WHERE language = 'ar' AND "
    "instr(tags_fold, char(31) || 'vip' || char(31)) > 0",
    "Inactive 30+ Days": "SELECT count(*) FROM customers WHERE last_interaction_at < '2026-10-30T12:00:00Z'",
    "Gold Tier in Oman": "SELECT count(*) FROM customers WHERE attr_tier = 'gold' AND country = 'OM'",
    "WhatsApp Opted-In": "SELECT count(*) FROM customers WHERE platform = 'whatsapp' AND marketing_opt_out = 0",
    "New This Week": "SELECT count(*) FROM customers WHERE created_at >= '2026-11-22T12:00:00Z' "
    "AND created_at <= '2026-11-29T12:00:00Z'",
    "Enterprise Leads": "SELECT count(*) FROM customers WHERE attr_interest = 'Enterprise' AND "
    "instr(tags_fold, char(31) || 'lead' || char(31)) > 0",
}
FLOOR_EXPORT = """
import csv, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
cols = sys.argv[3].split(",")
sql_cols = ", ".join("attr_" + c if c in ("tier", "interest", "lifetime_value", "last_purchase", "newsletter", "city") else c for c in cols)
rows = conn.execute(f"SELECT {sql_cols} FROM customers WHERE platform = 'whatsapp' AND marketing_opt_out = 0 ORDER BY id")
with open(sys.argv[2], "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(cols)
    w.writerows(rows)
"""


def seg_command() -> list[str]:
    found = shutil.which("seg")
    return [found] if found else [sys.executable, "-c", "from segcli.cli import main; main()"]


def measure(cmd: list[str], **kwargs) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KiB, stdout) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss, out.decode()


def median_of(cmd: list[str], repeat: int, **kwargs) -> tuple[float, int, str]:
    runs = [measure(cmd, **kwargs) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return path


def bench_size(n: int, repeat: int, out: Path) -> dict:
    seg = seg_command()
    data = out / f"n{n}"
    data.mkdir(parents=True, exist_ok=True)
    csv_path = data / "customers.csv"
    if not csv_path.exists():
        print(f"generating {n} customers ...", file=sys.stderr)
        generate(n, data / "customers", datetime(2026, 11, 29, 12, tzinfo=UTC), seed=42, formats=("csv",))
    db = data / "seg.db"
    flat = data / "flat.db"
    results: dict = {"n": n}

    import_runs, import_rss = [], 0
    floor_runs = []
    for _ in range(max(1, repeat // 2) if n >= 1_000_000 else repeat):
        fresh(db)
        subprocess.run(
            [*seg, "--db", str(db), "apply", str(ROOT / "segments.example.yaml")], check=True, capture_output=True
        )
        t, rss, _ = measure([*seg, "--db", str(db), "import", str(csv_path)])
        import_runs.append(t)
        import_rss = max(import_rss, rss)
        fresh(flat)
        t, _, _ = measure(["sqlite3", str(flat), f".import --csv {csv_path} customers"])
        floor_runs.append(t)
    results["import"] = {
        "seg": statistics.median(import_runs),
        "floor": statistics.median(floor_runs),
        "rss_kib": import_rss,
    }
    print(
        f"import: seg {results['import']['seg']:.2f}s, sqlite3 .import {results['import']['floor']:.2f}s",
        file=sys.stderr,
    )

    env = {**os.environ, "SEG_NOW": ANCHOR}
    counts = {}
    for name, sql in FLOOR_SQL.items():
        seg_t, _, seg_out = median_of([*seg, "--db", str(db), "count", name], repeat, env=env)
        py_t, _, py_out = median_of(
            [
                sys.executable,
                "-c",
                "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
                str(db),
                sql,
            ],
            repeat,
        )
        cli_t, _, cli_out = median_of(["sqlite3", str(db), sql], repeat)
        if not (seg_out.strip() == py_out.strip() == cli_out.strip()):
            raise SystemExit(
                f"counts differ for {name}: seg {seg_out.strip()}, python {py_out.strip()}, sqlite3 {cli_out.strip()}"
            )
        counts[name] = {"count": int(seg_out), "seg": seg_t, "floor": py_t, "sqlite3": cli_t}
        print(f"count {name}: {seg_out.strip()} in {seg_t * 1000:.0f} ms (floor {py_t * 1000:.0f} ms)", file=sys.stderr)
    results["count"] = counts
    results["zones"] = zones.measure(seg, db, repeat, env, measure)

    target = data / "audience.csv"
    exp_t, exp_rss, _ = median_of(
        [*seg, "--db", str(db), "export", "WhatsApp Opted-In", "-o", str(target), "-c", EXPORT_COLUMNS], repeat, env=env
    )
    seg_rows = sum(1 for _ in target.open(encoding="utf-8")) - 1
    floor_target = data / "floor.csv"
    floor_t, _, _ = median_of([sys.executable, "-c", FLOOR_EXPORT, str(db), str(floor_target), EXPORT_COLUMNS], repeat)
    floor_rows = sum(1 for _ in floor_target.open(encoding="utf-8")) - 1
    results["export"] = {"seg": exp_t, "floor": floor_t, "rss_kib": exp_rss, "rows": seg_rows, "floor_rows": floor_rows}
    print(f"export: {seg_rows} rows in {exp_t:.2f}s (csv.writer floor {floor_t:.2f}s)", file=sys.stderr)
    results["audiences"] = audiences.bench_audiences(db, repeat, audiences.LISTED, seg, measure)
    return results


def table(all_results: list[dict]) -> str:
    lines = ["| N | measure | seg | floor | ratio | target |", "|---|---|---|---|---|---|"]
    for r in all_results:
        n = f"{r['n']:,}"
        imp = r["import"]
        lines.append(
            f"| {n} | import (vs `sqlite3 .import`) | {imp['seg']:.2f} s | {imp['floor']:.2f} s | "
            f"{imp['seg'] / imp['floor']:.1f}× | ≤ 2.5× |"
        )
        ratios = []
        for name, c in r["count"].items():
            ratio = c["seg"] / c["floor"]
            ratios.append(ratio)
            lines.append(
                f"| {n} | count {name} = {c['count']:,} (sqlite3 CLI {c['sqlite3'] * 1000:.0f} ms) | "
                f"{c['seg'] * 1000:.0f} ms | {c['floor'] * 1000:.0f} ms | {ratio:.2f}× | ≤ 4.0× |"
            )
        lines.append(f"| {n} | count, median of the six | | | {statistics.median(ratios):.2f}× | ≤ 2.0× |")
        lines += zones.table_rows(n, r.get("zones"))
        exp = r["export"]
        lines.append(
            f"| {n} | export WhatsApp Opted-In, 16 columns, {exp['rows']:,} rows (vs csv.writer) | "
            f"{exp['seg']:.2f} s | {exp['floor']:.2f} s | {exp['seg'] / exp['floor']:.2f}× | ≤ 1.5× |"
        )
        lines.append(
            f"| {n} | peak RSS import / export | {imp['rss_kib'] / 1024:.0f} / {exp['rss_kib'] / 1024:.0f} MiB | | | "
            "≤ 150 / ≤ 80 MiB |"
        )
        lines += audiences.table(r["n"], r["audiences"]) if "audiences" in r else []
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated N (default 100000,1000000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is kept (default 5)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="where data and results go")
    args = parser.parse_args()
    if not shutil.which("sqlite3"):
        raise SystemExit("the sqlite3 command-line shell is needed for the floors (apt-get install sqlite3)")
    out = Path(args.out)
    results = [bench_size(int(n), args.repeat, out) for n in args.sizes.split(",")]
    pg_results = postgres.run_all(results, args.repeat, out)  # the same on PostgreSQL, if a server can run
    text = table(results) + (f"\n\n{postgres.table(pg_results)}" if pg_results else "")
    print(text)
    (out / "results.md").write_text(text + "\n", encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps({"sqlite": results, "postgresql": pg_results}, indent=2), encoding="utf-8"
    )
    __import__("profiles").report([int(n) for n in args.sizes.split(",")], args.repeat, out)  # imports of exports


if __name__ == "__main__":
    main()
