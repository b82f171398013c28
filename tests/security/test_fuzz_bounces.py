"""Hostile and mangled bounce messages: the parser and the intake never crash on content."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.tracking import bounce_samples as samples
from tests.tracking.support import make_sent

FAST = settings(max_examples=1500, deadline=None)
WITH_DATABASE = settings(max_examples=120, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])

SAMPLES: list[Callable[[str, str, str], bytes]] = [
    samples.postfix_dsn, samples.exim_classic, samples.office365_ndr, samples.gmail_dsn,
    samples.qmail_bounce, samples.arf_complaint]
VERP = "bounce+1.abc@example.org"
RCPT = "anna@example.kz"
MESSAGE_ID = "<1.2.3@example.org>"

# Pieces a hostile or broken MTA might splice in.
NASTY = st.sampled_from([
    b"\x00", b"\r", b"\n", b"\r\n\r\n", b"\xff\xfe", b"\xc3", b"=?utf-8?b?////?=",
    b"=?x-unknown?q?abc?=", b"Content-Type: multipart/report; boundary=\"\"\r\n",
    b"Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n--x--\r\n",
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!!", b"Status: 9.9.9999999999\r\n",
    b"Final-Recipient: rfc822; " + b"a" * 2000 + b"@example.org\r\n",
    b"Diagnostic-Code: smtp; 550 " + "é".encode() * 3000 + b"\r\n",
    b"Subject: " + b"x" * 5000 + b"\r\n", b"From: <>\r\n", b"To: unsubscribe@example.org\r\n",
    b"Content-Type: message/delivery-status\r\n\r\n", b"Action: \x00failed\r\n",
    b"Reporting-MTA: dns; " + b"m" * 400 + b"\r\n", b"Original-Recipient: ;;;;\r\n",
    b"Subject: =?utf-8?q?=00=00?=\r\n", b"Diagnostic-Code: smtp; 550 \x00 user unknown\r\n",
])


@st.composite
def mutated_samples(draw: st.DrawFn, verp: str = VERP, message_id: str = MESSAGE_ID) -> bytes:
    """A real bounce shape, then cut, spliced and flipped."""
    raw = bytearray(draw(st.sampled_from(SAMPLES))(verp, RCPT, message_id))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(raw)))
        how = draw(st.sampled_from(["insert", "flip", "cut", "truncate"]))
        if how == "insert":
            raw[position:position] = draw(NASTY | st.binary(max_size=40))
        elif how == "flip" and position < len(raw):
            raw[position] = draw(st.integers(0, 255))
        elif how == "cut":
            del raw[position:position + draw(st.integers(1, 200))]
        elif how == "truncate":
            del raw[position:]
    return bytes(raw)


@FAST
@given(raw=st.binary(max_size=4000) | mutated_samples(),
       recipient=st.none() | st.text(max_size=80))
def test_the_parser_never_raises(raw: bytes, recipient: str | None) -> None:
    from mailer.tracking.classify import classify_message

    found = classify_message(raw, recipient)
    event(f"kind: {found.kind}")
    assert isinstance(found.problems, list)


@pytest.fixture
def sent_app(app: Flask) -> Flask:
    """An app with one sent delivery, so some mutated bounces still match it."""
    from mailer.dispatch.verp import verp_address

    sent = make_sent(app, RCPT, "ru")
    app.config["TEST_BOUNCE_TO"] = (verp_address(sent.delivery_id, app.config["SECRET_KEY"],
                                                 app.config["MAILER_BOUNCE_DOMAIN"]),
                                    sent.message_id)
    return app


def take_in(app: Flask, raw: bytes) -> None:
    """Ingest ``raw``: recorded, or refused with a product error that says why."""
    from mailer.db import db
    from mailer.errors import MailerError
    from mailer.tracking.bounces import ingest, secrets_from_config

    with app.app_context():
        try:
            applied = ingest(raw, secrets_from_config(app.config), source="api")
        except MailerError as error:
            assert error.status < 500 and error.message, repr(error)
            event(f"refused: {type(error).__name__}")
            db.session.rollback()
            return
        event(f"recorded: {applied.kind}, matched={applied.matched}")
        applied.as_dict()


@WITH_DATABASE
@given(data=st.data())
def test_mutated_bounces_are_taken_in(sent_app: Flask, data: st.DataObject) -> None:
    verp, message_id = sent_app.config["TEST_BOUNCE_TO"]
    take_in(sent_app, data.draw(mutated_samples(verp, message_id)))


@WITH_DATABASE
@given(raw=st.binary(max_size=3000) | st.text(max_size=2000).map(str.encode))
def test_arbitrary_bytes_are_taken_in(sent_app: Flask, raw: bytes) -> None:
    take_in(sent_app, raw)


def test_the_intake_api_answers_hostile_messages_without_a_crash(
        sent_app: Flask, staff: dict[str, dict[str, str]]) -> None:
    from tests.conftest import bearer

    client = sent_app.test_client()
    for raw in [b"", b"\x00" * 100, b"Subject: \x00\r\n\r\n\x00",
                samples.postfix_dsn(VERP, RCPT, MESSAGE_ID).replace(b"User unknown",
                                                                    b"User\x00unknown"),
                b"From: <>\r\nSubject: " + b"\xff" * 300 + b"\r\n\r\nbody"]:
        response = client.post("/api/v1/bounces", data=raw, content_type="message/rfc822",
                               headers=bearer(staff["editor"]["token"]))
        assert response.status_code < 500, (raw[:80], response.get_data(as_text=True))
