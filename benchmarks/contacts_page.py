#!/usr/bin/env python3
"""The contacts page at 100,000 journalists: response times of the web table and the API list.

Usage (from the repository root, with the virtualenv)::

    .venv/bin/python benchmarks/contacts_page.py [--rows 100000] [--requests 40]
        [--database sqlite|postgres|both] [--postgres-url URL]

Fills a fresh, migrated database with ``--rows`` contacts (realistic names, outlets, languages
and tags from shared/tools/gen_contacts.py when it is there), five lists holding about a third of
them, and 2 % of the addresses suppressed, all by bulk insert; then asks the app, in process
through Flask's test client (no HTTP server in the way), for the pages below and prints the
median and 95th percentile of each. Without ``--postgres-url`` PostgreSQL is a throwaway cluster
started for the run (as the tests do) and removed afterwards. Goal: under 150 ms at 100,000.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_contacts.py"

PAGES = [
    ("web: first page, default sort", "/contacts/"),
    ("web: search 'анна' + language ru", "/contacts/?q=%D0%B0%D0%BD%D0%BD%D0%B0&language=ru"),
    ("web: search 'steppe' + country KZ, by email desc",
     "/contacts/?q=steppe&country=KZ&sort=email&order=desc"),
    ("web: search matching nothing ('zzzz')", "/contacts/?q=zzzz"),
    ("web: tag vip + status active", "/contacts/?tag=vip&status=active"),
    ("web: list 1, sorted by outlet", "/contacts/?list_id=1&sort=outlet"),
    ("web: status suppressed", "/contacts/?status=suppressed"),
    ("web: page 1000 (deep offset)", "/contacts/?page=1000"),
    ("web: lists page (member counts)", "/lists/"),
    ("api: first page of 50", "/api/v1/contacts"),
    ("api: search 'ivan' + language ru", "/api/v1/contacts?q=ivan&language=ru"),
    ("api: tag tv + list 2, per_page 100", "/api/v1/contacts?tag=tv&list_id=2&per_page=100"),
]


def _rows(count: int) -> Iterator[list[str]]:
    """Rows of email … tags, from the shared generator when present, else a plain stand-in."""
    if GENERATOR.is_file():
        spec = importlib.util.spec_from_file_location("gen_contacts", GENERATOR)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield from module.rows(count, random.Random(2016))
        return
    rng = random.Random(2016)
    for i in range(count):
        lang = rng.choice(["ru", "en", "kk", "tg", "ky", "pl"])
        yield [f"journalist.{i}@example.org", rng.choice(["Анна", "Sarah", "Нурлан"]),
               rng.choice(["Иванова", "Walker", "Оспанова"]), rng.choice(["Steppe Wire", "Pamir"]),
               "politics", "KZ", lang, "Asia/Almaty", rng.choice(["", "tv", "vip;print"])]


def fill(url: str, count: int) -> None:
    """Bulk-insert ``count`` contacts, their tags, five lists and 2 % suppressions."""
    from sqlalchemy import create_engine, insert

    from mailer.contacts.models import (
        Contact,
        ContactList,
        ContactTag,
        ListMember,
        Suppression,
        search_text_for,
    )
    from mailer.contacts.validation import FieldError, email_hash, email_key, normalise_email

    engine = create_engine(url)
    now = datetime.now(UTC)
    rng = random.Random(7)
    contacts: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    suppressions: list[dict[str, Any]] = []
    for number, row in enumerate(_rows(count), start=1):
        try:
            email = normalise_email(row[0])
        except FieldError:  # ``.test`` domains: the app refuses them, the page does not care
            email = row[0]
        key = email_key(email)
        values: dict[str, Any] = {"id": number, "email": email, "email_key": key,
                  "first_name": row[1], "last_name": row[2], "outlet": row[3], "beat": row[4],
                  "role": "", "country": row[5], "language": row[6], "languages": [],
                  "timezone": row[7], "phone": "", "social": {}, "notes": "", "tracking": True,
                  "source": "import", "source_detail": "benchmark", "created_at": now,
                  "updated_at": now}
        values["email_hash"] = email_hash(key)
        values["search_text"] = search_text_for(values)
        contacts.append(values)
        tags.extend({"contact_id": number, "tag": tag} for tag in row[8].split(";") if tag)
        for list_id in range(1, 6):
            if rng.random() < 0.07:
                members.append({"list_id": list_id, "contact_id": number, "added_at": now})
        if rng.random() < 0.02:
            suppressions.append({"email_hash": values["email_hash"], "email": email,
                                 "reason": "hard_bounce", "detail": "", "created_at": now})
    with engine.begin() as conn:
        for start in range(0, len(contacts), 5000):
            conn.execute(insert(Contact), contacts[start:start + 5000])
        conn.execute(insert(ContactTag), tags)
        conn.execute(insert(ContactList), [
            {"id": i, "name": f"List {i}", "description": "", "created_at": now,
             "updated_at": now} for i in range(1, 6)])
        conn.execute(insert(ListMember), members)
        conn.execute(insert(Suppression), suppressions)
    with engine.connect() as conn:  # what autovacuum (PostgreSQL) or PRAGMA optimize would do
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()


def measure(url: str, instance: Path, count: int, requests: int) -> list[tuple[str, float, float]]:
    """Create the app on ``url``, fill it, and time every page of ``PAGES``."""
    from flask_migrate import upgrade

    from mailer import create_app
    from mailer.auth import service

    app = create_app({"MAILER_ENV": "testing", "MAILER_INSTANCE": str(instance),
                      "MAILER_DATABASE_URL": url, "TESTING": True})
    with app.app_context():
        upgrade()
        user = service.create_user("bench@example.com", "correct horse battery", "admin")
        token = service.issue_token(user)[1]
    started = time.perf_counter()
    fill(url, count)
    print(f"  filled {count:,} contacts in {time.perf_counter() - started:.1f} s", flush=True)

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert csrf
    client.post("/login", data={"email": "bench@example.com",
                                "password": "correct horse battery", "csrf_token": csrf[1]})
    headers = {"Authorization": f"Bearer {token}"}
    results = []
    for label, path in PAGES:
        def get(path: str = path) -> Any:
            return client.get(path, headers=headers if path.startswith("/api/") else None)

        for _ in range(3):  # warm caches, as a browsing user would
            assert get().status_code == 200, path
        times = []
        for _ in range(requests):
            begin = time.perf_counter()
            response = get()
            times.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, path
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        results.append((label, statistics.median(times), p95))
    from mailer.db import db

    with app.app_context():
        db.engine.dispose()
    return results


def report(name: str, results: list[tuple[str, float, float]]) -> None:
    """Print one table of figures."""
    print(f"\n{name}")
    print(f"  {'page':<52} {'median ms':>10} {'p95 ms':>8}")
    for label, median, p95 in results:
        print(f"  {label:<52} {median:>10.1f} {p95:>8.1f}")


def main() -> None:
    """Run the benchmark on the databases asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database to use instead "
                        "of a throwaway cluster (postgresql+psycopg://…)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailer-bench-"))
    try:
        if args.database in {"sqlite", "both"}:
            print(f"SQLite, {args.rows:,} contacts", flush=True)
            url = f"sqlite:///{work / 'sqlite' / 'mailer.db'}"
            (work / "sqlite").mkdir()
            report(f"SQLite, {args.rows:,} contacts",
                   measure(url, work / "sqlite", args.rows, args.requests))
        if args.database in {"postgres", "both"}:
            print(f"\nPostgreSQL, {args.rows:,} contacts", flush=True)
            if args.postgres_url:
                results = measure(args.postgres_url, work / "pg", args.rows, args.requests)
            else:
                results = _with_throwaway_postgres(work, args.rows, args.requests)
            report(f"PostgreSQL, {args.rows:,} contacts", results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _with_throwaway_postgres(work: Path, rows: int,
                             requests: int) -> list[tuple[str, float, float]]:
    from tests.support.services import PostgresCluster, find_postgres_bindir

    bindir = find_postgres_bindir()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found: apt-get install postgresql, or --postgres-url")
    cluster = PostgresCluster(bindir)
    try:
        cluster.init_and_start()
        name = "bench_" + hashlib.sha256(str(time.time()).encode()).hexdigest()[:8]
        return measure(cluster.create_database(name), work / "pg", rows, requests)
    finally:
        cluster.stop()
        shutil.rmtree(cluster.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
