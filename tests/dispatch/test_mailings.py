"""Mailings end to end: a real worker process on Redis or the embedded broker, the SMTP sink,
and the delivery ledger. Every recipient gets exactly one message, whatever happens."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select

from tests.conftest import Stack, api_token, bearer, make_user
from tests.support.processes import BIN, ServiceProcess, running
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.timeout(240)


class Api:
    """The REST API as an editor of the stack's app."""

    def __init__(self, app: Flask) -> None:
        make_user(app, "editor@example.com", "editor")
        self.client = app.test_client()
        self.headers = bearer(api_token(app, "editor@example.com"))

    def __call__(self, method: str, path: str, json: Any = None, expect: int | None = None
                 ) -> Any:
        response = self.client.open(f"/api/v1{path}", method=method, json=json,
                                    headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()


def add_contacts(app: Flask, list_id: int, count: int, *, start: int = 0,
                 languages: tuple[str, ...] = ("ru", "en"), domain: str = "example.com",
                 extra: dict[str, Any] | None = None) -> list[str]:
    """Insert ``count`` journalists straight into the database and onto a list."""
    from mailer.contacts.models import Contact, ListMember
    from mailer.contacts.validation import email_hash, email_key
    from mailer.db import db

    addresses = [f"reporter{n}@{domain}" for n in range(start, start + count)]
    with app.app_context():
        rows = [{"email": a, "email_key": email_key(a), "email_hash": email_hash(a),
                 "first_name": f"Имя{n}", "last_name": "Тест", "outlet": "Daily Example",
                 "language": languages[n % len(languages)], "languages": [],
                 "timezone": "Asia/Almaty", "source": "api", **(extra or {})}
                for n, a in zip(range(start, start + count), addresses, strict=True)]
        db.session.execute(insert(Contact), rows)
        ids = db.session.scalars(select(Contact.id).where(Contact.email.in_(addresses))).all()
        db.session.execute(insert(ListMember), [{"list_id": list_id, "contact_id": i}
                                                 for i in ids])
        db.session.commit()
    return addresses


def new_release(api: Api, languages: tuple[str, ...] = ("en", "ru")) -> int:
    texts = {
        "en": {"subject": "Conference in Dushanbe", "preheader": "Sixty NGOs meet",
               "body": "# Conference\n\nDear {{ first_name }}, [details](https://example.org/c)."},
        "ru": {"subject": "Конференция в Душанбе", "preheader": "Шестьдесят НПО",
               "body": "# Конференция\n\nУважаемый {{ first_name }}, "
                       "[подробнее](https://example.org/c)."},
        "kk": {"subject": "Душанбедегі конференция", "preheader": "",
               "body": "# Конференция\n\nМәлімет."},
    }
    body = {"title": "Conference", "default_language": languages[0],
            "translations": {lang: texts[lang] for lang in languages}}
    return int(api("POST", "/releases", body, expect=201)["id"])


def new_list(api: Api, name: str = "Central Asia desk") -> int:
    return int(api("POST", "/lists", {"name": name}, expect=201)["id"])


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def wait_status(api: Api, mailing_id: int, *statuses: str, timeout: float = 90) -> Any:
    def check() -> Any:
        mailing = api("GET", f"/mailings/{mailing_id}")
        return mailing if mailing["status"] in statuses else None

    return wait_for(check, timeout, f"mailing {mailing_id} to be {statuses}")


def sweep(app: Flask) -> None:
    """Run the periodic sweep once, as beat would."""
    from mailer.dispatch import runner

    with app.app_context():
        runner.sweep()


@pytest.fixture
def api(stack: Stack) -> Api:
    return Api(stack.app)


def test_every_recipient_gets_exactly_one_message(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    desk, tv = new_list(api), new_list(api, "TV")
    addresses = add_contacts(stack.app, desk, 60)
    # 20 of them also on a second list: still one message each.
    add_contacts(stack.app, tv, 10, start=60)
    from mailer.contacts.models import Contact, ListMember
    from mailer.db import db

    with stack.app.app_context():
        ids = db.session.scalars(select(Contact.id).where(Contact.email.in_(addresses[:20])))
        db.session.execute(insert(ListMember), [{"list_id": tv, "contact_id": i} for i in ids])
        db.session.commit()
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk, tv]},
                  expect=201)
    assert mailing["status"] == "draft"
    sent = api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    assert sent["status"] == "sending"

    done = wait_status(api, mailing["id"], "sent")
    smtp_sink.wait_for(70)
    time.sleep(0.5)
    assert len(smtp_sink.messages) == 70
    assert set(smtp_sink.by_recipient().values()) == {1}
    assert done["counts"]["recipients"] == 70
    assert done["counts"]["sent"] == 70
    assert done["languages"] == {"ru": 35, "en": 35}

    by_address = {m.rcpt_tos[0]: m for m in smtp_sink.messages}
    russian = message_from_bytes(by_address["reporter0@example.com"].data, policy=policy.default)
    assert russian["Content-Language"] == "ru"
    assert russian["Subject"] == "Конференция в Душанбе"
    assert russian["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = russian.get_body(preferencelist=("plain",))
    assert body is not None and "Имя0" in body.get_content()
    english = message_from_bytes(by_address["reporter1@example.com"].data, policy=policy.default)
    assert english["Content-Language"] == "en"

    from mailer.dispatch.verp import read_verp

    sender = by_address["reporter0@example.com"].mail_from
    secret = stack.app.config["SECRET_KEY"]
    delivery_id = read_verp(sender, secret)
    deliveries = api("GET", f"/mailings/{mailing['id']}/deliveries?per_page=500")
    row = next(d for d in deliveries["items"] if d["email"] == "reporter0@example.com")
    assert row["id"] == delivery_id
    assert row["status"] == "sent" and row["sent_at"]
    assert russian["Message-ID"] == row["message_id"]
    assert read_verp(sender.replace("bounce+", "bounce+1"), secret) is None


def test_sending_twice_is_409_and_missing_language_is_422(stack: Stack, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 3, languages=("kk",))
    release = new_release(api, ("en", "ru"))
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    refused = stack.app.test_client().post(f"/api/v1/mailings/{mailing['id']}/send",
                                           headers=api.headers)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert "kk: 3" in error["fields"]["languages"]
    assert api("GET", f"/mailings/{mailing['id']}")["status"] == "draft"

    fallback = api("POST", "/mailings", {"release_id": release, "list_ids": [desk],
                                         "fallback_languages": ["ru"]}, expect=201)
    api("POST", f"/mailings/{fallback['id']}/send", expect=202)
    again = stack.app.test_client().post(f"/api/v1/mailings/{fallback['id']}/send",
                                         headers=api.headers)
    assert again.status_code == 409


def test_invalid_mailing_is_422_and_writes_nothing(stack: Stack, api: Api) -> None:
    response = stack.app.test_client().post("/api/v1/mailings", headers=api.headers, json={
        "release_id": 999, "list_ids": [12345], "send_at": "tomorrow",
        "fallback_languages": ["not a tag!"]})
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) >= {"release_id", "list_ids", "send_at", "fallback_languages"}
    assert api("GET", "/mailings")["total"] == 0


