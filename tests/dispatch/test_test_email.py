"""A test email, from the API or the dashboard, through a real worker to a real SMTP server."""

from __future__ import annotations

import time
from email.message import EmailMessage

from flask import Flask

from tests.conftest import Stack, api_token, bearer, csrf_token, login, make_user
from tests.support.processes import ServiceProcess
from tests.support.smtp import SmtpSink


def settle(stack: Stack, worker: ServiceProcess) -> None:
    """Wait until the worker finished its task and the broker holds nothing more."""
    worker.wait_for_output(r"dispatch\.send_test_email\[[^]]+\] succeeded", timeout=30)
    time.sleep(0.5)
    assert queued_messages(stack) == 0


def _editor(app: Flask) -> str:
    make_user(app, "editor@example.com", "editor")
    return api_token(app, "editor@example.com")


def test_api_test_email_reaches_smtp_through_the_worker(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink) -> None:
    token = _editor(stack.app)
    response = stack.app.test_client().post(
        "/api/v1/test-email", json={"email": "Reporter@Example.com"}, headers=bearer(token))
    assert response.status_code == 202
    assert response.get_json() == {"queued": "Reporter@example.com"}

    (received,) = smtp_sink.wait_for(1, timeout=30)
    settle(stack, celery_worker)
    assert len(smtp_sink.messages) == 1  # one task message, consumed once
    assert received.mail_from == "press@example.org"
    assert received.rcpt_tos == ["Reporter@example.com"]
    message = received.message
    assert message["To"] == "Reporter@example.com"
    assert message["From"] == "Press Office <press@example.org>"
    assert message["Subject"] == "Test message from Press Office"
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and "editor@example.com" in text.get_content()
    assert html is not None and "<p>This is a test message.</p>" in html.get_content()
    assert b"\r\n" in received.data and b"\n\n" not in received.data.replace(b"\r\n", b"")


def test_internationalised_address_goes_out_with_smtputf8(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink) -> None:
    token = _editor(stack.app)
    response = stack.app.test_client().post(
        "/api/v1/test-email", json={"email": "журналист@пример.испытание"},
        headers=bearer(token))
    assert response.status_code == 202
    (received,) = smtp_sink.wait_for(1, timeout=30)
    assert received.rcpt_tos == ["журналист@пример.испытание"]
    assert received.smtp_utf8
    assert received.message["To"] == "журналист@пример.испытание"


def test_dashboard_form_queues_a_test_email(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink) -> None:
    make_user(stack.app, "editor@example.com", "editor")
    client = stack.app.test_client()
    login(client, "editor@example.com")
    response = client.post("/test-email", data={"email": "desk@example.com",
                                                "csrf_token": csrf_token(client, "/")},
                           follow_redirects=True)
    assert "Test email to desk@example.com queued" in response.get_data(as_text=True)
    smtp_sink.wait_for(1, timeout=30)
    settle(stack, celery_worker)
    assert smtp_sink.by_recipient() == {"desk@example.com": 1}


def test_bad_address_is_refused_and_nothing_is_queued(stack: Stack, smtp_sink: SmtpSink) -> None:
    token = _editor(stack.app)
    client = stack.app.test_client()
    response = client.post("/api/v1/test-email", json={"email": "not an address"},
                           headers=bearer(token))
    assert response.status_code == 422
    assert "email" in response.get_json()["error"]["fields"]
    response = client.post("/api/v1/test-email", json={}, headers=bearer(token))
    assert response.get_json()["error"]["fields"] == {"email": "required"}
    assert queued_messages(stack) == 0


def queued_messages(stack: Stack) -> int:
    """How many task messages wait on the stack's broker, whatever its kind."""
    celery = stack.app.extensions["celery"]
    total = 0
    with celery.connection_for_read() as connection:
        channel = connection.default_channel
        for queue in ("dispatch", "tracking", "housekeeping"):
            total += channel.queue_declare(queue=queue, passive=False).message_count
    return total


def test_a_queued_test_email_waits_on_the_broker(stack: Stack) -> None:
    """Without a worker the task sits on the broker, serialised: the real path, not eager."""
    token = _editor(stack.app)
    stack.app.test_client().post("/api/v1/test-email", json={"email": "a@example.com"},
                                 headers=bearer(token))
    assert queued_messages(stack) == 1
