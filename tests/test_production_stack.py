"""The production shape, as docker-compose runs it: gunicorn, `celery -A worker` worker and
beat, PostgreSQL, Redis, an SMTP relay. Each part a real process on loopback."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.support.processes import BIN, run_command, running, wait_for_http
from tests.support.services import PostgresCluster, RedisServer, free_port
from tests.support.smtp import SmtpSink

STRONG_SECRET = "k3J9-vQ2xL8pZr5wT1yN6bM4cH7dF0sG"


def test_gunicorn_and_celery_worker_send_a_test_email(
        postgres: PostgresCluster, redis_server: RedisServer, smtp_sink: SmtpSink,
        tmp_path: Path) -> None:
    redis_server.flushall()
    env = {
        "MAILER_ENV": "production",
        "MAILER_SECRET_KEY": STRONG_SECRET,
        "MAILER_DATABASE_URL": postgres.create_database("production_stack"),
        "MAILER_BROKER_URL": redis_server.url,
        "MAILER_SMTP_URL": smtp_sink.url,
        "MAILER_FROM": "Nota Bene Press <press@example.org>",
        "MAILER_INSTANCE": str(tmp_path / "instance"),
    }
    try:
        assert run_command([str(BIN / "mailer"), "db", "upgrade"], env).returncode == 0
        created = run_command([str(BIN / "mailer"), "users", "create", "ops@example.org",
                               "--role", "editor", "--password", "long enough pass"], env)
        assert created.returncode == 0, created.stderr
        token = run_command([str(BIN / "mailer"), "users", "token", "ops@example.org"],
                            env).stdout.strip()

        port = free_port()
        web_args = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
                    "mailer:create_app()"]
        worker_args = [str(BIN / "celery"), "-A", "worker", "worker", "--loglevel", "INFO",
                       "-Q", "dispatch,tracking,housekeeping", "--concurrency", "2"]
        beat_args = [str(BIN / "celery"), "-A", "worker", "beat", "--loglevel", "INFO",
                     "--schedule", str(tmp_path / "celerybeat-schedule")]
        with running(web_args, env, tmp_path / "web.log") as web, \
                running(worker_args, env, tmp_path / "worker.log") as worker, \
                running(beat_args, env, tmp_path / "beat.log") as beat:
            wait_for_http(f"http://127.0.0.1:{port}/healthz")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as health:
                assert json.load(health) == {"status": "ok", "database": "ok", "broker": "ok"}
            worker.wait_for_output(r"ready\.", timeout=60)
            beat.wait_for_output(r"beat: Starting", timeout=30)

            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/test-email", method="POST",
                data=json.dumps({"email": "editor@example.com"}).encode(),
                headers={"Authorization": f"Bearer {token}",
                         "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 202
            (received,) = smtp_sink.wait_for(1, timeout=30)
            assert received.message["From"] == "Nota Bene Press <press@example.org>"
            assert "Test message from Nota Bene Press" in received.message["Subject"]
            assert "dispatch.send_test_email" in worker.output()
            assert "Traceback" not in web.output()
    finally:
        postgres.drop_database("production_stack")


def test_mailer_run_with_redis_serves_only_the_web_app(
        redis_server: RedisServer, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    """With an external broker, `mailer run` starts no worker: `mailer worker` does the sending."""
    redis_server.flushall()
    port = free_port()
    env = {"MAILER_INSTANCE": str(tmp_path / "instance"), "MAILER_BROKER_URL": redis_server.url,
           "MAILER_SMTP_URL": smtp_sink.url}
    args = [str(BIN / "mailer"), "run", "--port", str(port)]
    with running(args, env, tmp_path / "run.log") as service:
        service.wait_for_output(r"first admin")
        assert "no worker here: run `mailer worker` next to it" in service.output()
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        token = run_command([str(BIN / "mailer"), "users", "token", "admin@example.com"],
                            env).stdout.strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/test-email", method="POST",
            data=json.dumps({"email": "later@example.com"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10):
            pass
        assert redis_server.command("LLEN", "dispatch") == "1"  # waiting for a worker
        assert smtp_sink.messages == []
        worker_args = [str(BIN / "mailer"), "worker", "--pool", "threads", "-c", "1",
                       "--loglevel", "INFO"]
        with running(worker_args, env, tmp_path / "worker.log") as worker:
            worker.wait_for_output(r"ready\.", timeout=60)
            smtp_sink.wait_for(1, timeout=30)
            worker.wait_for_output(r"succeeded", timeout=10)
        assert smtp_sink.by_recipient() == {"later@example.com": 1}
        assert redis_server.command("LLEN", "dispatch") == "0"
