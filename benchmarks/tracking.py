#!/usr/bin/env python3
"""Tracking under a burst: open-pixel and click-redirect requests per second with ``wrk``, and
whether every request became an event; bounce messages classified per second.

Usage (from the repository root, with the virtualenv; needs Debian's ``wrk``, ``nginx-light``,
``redis-server`` and ``postgresql``)::

    .venv/bin/python benchmarks/tracking.py [--seconds 10] [--connections 32]
        [--deliveries 20000] [--json]

One run, everything on loopback, side by side:

* nginx ``empty_gif`` (the ceiling: a static GIF from C);
* a naive Flask view returning the GIF on gunicorn (2 sync workers), and the same with one
  Redis ``INCR`` per request (benchmarks/tracking_baselines.py);
* the mailer (``gunicorn 'mailer:create_app()'`` on a throwaway PostgreSQL cluster, Redis as
  broker): ``/t/o/<token>.gif`` and ``/t/c/<token>`` for random deliveries of a 20,000-recipient
  mailing, with 2 sync workers (the naive baselines' shape) and with docker-compose.yml's
  shape (4 gthread workers × 4 threads).

After each mailer burst gunicorn is stopped gracefully (SIGTERM: buffered hits are written at
exit) and the rows added to ``tracking_events`` are counted against the responses wrk saw.
wrk counts completed responses only, so events may exceed them by the requests in flight when
it stopped (at most one per connection); fewer events than responses would be a lost event.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
SECRET = "benchmark-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a throwaway run
PUBLIC_URL = "http://127.0.0.1:8000"
LUA = """
local paths = {}
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time() + tonumber(tostring(paths):match("0x(%x+)"), 16) % 100000)
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)],
                    {["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"})
end
"""
NGINX = """
worker_processes 2;
daemon off;
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /t/o/ {{ empty_gif; add_header Cache-Control no-store; }}
  }}
}}
"""


def free_port() -> int:
    from tests.support.services import free_port as port

    return port()


def wait_http(url: str, timeout: float = 30) -> None:
    """Wait until ``url`` answers at all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def run_wrk(url: str, paths: Path, script: Path, seconds: int, connections: int
            ) -> dict[str, Any]:
    """One wrk burst; its requests, rate, latency percentiles and errors."""
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
                          "--latency", "-s", str(script), url, "--", str(paths)],
                         check=True, capture_output=True, text=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    latency = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
    return {"requests": requests, "rate": rate, "non_2xx_3xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else "", "p50": latency.get("50", ""),
            "p99": latency.get("99", "")}


def start(args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT
          ) -> subprocess.Popen[bytes]:
    """A server process, its output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(args, env={**os.environ, **env}, cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Graceful stop (SIGTERM), then wait for the exit."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def prepare(database_url: str, deliveries: int, work: Path) -> tuple[Path, Path]:
    """Migrate, insert one sent mailing of ``deliveries`` recipients, write the URL lists."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from mailer import create_app
    from mailer.db import db, utcnow
    from mailer.dispatch.models import Delivery, Mailing
    from mailer.releases.links import DeliveryRef, links_for
    from mailer.releases.models import Release

    app = create_app({"MAILER_INSTANCE": str(work / "instance"), "MAILER_DATABASE_URL":
                      database_url, "MAILER_SECRET_KEY": SECRET,
                      "MAILER_PUBLIC_URL": PUBLIC_URL})
    with app.app_context():
        upgrade()
        release = Release(title="Benchmark", default_language="en")
        db.session.add(release)
        db.session.flush()
        mailing = Mailing(release_id=release.id, list_ids=[], status="sent")
        db.session.add(mailing)
        db.session.flush()
        sent = utcnow().replace(microsecond=0)
        sent = sent.replace(hour=max(sent.hour - 1, 0))
        db.session.execute(insert(Delivery), [
            {"mailing_id": mailing.id, "contact_id": n + 1, "email": f"r{n}@example.org",
             "language": "en", "status": "sent", "sent_at": sent,
             "message_id": f"<m{n}@example.org>"} for n in range(deliveries)])
        db.session.commit()
        ids = list(db.session.scalars(db.select(Delivery.id).order_by(Delivery.id)))
        links = links_for(app.config)
        opens, clicks = work / "opens.txt", work / "clicks.txt"
        opens.write_text("\n".join(links.open_url(DeliveryRef(i, n + 1)).removeprefix(PUBLIC_URL)
                                   for n, i in enumerate(ids)) + "\n")
        clicks.write_text("\n".join(
            links.click_url(DeliveryRef(i, n + 1), f"https://example.org/news/{n % 7}?lang=en")
            .removeprefix(PUBLIC_URL) for n, i in enumerate(ids)) + "\n")
        db.session.remove()
        db.engine.dispose()
    return opens, clicks