def test_temporary_failure_is_retried_and_permanent_failure_kept(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 6)
    smtp_sink.reply_rcpt("reporter1@example.com", "451 4.2.1 Mailbox busy, try later", times=1)
    smtp_sink.reply_rcpt("reporter2@example.com", "550 5.1.1 No such user")
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    api("POST", f"/mailings/{mailing['id']}/send", expect=202)

    def retried() -> bool:
        sweep(stack.app)  # beat's job: re-ring the deferred delivery once it is due
        return api("GET", f"/mailings/{mailing['id']}")["status"] == "sent"

    wait_for(retried, 60, "the deferred delivery to be retried")
    assert smtp_sink.by_recipient().get("reporter1@example.com") == 1
    assert "reporter2@example.com" not in smtp_sink.by_recipient()
    items = {d["email"]: d for d in api(
        "GET", f"/mailings/{mailing['id']}/deliveries")["items"]}
    assert items["reporter1@example.com"]["status"] == "sent"
    assert items["reporter1@example.com"]["attempts"] == 2
    assert items["reporter2@example.com"]["status"] == "failed"
    assert "5.1.1 No such user" in items["reporter2@example.com"]["error"]
    counts = api("GET", f"/mailings/{mailing['id']}")["counts"]
    assert counts["sent"] == 5 and counts["failed"] == 1


