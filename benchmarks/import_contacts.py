"""Benchmark the CSV import: rows per second and peak memory, beside a plain ``csv`` read.

Usage::

    .venv/bin/python benchmarks/import_contacts.py [--rows 100000 1000000]
        [--db sqlite postgres] [--list] [--json]

For each size, a file is generated with ``shared/tools/gen_contacts.py`` (rows of the same
shape are generated here if the script is absent) and its ``press.test`` addresses are moved to
``press.example``: email-validator refuses the reserved ``.test`` domain, and every row should
cost a real insert. For each database (SQLite in a temp folder; PostgreSQL in a throwaway
cluster started as the test suite starts it, fsync off), a fresh database is migrated with
``mailer db upgrade`` and the file is imported by a *child process* calling
``mailer.contacts.importing.service.import_contacts`` — the engine of the API, CLI and wizard.
The child reports the import's wall time and its own peak RSS (``getrusage(RUSAGE_SELF)``,
so the parent's memory never counts). In the same run, another child reads the same file with
the plain ``csv`` module (``for row in csv.reader(f)``) as the floor any Python import sits on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO.parent / "shared" / "tools" / "gen_contacts.py"
MAILER = Path(sys.executable).parent / "mailer"


# --------------------------------------------------------------------------- children


def child_import(path: str, list_name: str | None) -> None:
    """Import ``path`` into the database of the environment; print timing and memory."""
    from mailer import create_app
    from mailer.contacts.importing import service

    app = create_app()
    with app.app_context(), open(path, "rb") as stream:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report = service.import_contacts(
            stream, service.ImportOptions(filename=Path(path).name, list_name=list_name))
        seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds, "rows": report.rows, "created": report.created,
        "rejected": report.rejected, "peak_rss_mb": _peak_mb(),
        "rss_before_import_mb": before / 1024,
    }))


def child_csv(path: str) -> None:
    """Read ``path`` with the plain csv module only; print timing and memory."""
    import csv

    started = time.perf_counter()
    rows = 0
    with open(path, encoding="utf-8", newline="") as handle:
        for _ in csv.reader(handle):
            rows += 1
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows - 1,
                      "peak_rss_mb": _peak_mb()}))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- the parent


def generate(rows: int, folder: Path) -> Path:
    """A contacts file of ``rows`` rows with the shared generator, every address valid."""
    raw = folder / f"raw-{rows}.csv"
    path = folder / f"contacts-{rows}.csv"
    if GENERATOR.exists():
        subprocess.run([sys.executable, str(GENERATOR), str(rows), "--out", str(raw)],
                       check=True)
    else:
        _generate_here(raw, rows)
    with raw.open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as out:
        for line in source:
            out.write(line.replace("@press.test,", "@press.example,"))
    raw.unlink()
    return path


def _generate_here(path: Path, rows: int) -> None:
    import csv

    rng = random.Random(2016)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "first_name", "last_name", "outlet", "beat", "country",
                         "language", "timezone", "tags"])
        for i in range(rows):
            email = f"журналист{i}@пример.испытание" if i % 97 == 13 else \
                f"anna.ivanova.{i}@{rng.choice(['example.com', 'news.example'])}"
            writer.writerow([email, "Анна", "Иванова", "Steppe Wire", "politics", "KZ", "kk",
                             "Asia/Almaty", ";".join(rng.sample(["tv", "print", "vip"],
                                                                rng.randint(0, 2)))])


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run this script in a child mode and return what it printed."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")} | env
    result = subprocess.run([sys.executable, __file__, *args], env=full_env,
                            capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"child {args} failed:\n{result.stderr}")
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def migrate(env: dict[str, str]) -> None:
    """``mailer db upgrade`` on the database of ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")} | env
    subprocess.run([str(MAILER), "db", "upgrade"], env=full_env, check=True,
                   capture_output=True)


def start_postgres() -> Any:
    """A throwaway cluster, as tests/support/services.py starts it (fsync off, trust auth)."""
    sys.path.insert(0, str(REPO))
    from tests.support.services import PostgresCluster, find_postgres_bindir

    bindir = find_postgres_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
    cluster = PostgresCluster(bindir)
    cluster.init_and_start()
    return cluster


def main() -> None:
    """Parse the arguments and run the benchmark, or one child step of it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"],
                        default=["sqlite", "postgres"])
    parser.add_argument("--list", action="store_true",
                        help="import into a list as well (one membership row per contact)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child-import", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--child-list", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--child-csv", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        child_import(args.child_import, args.child_list)
        return
    if args.child_csv:
        child_csv(args.child_csv)
        return

    work = Path(tempfile.mkdtemp(prefix="mailer-import-bench-"))
    cluster = start_postgres() if "postgres" in args.db else None
    results: list[dict[str, Any]] = []
    try:
        for rows in args.rows:
            path = generate(rows, work)
            size_mb = path.stat().st_size / 1e6
            baseline = run_child(["--child-csv", str(path)], {})
            print(f"{rows:>9,} rows, {size_mb:.1f} MB: csv.reader alone "
                  f"{baseline['seconds']:.2f} s ({rows / baseline['seconds']:,.0f} rows/s, "
                  f"peak {baseline['peak_rss_mb']:.0f} MB)", file=sys.stderr)
            for database in args.db:
                instance = work / f"{database}-{rows}"
                instance.mkdir()
                if database == "sqlite":
                    url = f"sqlite:///{instance / 'mailer.db'}"
                else:
                    url = cluster.create_database(f"bench_{rows}")
                env = {"MAILER_INSTANCE": str(instance), "MAILER_DATABASE_URL": url,
                       "MAILER_IMPORT_MAX_BYTES": str(path.stat().st_size)}
                migrate(env)
                load = os.getloadavg()[0]
                child = ["--child-import", str(path)]
                if args.list:
                    child += ["--child-list", "Benchmark"]
                outcome = run_child(child, env)
                result = {"database": database, "rows": rows, "file_mb": round(size_mb, 1),
                          "seconds": round(outcome["seconds"], 2),
                          "rows_per_second": round(rows / outcome["seconds"]),
                          "peak_rss_mb": round(outcome["peak_rss_mb"]),
                          "rss_before_import_mb": round(outcome["rss_before_import_mb"]),
                          "created": outcome["created"], "list": args.list,
                          "csv_seconds": round(baseline["seconds"], 2),
                          "csv_peak_rss_mb": round(baseline["peak_rss_mb"]),
                          "load_average": round(load, 1)}
                results.append(result)
                print(f"  {database:<8} {result['seconds']:>7.1f} s  "
                      f"{result['rows_per_second']:>8,} rows/s  peak {result['peak_rss_mb']} MB "
                      f"(app alone {result['rss_before_import_mb']} MB), created "
                      f"{result['created']:,}, load {load:.1f}", file=sys.stderr)
                if cluster is not None and database == "postgres":
                    cluster.drop_database(f"bench_{rows}")
                shutil.rmtree(instance, ignore_errors=True)
            path.unlink()
    finally:
        if cluster is not None:
            cluster._close()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
