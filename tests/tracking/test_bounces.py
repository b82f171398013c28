"""Bounces and complaints: DSNs from several MTAs, ARF, auto-replies, forged VERP, soft scores,
malformed messages, the inbound API, `mailer bounces ingest`, and synchronous 5xx."""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import bearer
from tests.tracking import bounce_samples as samples
from tests.tracking.support import Sent, links, make_sent


def verp_of(app: Flask, sent: Sent) -> str:
    from mailer.dispatch.verp import verp_address

    return verp_address(sent.delivery_id, app.config["SECRET_KEY"],
                        app.config["MAILER_BOUNCE_DOMAIN"])


def ingest(app: Flask, raw: bytes, **kw: Any) -> dict[str, Any]:
    from mailer.tracking.bounces import ingest as run
    from mailer.tracking.bounces import secrets_from_config

    with app.app_context():
        return run(raw, secrets_from_config(app.config), **kw).as_dict()


def state(app: Flask, sent: Sent) -> tuple[str, str | None, str]:
    """(delivery status, suppression reason, suppression detail)."""
    from mailer.contacts.suppressions import find
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    with app.app_context():
        delivery = db.session.get(Delivery, sent.delivery_id)
        assert delivery is not None
        row = find(sent.email)
        return delivery.status, row.reason if row else None, row.detail if row else ""


HARD = [
    ("postfix", samples.postfix_dsn, "5.1.1", "User unknown"),
    ("exim", samples.exim_classic, "5.1.1", "User unknown"),
    ("office365", samples.office365_ndr, "5.1.10", "RecipientNotFound"),
    ("gmail", samples.gmail_dsn, "5.1.1", "does not exist"),
    ("qmail", samples.qmail_bounce, "5.1.1", "no mailbox"),
]


@pytest.mark.parametrize(("mta", "make", "status", "words"), HARD)
def test_hard_bounces_from_several_mtas(app: Flask, mta: str,
                                        make: Callable[[str, str, str], bytes], status: str,
                                        words: str) -> None:
    sent = make_sent(app)
    answer = ingest(app, make(verp_of(app, sent), sent.email, sent.message_id))
    assert answer["kind"] == "hard", answer
    assert answer["matched"] is True and answer["delivery_id"] == sent.delivery_id
    assert answer["email"] == sent.email
    assert answer["status"] == status
    assert words.lower() in (answer["diagnostic"] or "").lower()
    delivery_status, reason, detail = state(app, sent)
    assert (delivery_status, reason) == ("bounced", "hard_bounce")
    assert detail.startswith(f"hard bounce {status} ")  # the evidence: status, time, diagnostic
    assert words.lower() in detail.lower()


@pytest.mark.parametrize(("mta", "make", "status", "words"), HARD[:4])
def test_matched_by_message_id_when_the_verp_is_gone(app: Flask, mta: str,
                                                     make: Callable[[str, str, str], bytes],
                                                     status: str, words: str) -> None:
    sent = make_sent(app)
    # Forwarded through a system that rewrote the envelope: no VERP address anywhere.
    answer = ingest(app, make("bounces@example.org", sent.email, sent.message_id))
    assert answer["matched"] is True and answer["matched_by"] == "message-id"
    assert answer["delivery_id"] == sent.delivery_id


def test_forged_verp_matches_nothing_and_suppresses_nobody(app: Flask) -> None:
    sent = make_sent(app)
    genuine = verp_of(app, sent)
    local, _, domain = genuine.partition("@")
    forged = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}"
    answer = ingest(app, samples.postfix_dsn(forged, sent.email, sent.message_id))
    assert answer["matched"] is False and answer["delivery_id"] is None
    assert "forged" in answer["outcome"]
    assert state(app, sent) == ("sent", None, "")
    # Another delivery's id with a signature for nothing, and our own id re-signed elsewhere:
    from mailer.dispatch.verp import verp_address

    for address in (f"bounce+{sent.delivery_id + 1}-{local[-12:]}@{domain}",
                    verp_address(sent.delivery_id, "another key", domain)):
        answer = ingest(app, samples.gmail_dsn(address, sent.email, sent.message_id))
        assert answer["matched"] is False
    assert state(app, sent) == ("sent", None, "")


def test_unknown_delivery_and_unknown_sender(app: Flask) -> None:
    from mailer.dispatch.verp import verp_address

    sent = make_sent(app)
    gone = verp_address(999999, app.config["SECRET_KEY"], "example.org")
    answer = ingest(app, samples.postfix_dsn(gone, "who@example.net", "<nope@example.org>"))
    assert answer["matched"] is False and answer["kind"] == "hard"
    assert answer["email"] == "who@example.net"
    answer = ingest(app, samples.postfix_dsn("someone@else.example", sent.email,
                                             "<not-ours@else.example>"))
    assert answer["matched"] is False
    assert state(app, sent) == ("sent", None, "")


