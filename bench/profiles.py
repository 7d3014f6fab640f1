"""Imports of real exports (SPEC §8, issue 11), each against its own baseline in one run.

    python bench/profiles.py --sizes 100000 --repeat 3

For N customers (sample_data/generate.py, seeded) it measures whole `seg import` processes,
medians over --repeat runs, into fresh databases:

- **profile**: the file with every header renamed (``Customer Ref``, ``Full Name``...) through a
  profile file that maps each one back, against the plain file; target at most 1.2x.
- **first import**: the plain file with its attributes undeclared (typed by inference) against
  the same file with them declared as inference types them; target at most 1.3x.
- **phones**: the plain file without its phone column, with phones in E.164 (the short path),
  and with the same phones written as people type them (``00968 9123 4567``: the library's
  full parse); the cost of normalizing phones is the difference.
- the peak RSS of each import (memory stays flat).

`bench/run.py` calls ``bench_profiles`` for each size and prints its table too.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sample_data"))
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402
from run import fresh, seg_command  # noqa: E402

#: Every header of the benchmark file, renamed as another system would name it.
RENAMED = {
    "id": "Customer Ref",
    "name": "Full Name",
    "email": "E-mail Address",
    "phone": "Mobile No",
    "language": "Preferred Lang",
    "platform": "Source Channel Name",
    "country": "Country Of Residence",
    "tags": "Segments",
    "created_at": "Signed Up",
    "last_interaction_at": "Last Chat",
    "marketing_opt_out": "Do Not Contact",
    "tier": "Loyalty Tier",
    "interest": "Main Interest",
    "lifetime_value": "LTV",
    "last_purchase": "Last Order",
    "newsletter": "Newsletter Flag",
    "products": "Bought",
    "city": "Town",
}
#: The attributes of the benchmark file, as inference types them.
INFERRED = {
    "tier": "text",
    "interest": "text",
    "lifetime_value": "number",
    "last_purchase": "date",
    "newsletter": "boolean",
    "products": "text",
    "city": "text",
}


def _rewrite(source: Path, target: Path, change) -> None:
    """Copy a CSV, a row at a time, through ``change(row, is_header)``."""
    with source.open(newline="", encoding="utf-8") as src, target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        for n, row in enumerate(csv.reader(src)):
            writer.writerow(change(row, n == 0))


def prepare(data: Path, n: int) -> dict[str, Path]:
    """The files and declarations the measures need, made once per size."""
    plain = data / "customers.csv"
    if not plain.exists():
        print(f"generating {n} customers ...", file=sys.stderr)
        generate(n, data / "customers", datetime(2026, 11, 29, 12, tzinfo=UTC), seed=42, formats=("csv",))
    files = {"plain": plain}
    header = plain.open(encoding="utf-8").readline().strip().split(",")
    files["renamed"] = data / "renamed.csv"
    if not files["renamed"].exists():
        _rewrite(plain, files["renamed"], lambda row, first: [RENAMED[h] for h in row] if first else row)
    files["profile"] = data / "renamed.profile.yaml"
    columns = "\n".join(f"  {field}: {json.dumps(RENAMED[field])}" for field in header)
    files["profile"].write_text(f"profile: bench-renamed\ncolumns:\n{columns}\n", encoding="utf-8")
    files["declared"] = data / "declared.yaml"
    declared = "\n".join(f"  {name}: {{type: {type_}}}" for name, type_ in INFERRED.items())
    files["declared"].write_text(f"attributes:\n{declared}\n", encoding="utf-8")
    phone = header.index("phone")
    files["no_phone"] = data / "no-phone.csv"
    if not files["no_phone"].exists():
        _rewrite(plain, files["no_phone"], lambda row, first: row[:phone] + row[phone + 1 :])
    files["typed"] = data / "typed-phones.csv"
    if not files["typed"].exists():

        def typed(row: list[str], first: bool) -> list[str]:
            if not first and row[phone].startswith("+968"):
                digits = row[phone][4:]
                row[phone] = f"00968 {digits[:4]} {digits[4:]}"
            return row

        _rewrite(plain, files["typed"], typed)
    return files


def _import(seg: list[str], db: Path, path: Path, *extra: str, setup: list[list[str]] = ()) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB) of one `seg import` process. The CPU time
    (user + system) is what the machine's other load disturbs least."""
    fresh(db)
    for command in setup:
        subprocess.run([*seg, "--db", str(db), *command], check=True, capture_output=True)
    cmd = [*seg, "--db", str(db), "import", str(path), *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def bench_profiles(n: int, repeat: int, out: Path) -> dict:
    """The medians (seconds) and peak RSS (KiB) of each import, and the ratios the issue sets."""
    seg = seg_command()
    data = out / f"n{n}"
    data.mkdir(parents=True, exist_ok=True)
    files = prepare(data, n)
    db = data / "profiles.db"
    declare = ["apply", str(files["declared"])]
    cases = {
        "plain (declared)": (files["plain"], (), [declare]),
        "renamed, through a profile (declared)": (files["renamed"], ("--profile", str(files["profile"])), [declare]),
        "plain, attributes undeclared (inferred)": (files["plain"], (), []),
        "no phone column (declared)": (files["no_phone"], (), [declare]),
        "phones typed as 00968 9123 4567 (declared)": (files["typed"], (), [declare]),
    }
    runs: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    rss: dict[str, int] = dict.fromkeys(cases, 0)
    for _ in range(repeat):
        for name, (path, extra, setup) in cases.items():  # interleaved: the machine's noise hits all alike
            seconds, cpu_seconds, peak = _import(seg, db, path, *extra, setup=setup)
            runs[name].append(seconds)
            cpu[name].append(cpu_seconds)
            rss[name] = max(rss[name], peak)
    result = {
        "n": n,
        "median": {k: statistics.median(v) for k, v in runs.items()},
        "cpu": {k: statistics.median(v) for k, v in cpu.items()},
        "rss_kib": rss,
    }
    pairs = {
        "profile / plain": ("renamed, through a profile (declared)", "plain (declared)"),
        "undeclared / declared": ("plain, attributes undeclared (inferred)", "plain (declared)"),
        "E.164 phones / no phone": ("plain (declared)", "no phone column (declared)"),
        "typed phones / no phone": ("phones typed as 00968 9123 4567 (declared)", "no phone column (declared)"),
    }
    for what in ("median", "cpu"):
        result["ratios" if what == "median" else "cpu_ratios"] = {
            name: result[what][a] / result[what][b] for name, (a, b) in pairs.items()
        }
    for name, seconds in result["median"].items():
        print(
            f"{name}: {seconds:.2f}s, CPU {result['cpu'][name]:.2f}s (peak {rss[name] / 1024:.0f} MiB)", file=sys.stderr
        )
    return result


def table(results: list[dict]) -> str:
    lines = ["| N | import | wall (median) | CPU (median) | peak RSS | target |", "|---|---|---|---|---|---|"]
    targets = {"profile / plain": "≤ 1.2×", "undeclared / declared": "≤ 1.3×"}
    for r in results:
        n = f"{r['n']:,}"
        for name, seconds in r["median"].items():
            lines.append(
                f"| {n} | {name} | {seconds:.2f} s | {r['cpu'][name]:.2f} s | {r['rss_kib'][name] / 1024:.0f} MiB | |"
            )
        for name, ratio in r["ratios"].items():
            lines.append(
                f"| {n} | **{name}** | {ratio:.2f}× | {r['cpu_ratios'][name]:.2f}× | | {targets.get(name, 'reported')} |"
            )
    return "\n".join(lines)


def report(sizes: list[int], repeat: int, out: Path) -> list[dict]:
    """Measure each size, print the table and write it (and the raw numbers) to ``out``."""
    results = [bench_profiles(n, repeat, out) for n in sizes]
    text = table(results)
    print(text)
    (out / "profiles.md").write_text(text + "\n", encoding="utf-8")
    (out / "profiles.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="comma-separated N (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is kept (default 3)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="where data and results go")
    args = parser.parse_args()
    report([int(n) for n in args.sizes.split(",")], args.repeat, Path(args.out))


if __name__ == "__main__":
    main()