def test_sender_rejection_pauses_the_mailing(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 5)
    smtp_sink.reply_mail("550 5.7.26 Unauthenticated email is not accepted")
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    paused = wait_status(api, mailing["id"], "paused")
    assert "5.7.26" in paused["pause_reason"]
    assert paused["counts"]["failed"] == 0
    assert paused["counts"]["queued"] == 5

    smtp_sink.reset_faults()
    api("POST", f"/mailings/{mailing['id']}/resume", expect=200)
    wait_status(api, mailing["id"], "sent")
    assert smtp_sink.by_recipient() == {f"reporter{n}@example.com": 1 for n in range(5)}


def test_disconnect_after_data_is_unknown_and_not_resent(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 4)
    smtp_sink.drop_after_data(times=1)
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    done = wait_status(api, mailing["id"], "sent")
    assert done["counts"]["unknown"] == 1
    assert done["counts"]["sent"] == 3
    assert len(smtp_sink.dropped) == 1
    dropped = smtp_sink.dropped[0].rcpt_tos[0]
    assert dropped not in smtp_sink.by_recipient()  # never resent blindly
    unknown = api("GET", f"/mailings/{mailing['id']}/deliveries?status=unknown")["items"]
    assert [d["email"] for d in unknown] == [dropped]


def test_pause_resume_and_cancel_send_nobody_twice(
        stack: Stack, tmp_path: Path, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 40)
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    env = {**stack.env, "MAILER_RATE": "10/s"}  # slow enough to pause half-way
    args = [str(BIN / "mailer"), "worker", "--pool", "threads", "-c", "2", "--loglevel", "INFO"]
    with running(args, env, tmp_path / "slow-worker.log") as worker:
        worker.wait_for_output(r"ready\.", 60)
        api("POST", f"/mailings/{mailing['id']}/send", expect=202)
        wait_for(lambda: len(smtp_sink.messages) >= 5, 30, "the first messages")
        paused = api("POST", f"/mailings/{mailing['id']}/pause", expect=200)
        assert paused["status"] == "paused"
        time.sleep(1.5)
        settled = len(smtp_sink.messages)
        time.sleep(1.5)
        assert len(smtp_sink.messages) == settled  # nothing goes out while paused
        assert settled < 40
        api("POST", f"/mailings/{mailing['id']}/resume", expect=200)
        wait_status(api, mailing["id"], "sent")
    assert len(smtp_sink.messages) == 40
    assert set(smtp_sink.by_recipient().values()) == {1}

    second = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    smtp_sink.clear()
    with running(args, env, tmp_path / "slow-worker-2.log") as worker:
        worker.wait_for_output(r"ready\.", 60)
        api("POST", f"/mailings/{second['id']}/send", expect=202)
        wait_for(lambda: len(smtp_sink.messages) >= 5, 30, "the first messages")
        cancelled = api("POST", f"/mailings/{second['id']}/cancel", expect=200)
        assert cancelled["status"] == "cancelled"
        time.sleep(2)
        after = len(smtp_sink.messages)
        time.sleep(1.5)
        assert len(smtp_sink.messages) == after
    final = api("GET", f"/mailings/{second['id']}")
    assert final["counts"]["cancelled"] + final["counts"]["sent"] == 40
    assert final["counts"]["sent"] == after
    assert set(smtp_sink.by_recipient().values()) == {1}


