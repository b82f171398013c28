"""Benchmark a whole mailing: audience freeze, render, SMTP and ledger, through Redis and Celery.

Usage::

    .venv/bin/python benchmarks/dispatch.py [--recipients 100000] [--processes 2] [--json]

Everything runs on loopback on this machine: a throwaway PostgreSQL cluster (as the test suite
starts it), a Redis server, and Postfix's ``smtp-sink`` (Debian package ``postfix``; only the
``smtp-sink`` program is run, never the Postfix daemon). The sample release in six languages is
read from ``shared/fixtures/releases`` when it is beside the repository, else the product's demo
release is used. Contacts are spread round-robin over the languages.

In the same run, against the same sink, three baselines:

(a) ``smtp-source -d -s 4`` → ``smtp-sink``: the machine's SMTP ceiling;
(b) a plain Python loop in ``--processes`` processes sending the same pre-serialised message
    bytes with ``smtplib.sendmail`` over one reused connection each;
(c) the naive per-recipient path (a Jinja2 render + ``EmailMessage`` build +
    ``smtplib.send_message``) in ``--processes`` processes, on fewer messages (it is slow).

Then the product: ``--worker-processes`` Celery worker processes (``celery -A worker worker``,
prefork, one task at a time each) send the mailing. Reported: messages per second from pressing
send to the mailing's ``sent`` status, time to the first message, each worker's peak RSS
(VmHWM), and the CPU time each part of the system spent per message meanwhile (the worker pool,
PostgreSQL's processes, smtp-sink, Redis; from /proc, so only this run's processes count even
when other jobs share the machine).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FIXTURES = REPO.parent / "shared" / "fixtures" / "releases"
BIN = Path(sys.executable).parent
LANGUAGES = ("en", "ru", "tg", "kk", "ky", "pl")


def free_port() -> int:
    """A free loopback port."""
    from tests.support.services import free_port as pick

    return pick()


def release_texts() -> dict[str, str]:
    """Markdown with front matter per language: the sample release, or the demo release."""
    if FIXTURES.is_dir():
        return {lang: (FIXTURES / f"{lang}.md").read_text(encoding="utf-8") for lang in LANGUAGES}
    from mailer.demo.load import release_file

    return {lang: release_file(lang) for lang in LANGUAGES}


# --------------------------------------------------------------------------- baselines

def smtp_source(port: int, count: int, size_kb: int = 8) -> float:
    """(a) Seconds for smtp-source to push ``count`` messages through 4 sessions."""
    start = time.perf_counter()
    subprocess.run(["smtp-source", "-d", "-s", "4", "-m", str(count), "-l", str(size_kb * 1024),
                    "-f", "bench@example.org", "-t", "sink@example.com", f"127.0.0.1:{port}"],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def _raw_sender(port: int, data: bytes, count: int) -> None:
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(count):
            smtp.sendmail("bench@example.org", [f"r{n}@example.com"], data)


def in_processes(target: Any, args: tuple[Any, ...], processes: int) -> float:
    """Seconds for ``processes`` processes each running ``target(*args)``."""
    start = time.perf_counter()
    workers = [multiprocessing.Process(target=target, args=args) for _ in range(processes)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start


def raw_smtplib(port: int, data: bytes, count: int, processes: int) -> float:
    """(b) Seconds for ``processes`` processes to send ``count`` pre-serialised messages."""
    return in_processes(_raw_sender, (port, data, count // processes), processes)


NAIVE_TEMPLATE = """<!doctype html><html lang="{{ lang }}"><body>
<p>Dear {{ first_name }},</p>{{ body }}<p><a href="{{ unsubscribe }}">Unsubscribe</a></p>
</body></html>"""


def _naive_sender(port: int, texts: dict[str, str], count: int) -> None:
    import jinja2
    import markupsafe

    from mailer.rendering import markdown as md
    from mailer.rendering.frontmatter import parse_release_markdown

    env = jinja2.Environment(autoescape=True)
    template = env.from_string(NAIVE_TEMPLATE)
    contents = {lang: parse_release_markdown(text) for lang, text in texts.items()}
    bodies = {lang: md.to_html(md.parse(c.body)) for lang, c in contents.items()}
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(count):
            lang = LANGUAGES[n % len(LANGUAGES)]
            body = markupsafe.Markup(bodies[lang])  # noqa: S704 (sanitised Markdown output)
            html = template.render(lang=lang, first_name=f"Name{n}", body=body,
                                   unsubscribe=f"https://press.example.org/u/{n}")
            message = EmailMessage()
            message["From"] = "Press <press@example.org>"
            message["To"] = f"r{n}@example.com"
            message["Subject"] = contents[lang].subject
            message.set_content(contents[lang].body)
            message.add_alternative(html, subtype="html")
            smtp.send_message(message)


def naive(port: int, texts: dict[str, str], count: int, processes: int) -> float:
    """(c) Seconds for the naive per-recipient path in ``processes`` processes."""
    return in_processes(_naive_sender, (port, texts, count // processes), processes)


# --------------------------------------------------------------------------- the product

def fill(app: Any, recipients: int, texts: dict[str, str]) -> tuple[int, int]:
    """Insert the journalists, a list and the release; returns (list id, release id)."""
    from sqlalchemy import insert, select

    from mailer.contacts.models import Contact, ContactList, ListMember
    from mailer.contacts.validation import email_hash, email_key
    from mailer.db import db
    from mailer.releases.models import Release, Translation
    from mailer.rendering.frontmatter import parse_release_markdown

    with app.app_context():
        press = ContactList(name="Benchmark desk")
        db.session.add(press)
        contents = {lang: parse_release_markdown(text) for lang, text in texts.items()}
        release = Release(title="Benchmark release", default_language="en",
                          embargo_at=contents["en"].embargo)
        db.session.add(release)
        db.session.flush()
        for lang, content in contents.items():
            db.session.add(Translation(release_id=release.id, language=lang,
                                       subject=content.subject, preheader=content.preheader,
                                       body=content.body, status="approved"))
        db.session.commit()
        chunk = 10_000
        for first in range(0, recipients, chunk):
            rows = []
            for n in range(first, min(first + chunk, recipients)):
                address = f"journalist{n}@example.com"
                rows.append({"email": address, "email_key": email_key(address),
                             "email_hash": email_hash(address), "first_name": f"Имя{n}",
                             "last_name": "Тестов", "outlet": "Daily Example",
                             "language": LANGUAGES[n % len(LANGUAGES)], "languages": [],
                             "timezone": "Asia/Almaty", "source": "api",
                             "search_text": f"имя{n} тестов {address}"})
            db.session.execute(insert(Contact), rows)
            db.session.commit()
        ids = db.session.scalars(select(Contact.id)).all()
        for first in range(0, len(ids), chunk):
            db.session.execute(insert(ListMember), [{"list_id": press.id, "contact_id": i}
                                                     for i in ids[first:first + chunk]])
        db.session.commit()
        return press.id, release.id


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process, in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes so far (0 for those gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def postgres_pids(datadir: Path) -> list[int]:
    """The postmaster of a cluster and its children (backends, writers)."""
    try:
        postmaster = int((datadir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [postmaster, *worker_children(postmaster)]


def worker_children(pid: int) -> list[int]:
    """Pids of a Celery master's pool processes."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def heap_only_updates(db: Any, expected: int) -> dict[str, int]:
    """Updates of the deliveries table so far, and how many were heap-only (HOT: no index
    entry written). Waits for the workers' statistics, which backends report on exit or idle."""
    from sqlalchemy import text

    query = text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                 "WHERE relname = 'deliveries'")
    deadline = time.monotonic() + 15
    while True:
        db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
        updates, hot = db.session.execute(query).one()
        db.session.commit()
        if updates >= expected or time.monotonic() > deadline:
            return {"all": int(updates), "heap_only": int(hot)}
        time.sleep(1)