def count_events(database_url: str) -> int:
    """Rows in tracking_events."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        value = connection.execute(text("SELECT count(*) FROM tracking_events")).scalar_one()
    engine.dispose()
    return int(value)


def bounce_rate(repeat: int = 300) -> dict[str, float]:
    """Bounce messages classified per second (the tests' samples, round robin, one core)."""
    from mailer.tracking.classify import classify_message
    from tests.tracking import bounce_samples as s

    verp, rcpt, mid = "bounce+1-abcdefabcdef@example.org", "a@example.kz", "<m1@example.org>"
    messages = [s.postfix_dsn(verp, rcpt, mid), s.exim_classic(verp, rcpt, mid),
                s.office365_ndr(verp, rcpt, mid), s.gmail_dsn(verp, rcpt, mid),
                s.qmail_bounce(verp, rcpt, mid), s.arf_complaint(verp, rcpt, mid),
                s.out_of_office(verp, rcpt, mid)]
    started = time.perf_counter()
    for _ in range(repeat):
        for raw in messages:
            classify_message(raw)
    elapsed = time.perf_counter() - started
    return {"messages": repeat * len(messages), "per_second": repeat * len(messages) / elapsed}


def baselines(results: list[dict[str, Any]], measure: Any, opens: Path, work: Path,
              redis_url: str) -> None:
    """nginx's empty_gif and the naive Flask views, measured like the mailer."""
    port = free_port()
    nginx_dir = work / "nginx"
    nginx_dir.mkdir()
    (nginx_dir / "nginx.conf").write_text(NGINX.format(dir=nginx_dir, port=port))
    nginx = start([shutil.which("nginx") or "/usr/sbin/nginx", "-c",
                   str(nginx_dir / "nginx.conf"), "-p", str(nginx_dir)], {},
                  work / "nginx.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/t/o/x.gif")
        results.append(measure("nginx empty_gif (2 workers)",
                               f"http://127.0.0.1:{port}", opens))
    finally:
        stop(nginx)

    gunicorn = str(BIN / "gunicorn")
    for label, target in (("naive Flask GIF view", "tracking_baselines:naive()"),
                          ("naive Flask + Redis INCR", "tracking_baselines:naive_redis()")):
        port = free_port()
        process = start([gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2",
                         "--chdir", str(ROOT / "benchmarks"), target],
                        {"BENCH_REDIS_URL": redis_url}, work / "baseline.log")
        try:
            wait_http(f"http://127.0.0.1:{port}/t/o/x.gif")
            results.append(measure(f"{label} (gunicorn, 2 sync workers)",
                                   f"http://127.0.0.1:{port}", opens))
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--flush-ms", type=int, default=200,
                        help="MAILER_TRACKING_FLUSH_MS of the mailer runs")
    parser.add_argument("--mailer-only", action="store_true", help="skip nginx and baselines")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} not found: apt-get install wrk nginx-light")

    from tests.support.services import PostgresCluster, RedisServer, find_postgres_bindir

    work = Path(tempfile.mkdtemp(prefix="mailer-bench-tracking-"))
    bindir = find_postgres_bindir()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found: apt-get install postgresql")
    cluster = PostgresCluster(bindir)
    redis = RedisServer(shutil.which("redis-server") or "redis-server")
    results: list[dict[str, Any]] = []
    script = work / "paths.lua"
    script.write_text(LUA)
    try:
        cluster.init_and_start()
        redis.start()
        database_url = cluster.create_database("bench_tracking")
        opens, clicks = prepare(database_url, args.deliveries, work)

        def measure(name: str, url: str, paths: Path, counted: bool = False,
                    before: int = 0) -> dict[str, Any]:
            found = run_wrk(url, paths, script, args.seconds, args.connections)
            found["name"] = name
            return found

        if not args.mailer_only:
            baselines(results, measure, opens, work, redis.url)
        gunicorn = str(BIN / "gunicorn")
        env = {"MAILER_ENV": "production", "MAILER_SECRET_KEY": SECRET,
               "MAILER_DATABASE_URL": database_url, "MAILER_BROKER_URL": redis.url,
               "MAILER_PUBLIC_URL": PUBLIC_URL, "MAILER_INSTANCE": str(work / "instance"),
               "MAILER_LOG_LEVEL": "WARNING", "MAILER_TRACKING_FLUSH_MS": str(args.flush_ms)}
        shapes = (("2 sync workers", ["--workers", "2"]),
                  ("4 gthread workers x 4 threads", ["--workers", "4", "--worker-class",
                                                     "gthread", "--threads", "4"]))
        for shape, options in shapes:
            for kind, paths in (("open pixel", opens), ("click redirect", clicks)):
                port = free_port()
                before = count_events(database_url)
                process = start([gunicorn, "--bind", f"127.0.0.1:{port}", *options,
                                 "--worker-tmp-dir", "/dev/shm",  # noqa: S108 - as in docker-compose.yml
                                 "mailer:create_app()"], env,
                                work / "mailer.log")
                try:
                    wait_http(f"http://127.0.0.1:{port}/healthz")
                    found = measure(f"mailer {kind} ({shape})", f"http://127.0.0.1:{port}",
                                    paths)
                finally:
                    stop(process)
                found["events"] = count_events(database_url) - before
                results.append(found)
        bounces = bounce_rate()
    finally:
        redis.stop()
        cluster.stop()
        shutil.rmtree(cluster.dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps({"http": results, "bounces": bounces}, indent=2))
        return
    print(f"{'what':58} {'req/s':>9} {'requests':>9} {'events':>9} {'p50':>8} {'p99':>8}")
    for row in results:
        events = str(row.get("events", "—"))
        print(f"{row['name']:58} {row['rate']:>9,.0f} {row['requests']:>9} {events:>9} "
              f"{row['p50']:>8} {row['p99']:>8}"
              + (f"  non-2xx/3xx {row['non_2xx_3xx']}" if row["non_2xx_3xx"] else "")
              + (f"  socket errors {row['socket_errors']}" if row["socket_errors"] else ""))
    print(f"bounce messages classified: {bounces['per_second']:,.0f}/s "
          f"({bounces['messages']} messages, one core)")


if __name__ == "__main__":
    main()