def test_worker_killed_mid_mailing_loses_nothing_and_sends_nothing_twice(
        stack: Stack, tmp_path: Path, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 60)
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    env = {**stack.env, "MAILER_RATE": "20/s", "MAILER_CLAIM_TIMEOUT_SECONDS": "1",
           "MAILER_SMTP_TIMEOUT_SECONDS": "2"}
    args = [str(BIN / "mailer"), "worker", "--pool", "threads", "-c", "2", "--loglevel", "INFO"]
    first = running(args, env, tmp_path / "worker-1.log")
    worker = first.__enter__()
    worker.wait_for_output(r"ready\.", 60)
    api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    wait_for(lambda: len(smtp_sink.messages) >= 10, 30, "the first messages")
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)
    first.__exit__(None, None, None)
    killed_at = len(smtp_sink.messages)
    assert killed_at < 60

    stack.app.config["MAILER_CLAIM_TIMEOUT_SECONDS"] = 1
    stack.app.config["MAILER_SMTP_TIMEOUT_SECONDS"] = 2
    with running(args, env, tmp_path / "worker-2.log") as again:
        again.wait_for_output(r"ready\.", 60)

        def finished() -> bool:
            time.sleep(1)
            sweep(stack.app)  # beat's sweep: recover the dead worker's rows, ring again
            return api("GET", f"/mailings/{mailing['id']}")["status"] == "sent"

        wait_for(finished, 90, "the mailing to finish after the kill")
    done = api("GET", f"/mailings/{mailing['id']}")["counts"]
    assert done["sent"] + done["unknown"] == 60
    assert done["unknown"] <= 2  # at most one in flight per connection when killed
    counts = smtp_sink.by_recipient()
    assert all(n == 1 for n in counts.values())
    assert len(counts) >= 60 - done["unknown"]


def test_the_same_tasks_delivered_twice_send_once(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 30)
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    celery = stack.app.extensions["celery"]
    for _ in range(3):  # duplicates of every task of the pipeline
        celery.send_task("dispatch.start_mailing", args=[mailing["id"]])
        celery.send_task("dispatch.send_batches", args=[mailing["id"]])
    wait_status(api, mailing["id"], "sent")
    time.sleep(2)
    assert len(smtp_sink.messages) == 30
    assert set(smtp_sink.by_recipient().values()) == {1}
    assert api("GET", f"/mailings/{mailing['id']}")["counts"]["recipients"] == 30


def test_suppressed_contacts_are_skipped(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 5)
    api("POST", "/suppressions", {"email": "reporter3@example.com", "reason": "unsubscribed"},
        expect=201)
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    done = wait_status(api, mailing["id"], "sent")
    assert done["counts"]["skipped"] == 1
    assert done["counts"]["sent"] == 4
    assert "reporter3@example.com" not in smtp_sink.by_recipient()
    skipped = api("GET", f"/mailings/{mailing['id']}/deliveries?status=skipped")["items"]
    assert [(d["email"], d["skip_reason"]) for d in skipped] == [
        ("reporter3@example.com", "suppressed")]


def test_test_sends_are_marked_and_never_counted(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 2)
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    queued = api("POST", f"/mailings/{mailing['id']}/test",
                 {"emails": ["desk@example.org", "Chief@Example.org"]}, expect=202)
    assert queued == {"queued": ["desk@example.org", "Chief@example.org"]}
    smtp_sink.wait_for(2, 30)
    assert smtp_sink.by_recipient() == {"desk@example.org": 1, "Chief@example.org": 1}
    for received in smtp_sink.messages:  # the subject tells staff it is a test
        assert str(received.message["Subject"]).startswith("[TEST] ")
    after = api("GET", f"/mailings/{mailing['id']}")
    assert after["status"] == "draft"
    assert after["counts"]["recipients"] == 0 and after["counts"]["sent"] == 0


def test_scheduled_mailing_starts_when_due(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    from datetime import UTC, datetime, timedelta

    desk = new_list(api)
    add_contacts(stack.app, desk, 3)
    release = new_release(api)
    at = (datetime.now(UTC) + timedelta(seconds=3)).astimezone().isoformat()
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk],
                                        "send_at": at}, expect=201)
    assert api("POST", f"/mailings/{mailing['id']}/send", expect=202)["status"] == "scheduled"
    sweep(stack.app)
    assert api("GET", f"/mailings/{mailing['id']}")["status"] == "scheduled"
    time.sleep(3.5)
    sweep(stack.app)
    wait_status(api, mailing["id"], "sent")
    assert len(smtp_sink.messages) == 3