def run_mailing(app: Any, env: dict[str, str], list_id: int, release_id: int,
                recipients: int, processes: int, work: Path,
                others: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send the mailing through real workers; time it and measure the workers."""
    from sqlalchemy import func, select

    from mailer.db import db
    from mailer.dispatch import service
    from mailer.dispatch.models import Delivery, Mailing

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")} | env
    log = (work / "workers.log").open("wb")
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "worker", "worker", "--pool", "prefork", "-c", str(processes),
         "-Q", "dispatch,tracking,housekeeping", "--without-mingle", "--without-gossip",
         "--loglevel", "WARNING", "--prefetch-multiplier", "1"],
        env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=work)
    time.sleep(6)  # let the pool come up
    children = worker_children(worker.pid)
    try:
        with app.app_context():
            mailing = service.create_mailing({"release_id": release_id, "list_ids": [list_id],
                                              "tracking": True}, created_by="bench")
            mailing_id = mailing.id
            parts = {"workers": lambda: children, **(others or {})}
            cpu_before = {name: cpu_seconds(pids()) for name, pids in parts.items()}
            start_wall = time.time()
            start = time.perf_counter()
            service.send_mailing(mailing_id)
            first_at = None
            peaks: dict[int, float] = {}
            while True:
                time.sleep(0.25)
                for child in children:
                    peaks[child] = max(peaks.get(child, 0.0), peak_rss_mb(child))
                db.session.expire_all()
                status = db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id))
                if first_at is None:
                    first_at = db.session.scalar(select(func.min(Delivery.sent_at))
                                                 .where(Delivery.mailing_id == mailing_id))
                db.session.commit()
                if status == "sent":
                    cpu_after = {name: cpu_seconds(pids()) for name, pids in parts.items()}
                    break
                if time.perf_counter() - start > 3600:
                    raise SystemExit("the mailing did not finish within an hour")
            elapsed = time.perf_counter() - start
            sent = db.session.scalar(select(func.count(Delivery.id)).where(
                Delivery.mailing_id == mailing_id, Delivery.status == "sent"))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        log.close()
    with app.app_context():
        updates = heap_only_updates(db, 2 * recipients)
    return {
        "recipients": recipients,
        "sent": sent,
        "seconds": round(elapsed, 2),
        "msgs_per_s": round(recipients / elapsed, 1),
        "first_message_s": round(first_at.timestamp() - start_wall, 2) if first_at else None,
        "worker_peak_rss_mb": [round(v, 1) for v in peaks.values()],
        "deliveries_updates": updates,
        "cpu_us_per_msg": {name: round((cpu_after[name] - cpu_before[name]) / recipients * 1e6)
                           for name in parts},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2,
                        help="processes of baselines (b) and (c)")
    parser.add_argument("--worker-processes", type=int, default=4,
                        help="Celery pool processes sending the mailing")
    parser.add_argument("--naive", type=int, default=5_000, help="messages for baseline (c)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("smtp-sink") is None:
        raise SystemExit("smtp-sink not found: apt-get install postfix (the daemon is not used)")

    from benchmarks.import_contacts import migrate, start_postgres
    from tests.support.services import _start_redis

    work = Path(tempfile.mkdtemp(prefix="mailer-bench-"))
    cluster = start_postgres()
    redis = _start_redis()
    port = free_port()
    sink = subprocess.Popen(["smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    results: dict[str, Any] = {"recipients": args.recipients, "processes": args.processes,
                               "worker_processes": args.worker_processes}
    try:
        texts = release_texts()
        database = cluster.create_database("bench")
        env = {"MAILER_DATABASE_URL": database, "MAILER_BROKER_URL": redis.url,
               "MAILER_SMTP_URL": f"smtp://127.0.0.1:{port}", "MAILER_INSTANCE": str(work),
               "MAILER_FROM": "Nota Bene Press <press@example.org>",
               "MAILER_PUBLIC_URL": "https://press.example.org", "MAILER_LOG_LEVEL": "WARNING",
               "MAILER_SECRET_KEY": "benchmark-secret-benchmark-secret-0123456789"}
        migrate(env)
        from mailer import create_app

        app = create_app(dict(env))
        list_id, release_id = fill(app, args.recipients, texts)

        from mailer.dispatch.compose import InstanceSettings, MailingComposer
        from mailer.dispatch.ledger import ClaimedDelivery

        with app.app_context():
            composer = MailingComposer(0, release_id, InstanceSettings.from_config(app.config))
            sample = composer.compose(ClaimedDelivery(1, None, "journalist1@example.com", "ru",
                                                      "<bench.1@example.org>", 0)).data
        results["message_bytes"] = len(sample)
        a = smtp_source(port, args.recipients)
        results["a_smtp_source_msgs_per_s"] = round(args.recipients / a, 1)
        b = raw_smtplib(port, sample, args.recipients, args.processes)
        results["b_raw_smtplib_msgs_per_s"] = round(args.recipients / b, 1)
        c = naive(port, texts, args.naive, args.processes)
        results["c_naive_msgs_per_s"] = round(args.naive / c, 1)
        env["MAILER_DISPATCH_CONCURRENCY"] = str(args.worker_processes)
        app.config["MAILER_DISPATCH_CONCURRENCY"] = args.worker_processes
        others = {"postgres": lambda: postgres_pids(cluster.datadir),
                  "smtp-sink": lambda: [sink.pid],
                  "redis": lambda: [redis._proc.pid] if redis._proc else []}
        results["mailer"] = run_mailing(app, env, list_id, release_id, args.recipients,
                                        args.worker_processes, work, others)
        results["mailer_vs_b"] = round(results["mailer"]["msgs_per_s"]
                                       / results["b_raw_smtplib_msgs_per_s"], 2)
    finally:
        sink.terminate()
        redis._close()
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
        return
    for key, value in results.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