def test_soft_bounces_score_with_decay_and_suppress_past_the_threshold(app: Flask) -> None:
    from mailer.db import utcnow
    from mailer.tracking import scoring

    sent = make_sent(app)
    verp = verp_of(app, sent)
    full = "552 5.2.2 <{rcpt}>: Mailbox full"
    now = utcnow()
    first = ingest(app, samples.postfix_dsn(verp, sent.email, sent.message_id, "5.2.2", full),
                   now=now)
    assert first["kind"] == "soft" and "score 1.00" in first["outcome"]
    assert state(app, sent)[1] is None
    # A delayed warning is reported as soft but not scored.
    delayed = ingest(app, samples.postfix_dsn(verp, sent.email, sent.message_id, "4.4.1",
                                              "connect timed out", action="delayed"),
                     now=now + timedelta(hours=1))
    assert delayed["kind"] == "soft" and "not scored" in delayed["outcome"]
    # Four weeks later the first has faded to a quarter: the next two do not reach 2.5 …
    later = now + timedelta(days=28)
    for hour in range(2):
        ingest(app, samples.postfix_dsn(verp, sent.email, sent.message_id, "5.2.2",
                                        full + f" ({hour})"), now=later + timedelta(hours=hour))
    with app.app_context():
        score = scoring.current_score(sent.email, later + timedelta(hours=2))
    assert 2.1 < score < 2.5
    assert state(app, sent)[1] is None
    # … and a third within the day does.
    third = ingest(app, samples.postfix_dsn(verp, sent.email, sent.message_id, "4.2.2",
                                            full + " (again)"), now=later + timedelta(hours=3))
    assert "suppressed" in third["outcome"]
    _, reason, detail = state(app, sent)
    assert reason == "hard_bounce" and "repeated soft bounces" in detail