def test_rate_limit_is_honoured(stack: Stack, tmp_path: Path, smtp_sink: SmtpSink,
                                api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 30)
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    env = {**stack.env, "MAILER_RATE": "10/s"}
    args = [str(BIN / "mailer"), "worker", "--pool", "threads", "-c", "2", "--loglevel", "INFO"]
    with running(args, env, tmp_path / "worker.log") as worker:
        worker.wait_for_output(r"ready\.", 60)
        api("POST", f"/mailings/{mailing['id']}/send", expect=202)
        smtp_sink.wait_for(30, timeout=60)
    times = sorted(m.received_at for m in smtp_sink.messages)
    spread = times[-1] - times[0]
    # 30 messages at 10/s need at least 2.9 s between the first and the last.
    assert spread >= 2.7, spread
    assert set(smtp_sink.by_recipient().values()) == {1}



def test_redis_restarted_mid_mailing_delays_but_loses_nothing(
        stack: Stack, tmp_path: Path, smtp_sink: SmtpSink, api: Api) -> None:
    if stack.redis is None:
        pytest.skip("the embedded broker has no Redis to restart")
    desk = new_list(api)
    add_contacts(stack.app, desk, 40)
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    env = {**stack.env, "MAILER_RATE": "10/s"}
    args = [str(BIN / "mailer"), "worker", "--pool", "threads", "-c", "2", "--loglevel", "INFO"]
    with running(args, env, tmp_path / "worker.log") as worker:
        worker.wait_for_output(r"ready\.", 60)
        api("POST", f"/mailings/{mailing['id']}/send", expect=202)
        wait_for(lambda: len(smtp_sink.messages) >= 5, 30, "the first messages")
        stack.redis.restart()  # every queued doorbell is gone with it

        def finished() -> bool:
            time.sleep(0.5)
            sweep(stack.app)  # beat's sweep re-rings what the restart dropped
            return api("GET", f"/mailings/{mailing['id']}")["status"] == "sent"

        wait_for(finished, 120, "the mailing to finish after the restart")
    assert len(smtp_sink.messages) == 40
    assert set(smtp_sink.by_recipient().values()) == {1}


def test_a_mailing_that_keeps_failing_pauses_itself(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink, api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 40)
    smtp_sink.reply_rcpt(lambda address: address.startswith("reporter"),
                         "550 5.1.1 No such user")
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    paused = wait_status(api, mailing["id"], "paused")
    assert paused["pause_reason"].startswith("Paused automatically")
    assert 20 <= paused["counts"]["failed"] < 40  # stopped after the window, not at the end
    assert paused["counts"]["queued"] > 0


def test_per_domain_rate_is_honoured(stack: Stack, tmp_path: Path, smtp_sink: SmtpSink,
                                     api: Api) -> None:
    desk = new_list(api)
    add_contacts(stack.app, desk, 10, domain="slow.example")
    add_contacts(stack.app, desk, 10, start=10, domain="fast.example")
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    env = {**stack.env, "MAILER_DOMAIN_RATES": "slow.example=5/s"}
    args = [str(BIN / "mailer"), "worker", "--pool", "threads", "-c", "2", "--loglevel", "INFO"]
    with running(args, env, tmp_path / "worker.log") as worker:
        worker.wait_for_output(r"ready\.", 60)
        api("POST", f"/mailings/{mailing['id']}/send", expect=202)
        smtp_sink.wait_for(20, timeout=60)
    slow = sorted(m.received_at for m in smtp_sink.messages
                  if m.rcpt_tos[0].endswith("@slow.example"))
    assert slow[-1] - slow[0] >= 1.6, slow[-1] - slow[0]  # 10 at 5/s: at least 1.8 s apart
    assert set(smtp_sink.by_recipient().values()) == {1}
