"""SMTP faults through the real worker: each fault scripted on the sink, one mailing of 20, and
the shared invariant (tests/reliability/support.py) once the fault is gone.

What each fault must leave behind, beyond the invariant:

=================  ==========================================================================
rcpt-4xx           the refused recipient is deferred, retried with backoff, then sent
rcpt-5xx           the refused recipient fails with the server's reply; the others are sent
data-4xx           messages refused at the end of DATA are deferred and sent on a retry
data-5xx           a message refused at the end of DATA fails; nothing is resent
421-mid-session    the server closes the session (at RCPT and after DATA): deferred, then sent
drop-after-data    the connection dies after the final dot with no reply: ``unknown``, never
                   resent
slow-server        the reply to the final dot takes longer than MAILER_SMTP_TIMEOUT_SECONDS:
                   ``unknown`` (the server may keep it), never resent
server-down        nothing listens when the mailing starts: every delivery deferred, then sent
                   once the server is back, by the doorbell and the sweep alone
starttls-required  the relay requires STARTTLS: every message goes over TLS
=================  ==========================================================================

The transport-level cases behind these (pipelined or lock-step replies, a plain client refused
by a STARTTLS relay, an untrusted certificate) are in tests/dispatch/test_transports.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.conftest import Stack
from tests.reliability.support import (
    Figures,
    Row,
    Workers,
    check_invariant,
    delivery_rows,
    make_audience,
    record,
    send_mailing,
    status_counts,
    wait_until,
)
from tests.support.smtp import SmtpSink, sink_certificate

pytestmark = pytest.mark.timeout(180)

RECIPIENTS = 20
STACKS = [pytest.param("production"), pytest.param("embedded", marks=pytest.mark.long)]


def reporter(n: int) -> str:
    return f"reporter{n}@example.com"


@dataclass(frozen=True)
class Fault:
    """A scripted SMTP fault and what it must leave behind besides the invariant."""

    name: str
    script: Callable[[SmtpSink], None] = lambda sink: None
    expect: Callable[[Figures, list[Row], SmtpSink], None] = lambda figures, rows, sink: None
    env: dict[str, str] = field(default_factory=dict)


def _retried(rows: list[Row], at_least: int, attempts: int) -> None:
    retried = [row for row in rows if row.attempts >= attempts]
    assert len(retried) >= at_least, [(r.email, r.attempts) for r in rows if r.attempts > 1]


def _expect_rcpt_4xx(figures: Figures, rows: list[Row], sink: SmtpSink) -> None:
    assert figures.states == {"sent": RECIPIENTS}
    assert {row.email: row.attempts for row in rows}[reporter(3)] == 3


def _expect_rcpt_5xx(figures: Figures, rows: list[Row], sink: SmtpSink) -> None:
    assert figures.states == {"sent": RECIPIENTS - 1, "failed": 1}
    failed = next(row for row in rows if row.status == "failed")
    assert failed.email == reporter(3) and failed.attempts == 1


def _expect_data_4xx(figures: Figures, rows: list[Row], sink: SmtpSink) -> None:
    assert figures.states == {"sent": RECIPIENTS}
    _retried(rows, 2, 2)


def _expect_data_5xx(figures: Figures, rows: list[Row], sink: SmtpSink) -> None:
    assert figures.states == {"sent": RECIPIENTS - 1, "failed": 1}
    assert all(row.attempts == 1 for row in rows)


def _expect_421(figures: Figures, rows: list[Row], sink: SmtpSink) -> None:
    assert figures.states == {"sent": RECIPIENTS}
    _retried(rows, 2, 2)
    assert sink.connections >= 3  # the session was given up twice and opened again


def _expect_drop(figures: Figures, rows: list[Row], sink: SmtpSink) -> None:
    assert figures.states == {"sent": RECIPIENTS - 2, "unknown": 2}
    dropped = sorted(address for m in sink.dropped for address in m.rcpt_tos)
    assert dropped == sorted(row.email for row in rows if row.status == "unknown")
    assert figures.unknown_delivered == 0  # read by the server, never answered, never resent


def _expect_slow(figures: Figures, rows: list[Row], sink: SmtpSink) -> None:
    assert figures.states == {"sent": RECIPIENTS - 2, "unknown": 2}
    assert all(row.attempts == 1 for row in rows)  # the slow ones were not tried again


def _expect_tls(figures: Figures, rows: list[Row], sink: SmtpSink) -> None:
    assert figures.states == {"sent": RECIPIENTS}
    assert all(message.tls for message in sink.messages)


def _script_421(sink: SmtpSink) -> None:
    sink.reply_rcpt(reporter(5), "421 4.7.0 Too many errors, closing connection", times=1)
    sink.reply_data("421 4.4.2 Connection timed out, closing", times=1)


FAULTS = [
    Fault("rcpt-4xx", lambda sink: sink.reply_rcpt(reporter(3), "451 4.2.1 Mailbox busy",
                                                   times=2), _expect_rcpt_4xx),
    Fault("rcpt-5xx", lambda sink: sink.reply_rcpt(reporter(3), "550 5.1.1 No such user"),
          _expect_rcpt_5xx),
    Fault("data-4xx", lambda sink: sink.reply_data("452 4.3.1 Insufficient system storage",
                                                   times=2), _expect_data_4xx),
    Fault("data-5xx", lambda sink: sink.reply_data("554 5.6.0 Message content rejected",
                                                   times=1), _expect_data_5xx),
    Fault("421-mid-session", _script_421, _expect_421),
    Fault("drop-after-data", lambda sink: sink.drop_after_data(times=2), _expect_drop),
    Fault("slow-server", lambda sink: sink.delay_data(4, times=2), _expect_slow,
          env={"MAILER_SMTP_TIMEOUT_SECONDS": "1"}),
]


@pytest.mark.parametrize("stack", STACKS, indirect=True)
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_smtp_fault(stack: Stack, workers: Workers, smtp_sink: SmtpSink, fault: Fault,
                    request: pytest.FixtureRequest) -> None:
    audience = make_audience(stack, RECIPIENTS)
    fault.script(smtp_sink)
    workers.start(env=fault.env)
    began = time.monotonic()
    mailing = send_mailing(audience)
    figures = check_invariant(stack, smtp_sink, mailing, recipients=RECIPIENTS, started=began)
    rows = delivery_rows(stack.app, mailing)
    fault.expect(figures, rows, smtp_sink)
    record(request.node.name, figures)


@pytest.mark.parametrize("stack", STACKS, indirect=True)
def test_smtp_server_down_at_the_start_and_back(stack: Stack, workers: Workers,
                                                smtp_sink: SmtpSink,
                                                request: pytest.FixtureRequest) -> None:
    audience = make_audience(stack, RECIPIENTS)
    smtp_sink.stop()  # nothing listens on the relay's port
    workers.start()
    began = time.monotonic()
    mailing = send_mailing(audience)
    deferred = wait_until(lambda: status_counts(stack.app, mailing)["deferred"], 30,
                          "deliveries deferred while the server is down")
    time.sleep(2)
    smtp_sink.start()
    figures = check_invariant(stack, smtp_sink, mailing, recipients=RECIPIENTS, started=began)
    assert figures.states == {"sent": RECIPIENTS}
    _retried(delivery_rows(stack.app, mailing), RECIPIENTS, 2)  # each one tried again
    record(request.node.name, figures, deferred_seen=deferred)


@pytest.mark.parametrize("stack", STACKS, indirect=True)
def test_smtp_relay_requires_starttls(stack: Stack, workers: Workers,
                                      tls_smtp_sink: SmtpSink,
                                      request: pytest.FixtureRequest) -> None:
    audience = make_audience(stack, RECIPIENTS)
    cert, _ = sink_certificate()
    # The relay's certificate is self-signed: trust it (and only it) as an operator would.
    workers.start(env={"MAILER_SMTP_URL": tls_smtp_sink.url, "SSL_CERT_FILE": str(cert)})
    began = time.monotonic()
    mailing = send_mailing(audience)
    figures = check_invariant(stack, tls_smtp_sink, mailing, recipients=RECIPIENTS,
                              started=began)
    _expect_tls(figures, delivery_rows(stack.app, mailing), tls_smtp_sink)
    record(request.node.name, figures)
