"""Queue and process faults through real workers (`mailer worker -B`: the worker and its beat,
so the sweep runs by itself), on Redis + PostgreSQL and on the embedded broker + SQLite.

Each test ends with the shared invariant (tests/reliability/support.py): the mailing finishes
by itself once the fault is gone, every delivery is final, nobody gets a second copy.

Kill moments are random; the seed is in the figures and in any failure message. Replay a run
with ``MAILER_FAULT_SEED=<seed>``.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import Stack
from tests.reliability.support import (
    FAST_RECOVERY,
    Workers,
    check_invariant,
    mailing_status,
    make_audience,
    proxy_to,
    record,
    send_mailing,
    status_counts,
    wait_until,
)
from tests.support.processes import BIN
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.timeout(300)


def fault_seed() -> int:
    return int(os.environ.get("MAILER_FAULT_SEED") or random.SystemRandom().randrange(2**32))


# --------------------------------------------------------------------------- SIGKILL


@pytest.mark.parametrize(("recipients", "kills"), [
    pytest.param(500, 2, id="short"),
    pytest.param(5000, 6, id="long", marks=[pytest.mark.long, pytest.mark.timeout(1200)]),
])
def test_worker_killed_at_random_moments(stack: Stack, workers: Workers, smtp_sink: SmtpSink,
                                         recipients: int, kills: int,
                                         request: pytest.FixtureRequest) -> None:
    seed = fault_seed()
    rng = random.Random(seed)
    audience = make_audience(stack, recipients)
    worker = workers.start(env=FAST_RECOVERY)
    began = time.monotonic()
    mailing = send_mailing(audience)
    moments: list[dict[str, float]] = []

    def kill_and_restart() -> None:
        nonlocal worker
        moments.append({"second": round(time.monotonic() - began, 2),
                        "received": len(smtp_sink.messages)})
        workers.kill(worker)
        worker = workers.start(env=FAST_RECOVERY)

    # The first kill at a random moment right after the start: maybe during the freeze, maybe
    # in the first batches (a fast stack sends hundreds a second, so whichever comes first of
    # a random delay and a random share received). The others once a random share of what is
    # left has arrived.
    delay, share = rng.uniform(0.0, 1.5), int(recipients * rng.uniform(0.02, 0.3))
    wait_until(lambda: time.monotonic() - began >= delay or len(smtp_sink.messages) >= share,
               30, f"the first kill moment (seed {seed})", interval=0.005)
    kill_and_restart()
    for _ in range(kills - 1):
        left = recipients - len(smtp_sink.messages)
        target = len(smtp_sink.messages) + max(1, int(left * rng.uniform(0.1, 0.5)))
        wait_until(lambda target=target: len(smtp_sink.messages) >= target
                   or mailing_status(stack.app, mailing) == "sent",
                   120, f"{target} messages (seed {seed})", interval=0.01)
        if mailing_status(stack.app, mailing) == "sent":
            break
        kill_and_restart()
    assert workers.kills == kills, f"the mailing ended before every kill (seed {seed})"

    figures = check_invariant(stack, smtp_sink, mailing, recipients=recipients, started=began,
                              timeout=120 + 30 * kills)
    # Each kill leaves at most one message per worker thread (two) between its SMTP
    # transaction and the write of its outcome: those, and only those, may be unknown.
    assert figures.states.get("unknown", 0) <= 2 * kills, (figures.states, seed)
    assert figures.states.get("sent", 0) + figures.states.get("unknown", 0) == recipients
    record(request.node.name, figures, seed=seed, kills=moments)


# --------------------------------------------------------------------------- Redis restart


@pytest.mark.parametrize("stack", ["production"], indirect=True)
def test_redis_restarted_mid_mailing(stack: Stack, workers: Workers, smtp_sink: SmtpSink,
                                     request: pytest.FixtureRequest) -> None:
    assert stack.redis is not None
    recipients = 300
    audience = make_audience(stack, recipients)
    # A shared rate (kept in Redis) stretches the mailing over the restart.
    workers.start(env={**FAST_RECOVERY, "MAILER_RATE": "60/s"})
    began = time.monotonic()
    mailing = send_mailing(audience)
    wait_until(lambda: len(smtp_sink.messages) >= 40, 60, "the first messages", interval=0.02)
    stack.redis.restart()  # queued doorbells, unacked tasks and the rate's state are gone
    restarted_at = len(smtp_sink.messages)
    assert restarted_at < recipients
    figures = check_invariant(stack, smtp_sink, mailing, recipients=recipients, started=began)
    assert figures.states.get("unknown", 0) <= 2
    record(request.node.name, figures, restarted_after=restarted_at)


# --------------------------------------------------------------------------- duplicates


def duplicate_queued(stack: Stack, queue: str = "dispatch") -> int:
    """Put a second copy of every message waiting in ``queue``, byte for byte (same task id):
    what a broker does when it redelivers. Returns how many were copied."""
    if stack.redis is not None:
        client = stack.redis.client()
        waiting = client.lrange(queue, 0, -1)
        for payload in waiting:
            client.lpush(queue, payload)
        return len(waiting)
    folder = Path(stack.env["MAILER_INSTANCE"]) / "broker" / "queue"
    copied = 0
    for path in sorted(folder.glob(f"*.{queue}.msg")):
        stamp = path.name.split("_", 1)[0]
        scratch = folder.parent / f"copy-{uuid.uuid4()}"
        shutil.copyfile(path, scratch)
        scratch.rename(folder / f"{stamp}_{uuid.uuid4()}.{queue}.msg")
        copied += 1
    return copied


def test_the_same_task_delivered_twice_to_two_workers(stack: Stack, workers: Workers,
                                                      smtp_sink: SmtpSink,
                                                      request: pytest.FixtureRequest) -> None:
    recipients = 400
    audience = make_audience(stack, recipients)
    began = time.monotonic()
    mailing = send_mailing(audience)  # queued, nobody consumes yet
    celery = stack.app.extensions["celery"]
    task_id = str(uuid.uuid4())
    for _ in range(2):  # the same send task, same id, twice
        celery.send_task("dispatch.send_batches", args=[mailing], task_id=task_id)
    copied = duplicate_queued(stack)  # and every waiting message once more, byte for byte
    assert copied == 3
    # Two workers start at once and race for the copies: the freeze runs twice, the sends
    # run four times over, in four threads.
    workers.start()
    workers.start(beat=False)
    figures = check_invariant(stack, smtp_sink, mailing, recipients=recipients, started=began)
    assert figures.states == {"sent": recipients}
    logs = "".join(w.output() for w in workers.live)
    runs = len(re.findall(rf"Task dispatch\.send_batches\[{task_id}\] received", logs))
    record(request.node.name, figures, copies_queued=copied + 2, same_id_runs=runs)


# --------------------------------------------------------------------------- visibility


LAUNCHER = """
import sys
from worker.celery import app
app.conf.broker_transport_options = {**app.conf.broker_transport_options,
    "visibility_timeout": 1, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
app.worker_main(["worker", *sys.argv[1:]])
"""


@pytest.mark.parametrize("stack", ["production"], indirect=True)
def test_visibility_timeout_shorter_than_a_task(stack: Stack, workers: Workers,
                                                smtp_sink: SmtpSink,
                                                request: pytest.FixtureRequest) -> None:
    recipients = 200
    audience = make_audience(stack, recipients)
    # A task sends for up to 30 s; Redis is told to hand an unacknowledged one to another
    # consumer after 1 s. The rate makes each task last several seconds.
    command = [str(BIN / "python"), "-c", LAUNCHER]
    workers.start(command=command, env={"MAILER_RATE": "25/s", "MAILER_BATCH_SIZE": "20"})
    workers.start(command=command, env={"MAILER_RATE": "25/s", "MAILER_BATCH_SIZE": "20"},
                  beat=False)
    began = time.monotonic()
    mailing = send_mailing(audience)
    figures = check_invariant(stack, smtp_sink, mailing, recipients=recipients, started=began,
                              timeout=180)
    assert figures.states == {"sent": recipients}
    logs = "".join(w.output() for w in workers.live)
    received = re.findall(r"Task (dispatch\.send_batches\[[0-9a-f-]+\]) received", logs)
    redelivered = sum(n - 1 for n in _counts(received).values())
    assert redelivered >= 1, "no task was redelivered: the visibility timeout never fired"
    record(request.node.name, figures, redelivered_tasks=redelivered)


def _counts(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


# --------------------------------------------------------------------------- database outage


@pytest.mark.parametrize("stack", ["production"], indirect=True)
def test_database_refuses_connections_for_a_while(stack: Stack, workers: Workers,
                                                  smtp_sink: SmtpSink,
                                                  request: pytest.FixtureRequest) -> None:
    from tests.support.services import PostgresCluster

    cluster: PostgresCluster = request.getfixturevalue("postgres")
    recipients = 600
    audience = make_audience(stack, recipients)
    with proxy_to(cluster.host, cluster.port) as proxy:
        workers.start(env={**FAST_RECOVERY, "MAILER_RATE": "100/s",
                           "MAILER_DATABASE_URL": proxy.url(stack.env["MAILER_DATABASE_URL"])})
        began = time.monotonic()
        mailing = send_mailing(audience)
        wait_until(lambda: len(smtp_sink.messages) >= 100, 60, "the first messages",
                   interval=0.02)
        proxy.cut()
        cut_at = len(smtp_sink.messages)
        time.sleep(6)
        during = len(smtp_sink.messages) - cut_at
        # Without the database nothing new is started: at most the messages already in
        # flight when it went (one per worker thread) arrive.
        assert during <= 2, during
        assert status_counts(stack.app, mailing)["sent"] < recipients
        proxy.restore()
        figures = check_invariant(stack, smtp_sink, mailing, recipients=recipients,
                                  started=began, timeout=180)
    # A message whose reply came while the database was gone keeps its unknown state.
    assert figures.states.get("unknown", 0) <= 2
    record(request.node.name, figures, cut_after=cut_at, arrived_during_cut=during,
           cut_seconds=6)