def test_policy_blocks_are_soft_not_hard(app: Flask) -> None:
    sent = make_sent(app)
    answer = ingest(app, samples.postfix_dsn(
        verp_of(app, sent), sent.email, sent.message_id, "5.7.1",
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"))
    assert answer["kind"] == "soft"
    assert state(app, sent)[1] is None


def test_arf_complaint_suppresses_with_evidence(app: Flask, staff: dict[str, Any]) -> None:
    sent = make_sent(app)
    answer = ingest(app, samples.arf_complaint(verp_of(app, sent), sent.email, sent.message_id))
    assert answer["kind"] == "complaint" and answer["matched"] is True
    assert answer["matched_by"] == "verp"
    status, reason, detail = state(app, sent)
    assert (status, reason) == ("sent", "complaint") and "abuse" in detail
    counts = app.test_client().get(f"/api/v1/mailings/{sent.mailing_id}",
                                   headers=bearer(staff["viewer"]["token"])).get_json()["counts"]
    assert counts["complaints"] == 1


@pytest.mark.parametrize("russian", [False, True])
def test_out_of_office_is_ignored(app: Flask, russian: bool) -> None:
    sent = make_sent(app)
    answer = ingest(app, samples.out_of_office(verp_of(app, sent), sent.email, sent.message_id,
                                               russian=russian))
    assert answer["kind"] == "auto_reply"
    assert answer["outcome"] == "ignored (auto-reply)"
    assert state(app, sent) == ("sent", None, "")


@pytest.mark.parametrize("raw", [
    b"",
    b"   \r\n",
    b"\x00\x01\x02 not mail at all",
    b"Subject: hello\r\n\r\njust a single-part note, no bounce here\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
    b"--x\r\nContent-Type: message/delivery-status\r\n\r\n--x--\r\n",
    b"From: MAILER-DAEMON@x\r\nSubject: Undelivered Mail\r\n\r\n550 oops",
])
def test_malformed_messages_are_reported_never_crash(app: Flask, raw: bytes) -> None:
    answer = ingest(app, raw)
    assert answer["matched"] is False
    assert answer["kind"] in {"unknown", "hard", "soft"}


def test_the_same_message_twice_is_applied_once(app: Flask) -> None:
    sent = make_sent(app)
    raw = samples.postfix_dsn(verp_of(app, sent), sent.email, sent.message_id, "5.2.2",
                              "552 5.2.2 Mailbox full")
    first, second = ingest(app, raw), ingest(app, raw)
    assert not first["duplicate"] and second["duplicate"]
    assert second["bounce_id"] == first["bounce_id"]


def test_mailto_unsubscribe(app: Flask) -> None:
    sent = make_sent(app)
    mailto = links(app).unsubscribe_mailto(app.config["MAILER_BOUNCE_DOMAIN"], sent.ref())
    token = mailto.partition("%20")[2]
    answer = ingest(app, samples.mailto_unsubscribe(token, sent.email))
    assert answer["kind"] == "unsubscribe" and answer["matched"] is True
    assert answer["delivery_id"] == sent.delivery_id
    assert state(app, sent)[1] == "unsubscribed"
    bad = ingest(app, samples.mailto_unsubscribe(token[:-6] + "AAAAAA", "x@example.kz"))
    assert bad["matched"] is False and "not valid" in bad["outcome"]


def test_bounces_api(app: Flask, staff: dict[str, Any]) -> None:
    sent = make_sent(app)
    client = app.test_client()
    raw = samples.office365_ndr(verp_of(app, sent), sent.email, sent.message_id)
    refused = client.post("/api/v1/bounces", data=raw, content_type="message/rfc822",
                          headers=bearer(staff["viewer"]["token"]))
    assert refused.status_code == 403
    assert client.post("/api/v1/bounces", data=raw,
                       content_type="message/rfc822").status_code == 401
    wrong = client.post("/api/v1/bounces", json={"a": 1}, headers=bearer(staff["editor"]["token"]))
    assert wrong.status_code == 400
    response = client.post("/api/v1/bounces", data=raw, content_type="message/rfc822",
                           headers=bearer(staff["editor"]["token"]))
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("matched", "delivery_id", "email", "kind")} == {
        "matched": True, "delivery_id": sent.delivery_id, "email": sent.email, "kind": "hard"}
    garbage = client.post("/api/v1/bounces", data=b"\xff\xfe garbage",
                          content_type="message/rfc822", headers=bearer(staff["editor"]["token"]))
    assert garbage.status_code == 200 and garbage.get_json()["kind"] == "unknown"
    deliveries = client.get(f"/api/v1/mailings/{sent.mailing_id}/deliveries",
                            headers=bearer(staff["viewer"]["token"])).get_json()["items"]
    assert deliveries[0]["status"] == "bounced"
    assert deliveries[0]["bounce"]["kind"] == "hard"
    assert deliveries[0]["bounce"]["status"] == "5.1.10"


def test_ingest_command_reads_mbox_maildir_and_stdin(app: Flask, tmp_path: Path) -> None:
    sent = make_sent(app)
    soft = make_sent(app, "soft@example.org", list_id=sent.list_id, release_id=sent.release_id)
    ooo = make_sent(app, "away@example.org", list_id=sent.list_id, release_id=sent.release_id)
    box = mailbox.mbox(str(tmp_path / "bounces.mbox"))
    box.add(samples.exim_classic(verp_of(app, sent), sent.email, sent.message_id))
    box.add(samples.postfix_dsn(verp_of(app, soft), soft.email, soft.message_id, "4.2.2",
                                "452 4.2.2 Over quota"))
    box.add(b"From: nobody\r\n\r\nnot a bounce")
    box.flush()
    box.close()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bounces", "ingest", "--mbox", str(tmp_path / "bounces.mbox")])
    assert result.exit_code == 0, result.output
    assert f"hard 5.1.1 {sent.email} delivery {sent.delivery_id}" in result.output
    assert "soft 4.2.2" in result.output
    assert "done: " in result.output and "hard 1" in result.output and "unknown 1" in result.output

    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    maildir.add(samples.out_of_office(verp_of(app, ooo), ooo.email, ooo.message_id))
    maildir.add(samples.arf_complaint(verp_of(app, ooo), ooo.email, ooo.message_id))
    result = runner.invoke(args=["bounces", "ingest", "--maildir", str(tmp_path / "Maildir")])
    assert result.exit_code == 0, result.output
    assert "auto_reply" in result.output and "complaint" in result.output

    # An MTA pipe: the envelope recipient from the environment, the message on stdin.
    raw = samples.qmail_bounce("postmaster@example.org", soft.email, "<x@y>")
    result = runner.invoke(args=["bounces", "ingest", "-"], input=raw,
                           env={"ORIGINAL_RECIPIENT": verp_of(app, soft)})
    assert result.exit_code == 0, result.output
    assert f"delivery {soft.delivery_id}" in result.output
    result = runner.invoke(args=["bounces", "ingest"])
    assert result.exit_code != 0


def test_synchronous_5xx_is_a_hard_bounce_through_the_same_classifier(app: Flask) -> None:
    from mailer.tracking.bounces import record_smtp_rejection
    from mailer.tracking.classify import classify_smtp_reply

    sent = make_sent(app, status="failed")
    with app.app_context():
        record_smtp_rejection(sent.delivery_id, 550, "5.1.1 <anna@example.kz>: No such user")
    status, reason, detail = state(app, sent)
    assert (status, reason) == ("failed", "hard_bounce")
    assert "5.1.1" in detail
    assert classify_smtp_reply(550, "5.7.1 Message rejected as spam").kind == "soft"
    assert classify_smtp_reply(552, "Requested mail action aborted: exceeded storage").kind \
        == "soft"
    assert classify_smtp_reply(550, "Requested action not taken: mailbox unavailable").kind \
        == "hard"
    assert classify_smtp_reply(554, "Transaction failed").kind == "soft"


def test_classifier_status_rules() -> None:
    from mailer.tracking.classify import kind_for, status_of

    assert status_of("550-5.1.1 The email account") == "5.1.1"
    assert status_of("550 Requested action not taken") == "5.0.0"
    assert status_of("nothing here") == ""
    assert kind_for("5.1.1") == "hard"
    assert kind_for("5.4.4", "Host or domain name not found") == "hard"
    assert kind_for("5.2.2") == "soft"
    assert kind_for("4.7.0", "user unknown") == "soft"  # a 4xx is never final
    assert kind_for("5.7.1", "Recipient address rejected: user does not exist") == "hard"
    assert kind_for("5.0.0", "") == "hard"
    assert kind_for("2.0.0") == "unknown"
