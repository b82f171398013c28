"""Sending transports against a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import pickle
import smtplib
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8

import pytest

from mailer.dispatch.transports import (
    Envelope,
    OutboxTransport,
    PermanentFailure,
    SenderRejected,
    SmtpTransport,
    TemporaryFailure,
    TransportError,
    UnknownOutcome,
    describe_transport_url,
    transport_from_url,
)
from tests.support.smtp import SmtpSink, free_port, smtp_sink, smtps_sink, tls_smtp_sink  # noqa: F401

SENDER = "bounce+d42@bounces.example.org"
UTF8_ADDRESS = "журналист@пример.испытание"


def make_data(to: str = "editor@example.com", subject: str = "Press release",
              body: str = "Hello.\n", *, utf8: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Press Office <press@example.org>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<1@example.org>"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTPUTF8 if utf8 else SMTP)


def envelope(*recipients: str, data: bytes | None = None, sender: str = SENDER) -> Envelope:
    rcpts = recipients or ("editor@example.com",)
    return Envelope(mail_from=sender, recipients=rcpts, data=data or make_data(rcpts[0]))


@pytest.fixture
def transport(smtp_sink: SmtpSink) -> Iterator[SmtpTransport]:  # noqa: F811
    with SmtpTransport(smtp_sink.host, smtp_sink.port, timeout=5) as t:
        yield t


# --- plain sending -----------------------------------------------------------------------------


def test_plain_send_arrives_with_exact_bytes_and_envelope(smtp_sink: SmtpSink,  # noqa: F811
                                                         transport: SmtpTransport) -> None:
    data = make_data(body="Line one.\n.A line starting with a dot.\n..two dots\n")
    result = transport.send(envelope("editor@example.com", "desk@example.net", data=data))

    assert result.accepted == ("editor@example.com", "desk@example.net")
    assert result.refused == {}
    assert result.reply[0] == 250
    [received] = smtp_sink.wait_for(1)
    assert received.data == data
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["editor@example.com", "desk@example.net"]
    assert received.smtp_utf8 is False
    assert "SMTPUTF8" not in received.mail_options
    assert received.message["Subject"] == "Press release"


def test_bare_line_feeds_are_sent_as_crlf(smtp_sink: SmtpSink,  # noqa: F811
                                         transport: SmtpTransport) -> None:
    transport.send(envelope(data=b"Subject: x\n\nbody\n.\nend"))
    [received] = smtp_sink.wait_for(1)
    assert received.data == b"Subject: x\r\n\r\nbody\r\n.\r\nend\r\n"


def test_three_sends_reuse_one_connection(smtp_sink: SmtpSink,  # noqa: F811
                                          transport: SmtpTransport) -> None:
    for n in range(3):
        transport.send(envelope(f"r{n}@example.com"))
    smtp_sink.wait_for(3)
    assert smtp_sink.connections == 1
    assert smtp_sink.by_recipient() == {f"r{n}@example.com": 1 for n in range(3)}


def test_closing_the_transport_makes_the_next_send_reconnect(smtp_sink: SmtpSink,  # noqa: F811
                                                            transport: SmtpTransport) -> None:
    transport.send(envelope())
    transport.close()
    transport.close()  # twice is harmless
    transport.send(envelope())
    smtp_sink.wait_for(2)
    assert smtp_sink.connections == 2


def test_an_envelope_without_recipients_is_a_programming_error(transport: SmtpTransport) -> None:
    with pytest.raises(ValueError, match="recipient"):
        transport.send(Envelope(SENDER, (), make_data()))


def test_8bit_body_is_announced_as_8bitmime(smtp_sink: SmtpSink,  # noqa: F811
                                           transport: SmtpTransport) -> None:
    data = b"Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nZdravo, \xc5\xbeurnalist\r\n"
    transport.send(envelope(data=data))
    [received] = smtp_sink.wait_for(1)
    assert "BODY=8BITMIME" in received.mail_options
    assert "SMTPUTF8" not in received.mail_options  # headers and addresses are ASCII
    assert received.data == data


# --- refusals ----------------------------------------------------------------------------------


def test_data_4xx_is_temporary_and_the_next_send_works(smtp_sink: SmtpSink,  # noqa: F811
                                                      transport: SmtpTransport) -> None:
    smtp_sink.reply_data("451 4.3.0 Try later")
    with pytest.raises(TemporaryFailure) as failure:
        transport.send(envelope())
    assert (failure.value.code, failure.value.reply) == (451, "4.3.0 Try later")
    assert smtp_sink.messages == []

    transport.send(envelope())
    smtp_sink.wait_for(1)
    assert smtp_sink.connections == 1  # RSET, not a new connection


def test_data_5xx_is_permanent(smtp_sink: SmtpSink, transport: SmtpTransport) -> None:  # noqa: F811
    smtp_sink.reply_data("554 5.6.0 Message content rejected")
    with pytest.raises(PermanentFailure) as failure:
        transport.send(envelope())
    assert failure.value.code == 554


@pytest.mark.parametrize("reply", ["550 5.7.26 Unauthenticated email is not accepted",
                                   "550 5.7.515 Access denied, sending domain does not meet "
                                   "the required authentication level",
                                   "421 4.7.28 Unusual rate of mail"])
def test_data_policy_refusal_rejects_the_sender(smtp_sink: SmtpSink,  # noqa: F811
                                               transport: SmtpTransport, reply: str) -> None:
    smtp_sink.reply_data(reply)
    with pytest.raises(SenderRejected) as failure:
        transport.send(envelope())
    assert failure.value.code == int(reply[:3])


def test_one_refused_recipient_is_reported_and_the_other_gets_it(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    smtp_sink.reply_rcpt("Gone@Example.com", "550 5.1.1 User unknown")
    result = transport.send(envelope("gone@example.com", "editor@example.com"))

    assert result.accepted == ("editor@example.com",)
    assert result.refused == {"gone@example.com": (550, "5.1.1 User unknown")}
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["editor@example.com"]


def test_all_recipients_refused_5xx_is_permanent(smtp_sink: SmtpSink,  # noqa: F811
                                                transport: SmtpTransport) -> None:
    smtp_sink.reply_rcpt(lambda address: address.endswith("@example.com"),
                         "550 5.1.1 User unknown")
    with pytest.raises(PermanentFailure) as failure:
        transport.send(envelope("a@example.com", "b@example.com"))
    assert set(failure.value.refused) == {"a@example.com", "b@example.com"}

    transport.send(envelope("c@example.net"))  # the connection is still good after RSET
    smtp_sink.wait_for(1)
    assert smtp_sink.connections == 1


def test_all_recipients_refused_4xx_is_temporary(smtp_sink: SmtpSink,  # noqa: F811
                                                transport: SmtpTransport) -> None:
    smtp_sink.reply_rcpt(lambda address: True, "450 4.2.1 Mailbox busy", times=2)
    with pytest.raises(TemporaryFailure) as failure:
        transport.send(envelope("a@example.com", "b@example.com"))
    assert failure.value.refused["a@example.com"] == (450, "4.2.1 Mailbox busy")


def test_relay_denied_for_every_recipient_rejects_the_sender(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    smtp_sink.reply_rcpt(lambda address: True, "554 5.7.1 Relay access denied")
    with pytest.raises(SenderRejected):
        transport.send(envelope("a@example.com", "b@example.com"))


def test_mail_from_policy_refusal_rejects_the_sender(smtp_sink: SmtpSink,  # noqa: F811
                                                    transport: SmtpTransport) -> None:
    smtp_sink.reply_mail("550 5.7.26 This mail has been blocked because the sender is "
                         "unauthenticated")
    with pytest.raises(SenderRejected) as failure:
        transport.send(envelope())
    assert failure.value.code == 550
    assert "5.7.26" in failure.value.reply


@pytest.mark.parametrize(("reply", "error"), [
    ("451 4.3.0 Local error in processing", TemporaryFailure),
    ("552 5.3.4 Message size exceeds fixed limit", PermanentFailure),
    ("553 5.1.8 Sender domain does not exist", SenderRejected),
])
def test_mail_from_refusals_by_code(smtp_sink: SmtpSink, transport: SmtpTransport,  # noqa: F811
                                    reply: str, error: type[TransportError]) -> None:
    smtp_sink.reply_mail(reply, times=1)
    with pytest.raises(error):
        transport.send(envelope())
    transport.send(envelope())  # RSET, and the same connection carries on
    smtp_sink.wait_for(1)
    assert smtp_sink.connections == 1


def test_crlf_in_an_address_is_refused_locally(smtp_sink: SmtpSink,  # noqa: F811
                                              transport: SmtpTransport) -> None:
    bad = "x@example.com>\r\nRSET"
    result = transport.send(envelope("editor@example.com", bad))
    assert result.refused[bad][0] == 553
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["editor@example.com"]


# --- broken connections ------------------------------------------------------------------------


def test_drop_after_data_is_an_unknown_outcome_and_the_next_send_reconnects(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    smtp_sink.drop_after_data()
    with pytest.raises(UnknownOutcome) as failure:
        transport.send(envelope("first@example.com"))
    assert failure.value.code is None
    assert "may have been delivered" in failure.value.reply
    assert [m.rcpt_tos for m in smtp_sink.dropped] == [["first@example.com"]]
    assert smtp_sink.messages == []

    transport.send(envelope("second@example.com"))
    assert [m.rcpt_tos for m in smtp_sink.wait_for(1)] == [["second@example.com"]]
    assert smtp_sink.connections == 2


class TaskTimeLimit(Exception):
    """Stands for Celery's SoftTimeLimitExceeded, raised in the middle of a send."""


def test_an_interrupted_send_does_not_poison_the_connection(
    smtp_sink: SmtpSink, transport: SmtpTransport, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    transport.send(envelope("first@example.com"))
    real_send = smtplib.SMTP.send

    def interrupted(self: smtplib.SMTP, s: bytes | str) -> None:
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            real_send(self, s[: len(s) // 2])
            raise TaskTimeLimit("time limit")
        real_send(self, s)

    monkeypatch.setattr(smtplib.SMTP, "send", interrupted)
    with pytest.raises(TaskTimeLimit):
        transport.send(envelope("half@example.com"))
    monkeypatch.undo()

    transport.send(envelope("third@example.com"))
    received = smtp_sink.wait_for(2)
    assert [m.rcpt_tos for m in received] == [["first@example.com"], ["third@example.com"]]
    assert smtp_sink.connections == 2


def test_server_not_listening_is_temporary() -> None:
    with SmtpTransport("127.0.0.1", free_port(), timeout=2) as transport, \
            pytest.raises(TemporaryFailure, match="cannot connect"):
        transport.send(envelope())


def test_server_that_never_greets_times_out_as_temporary() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # the kernel accepts the connection; nobody ever speaks
        start = time.monotonic()
        with SmtpTransport("127.0.0.1", listener.getsockname()[1], timeout=0.5) as transport, \
                pytest.raises(TemporaryFailure):
            transport.send(envelope())
        assert time.monotonic() - start < 3


def test_slow_reply_after_data_is_an_unknown_outcome_within_the_timeout(
    smtp_sink: SmtpSink  # noqa: F811
) -> None:
    smtp_sink.delay_data(3)
    with SmtpTransport(smtp_sink.host, smtp_sink.port, timeout=0.5) as transport:
        start = time.monotonic()
        with pytest.raises(UnknownOutcome):
            transport.send(envelope("slow@example.com"))
        assert time.monotonic() - start < 2.5
        # The server did get the message: exactly why it must not be retried blindly.
        assert [m.rcpt_tos for m in smtp_sink.wait_for(1)] == [["slow@example.com"]]

        transport.send(envelope("next@example.com"))
        assert len(smtp_sink.wait_for(2)) == 2


def test_421_greeting_rejects_the_sender(smtp_sink: SmtpSink) -> None:  # noqa: F811
    smtp_sink.reply_greeting("421 4.7.0 Too many connections from your IP")
    with SmtpTransport(smtp_sink.host, smtp_sink.port, timeout=5) as transport:
        with pytest.raises(SenderRejected) as failure:
            transport.send(envelope())
        assert failure.value.code == 421
        transport.send(envelope())  # the next connection is greeted normally
    smtp_sink.wait_for(1)


def test_a_connection_the_server_closed_while_idle_is_reopened(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    transport.send(envelope())
    smtp_sink.stop()  # closes every client connection
    smtp_sink.start()  # same port; resets the connection count
    transport.send(envelope())
    assert len(smtp_sink.wait_for(2)) == 2
    assert smtp_sink.connections == 1


def test_421_on_mail_of_a_reused_connection_reconnects_once(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    transport.send(envelope())
    smtp_sink.reply_mail("421 4.4.2 Too many messages on this connection", times=1)
    transport.send(envelope())
    assert len(smtp_sink.wait_for(2)) == 2
    assert smtp_sink.connections == 2


def test_421_on_mail_of_a_fresh_connection_is_temporary(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    smtp_sink.reply_mail("421 4.3.2 System shutting down")
    with pytest.raises(TemporaryFailure):
        transport.send(envelope())
    assert smtp_sink.connections == 1


# --- authentication and TLS --------------------------------------------------------------------


def test_auth_with_the_right_password(smtp_sink: SmtpSink) -> None:  # noqa: F811
    smtp_sink.require_auth("mailer", "s3cret:пароль")
    with SmtpTransport(smtp_sink.host, smtp_sink.port, username="mailer",
                       password="s3cret:пароль", timeout=5) as transport:
        transport.send(envelope())
    [received] = smtp_sink.wait_for(1)
    assert received.auth_login == "mailer"


def test_auth_with_a_wrong_password_rejects_the_sender(smtp_sink: SmtpSink) -> None:  # noqa: F811
    smtp_sink.require_auth("mailer", "right")
    with SmtpTransport(smtp_sink.host, smtp_sink.port, username="mailer", password="wrong",
                       timeout=5) as transport, pytest.raises(SenderRejected) as failure:
        transport.send(envelope())
    assert failure.value.code == 535
    assert "wrong" not in str(failure.value)


def test_auth_required_but_not_configured_rejects_the_sender(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    smtp_sink.require_auth("mailer", "right")
    with pytest.raises(SenderRejected) as failure:
        transport.send(envelope())
    assert failure.value.code == 530


def test_url_of_a_sink_with_auth_carries_the_credentials(smtp_sink: SmtpSink) -> None:  # noqa: F811
    smtp_sink.require_auth("press@example.org", "p@ss/word")
    with transport_from_url(smtp_sink.url, timeout=5) as transport:
        transport.send(envelope())
    assert smtp_sink.wait_for(1)[0].auth_login == "press@example.org"


def test_starttls_with_a_self_signed_certificate(tls_smtp_sink: SmtpSink) -> None:  # noqa: F811
    tls_smtp_sink.require_auth("mailer", "secret")
    with SmtpTransport(tls_smtp_sink.host, tls_smtp_sink.port, security="starttls",
                       username="mailer", password="secret", timeout=5,
                       ssl_context=tls_smtp_sink.ssl_context_for_clients()) as transport:
        transport.send(envelope())
        transport.send(envelope())
    received = tls_smtp_sink.wait_for(2)
    assert all(m.tls and m.auth_login == "mailer" for m in received)
    assert tls_smtp_sink.connections == 1


def test_starttls_with_an_untrusted_certificate_rejects_the_sender(
    tls_smtp_sink: SmtpSink  # noqa: F811
) -> None:
    with SmtpTransport(tls_smtp_sink.host, tls_smtp_sink.port, security="starttls",
                       timeout=5) as transport, pytest.raises(SenderRejected, match="certificate"):
        transport.send(envelope())


def test_starttls_required_but_not_offered_rejects_the_sender(smtp_sink: SmtpSink) -> None:  # noqa: F811
    with SmtpTransport(smtp_sink.host, smtp_sink.port, security="starttls",
                       timeout=5) as transport, pytest.raises(SenderRejected, match="STARTTLS"):
        transport.send(envelope())


def test_plain_client_on_a_server_requiring_starttls_is_rejected(
    tls_smtp_sink: SmtpSink  # noqa: F811
) -> None:
    with SmtpTransport(tls_smtp_sink.host, tls_smtp_sink.port, timeout=5) as transport, \
            pytest.raises(SenderRejected) as failure:
        transport.send(envelope())
    assert failure.value.code == 530


def test_smtps_implicit_tls(smtps_sink: SmtpSink) -> None:  # noqa: F811
    with SmtpTransport(smtps_sink.host, smtps_sink.port, security="tls", timeout=5,
                       ssl_context=smtps_sink.ssl_context_for_clients()) as transport:
        transport.send(envelope())
    [received] = smtps_sink.wait_for(1)
    assert received.tls


def test_smtps_against_a_plain_server_rejects_the_sender(smtp_sink: SmtpSink) -> None:  # noqa: F811
    with SmtpTransport(smtp_sink.host, smtp_sink.port, security="tls", timeout=5) as transport, \
            pytest.raises(SenderRejected, match="TLS"):
        transport.send(envelope())


# --- SMTPUTF8 ----------------------------------------------------------------------------------


def test_non_ascii_address_goes_out_with_smtputf8(smtp_sink: SmtpSink,  # noqa: F811
                                                 transport: SmtpTransport) -> None:
    data = make_data(UTF8_ADDRESS, subject="Пресс-релиз", utf8=True)
    result = transport.send(envelope(UTF8_ADDRESS, data=data))
    assert result.accepted == (UTF8_ADDRESS,)
    [received] = smtp_sink.wait_for(1)
    assert received.smtp_utf8 is True
    assert received.rcpt_tos == [UTF8_ADDRESS]
    assert received.data == data
    assert received.message["To"] == UTF8_ADDRESS


def test_utf8_headers_alone_use_smtputf8(smtp_sink: SmtpSink,  # noqa: F811
                                        transport: SmtpTransport) -> None:
    transport.send(envelope(data=make_data(subject="Пресс-релиз", utf8=True)))
    assert smtp_sink.wait_for(1)[0].smtp_utf8 is True


def test_without_smtputf8_a_non_ascii_mailbox_is_refused_with_a_reason(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    smtp_sink.no_smtputf8()
    result = transport.send(envelope(UTF8_ADDRESS, "press@пример.испытание",
                                     "editor@example.com"))
    code, reason = result.refused[UTF8_ADDRESS]
    assert code == 553
    assert "SMTPUTF8" in reason and "non-ASCII" in reason
    # Only the domain is non-ASCII: it goes out as IDNA, reported under the original spelling.
    assert result.accepted == ("press@пример.испытание", "editor@example.com")
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["press@xn--e1afmkfd.xn--80akhbyknj4f", "editor@example.com"]
    assert received.smtp_utf8 is False


def test_without_smtputf8_only_non_ascii_mailboxes_is_permanent(
    smtp_sink: SmtpSink, transport: SmtpTransport  # noqa: F811
) -> None:
    smtp_sink.no_smtputf8()
    with pytest.raises(PermanentFailure, match="SMTPUTF8") as failure:
        transport.send(envelope(UTF8_ADDRESS))
    assert list(failure.value.refused) == [UTF8_ADDRESS]
    with pytest.raises(PermanentFailure, match="sender"):
        transport.send(envelope(sender="пресса@example.org"))
    assert smtp_sink.messages == []


# --- outbox, URLs, errors ----------------------------------------------------------------------


def test_outbox_transport_stores_and_accepts_everyone() -> None:
    stored: list[Envelope] = []

    def store(env: Envelope) -> int:
        stored.append(env)
        return 7

    env = envelope("a@example.com", "b@example.com")
    with OutboxTransport(store) as transport:
        result = transport.send(env)
    assert stored == [env]
    assert result.accepted == ("a@example.com", "b@example.com")
    assert result.refused == {}
    assert result.reply == (250, "stored as outbox message 7")


def test_url_outbox() -> None:
    assert isinstance(transport_from_url("outbox:", outbox_store=lambda env: 1), OutboxTransport)
    with pytest.raises(ValueError, match="outbox_store"):
        transport_from_url("outbox:")


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, "none", None, None, 30.0, None)),
    ("smtp://relay.example.org", ("relay.example.org", 25, "none", None, None, 30.0, None)),
    ("smtp://user:pass@relay.example.org:587?starttls=1",
     ("relay.example.org", 587, "starttls", "user", "pass", 30.0, None)),
    ("smtp://relay.example.org?starttls=1", ("relay.example.org", 587, "starttls", None, None,
                                              30.0, None)),
    ("smtp://relay.example.org:2525?starttls=true",
     ("relay.example.org", 2525, "starttls", None, None, 30.0, None)),
    ("smtps://relay.example.org", ("relay.example.org", 465, "tls", None, None, 30.0, None)),
    ("SMTPS://u:p@relay.example.org:1465", ("relay.example.org", 1465, "tls", "u", "p", 30.0,
                                             None)),
    ("smtp://us%40er:p%40ss%3Aw%2Fd%23%20x@relay.example.org",
     ("relay.example.org", 25, "none", "us@er", "p@ss:w/d# x", 30.0, None)),
    ("smtp://u:p@ss@relay.example.org", ("relay.example.org", 25, "none", "u", "p@ss", 30.0,
                                         None)),
    ("smtp://relay.example.org/?timeout=10&helo=mailer.example.org&starttls=0",
     ("relay.example.org", 25, "none", None, None, 10.0, "mailer.example.org")),
    ("smtp://[::1]:2525", ("::1", 2525, "none", None, None, 30.0, None)),
])
def test_url_smtp_forms(url: str, expected: tuple[object, ...]) -> None:
    transport = transport_from_url(url)
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.security, transport.username,
            transport._password, transport.timeout, transport.local_hostname) == expected
    assert "pass" not in repr(transport)


def test_url_timeout_keyword_is_the_default() -> None:
    transport = transport_from_url("smtp://relay.example.org", timeout=5)
    assert isinstance(transport, SmtpTransport)
    assert transport.timeout == 5


@pytest.mark.parametrize("url", [
    "",
    "relay.example.org",
    "http://relay.example.org",
    "mailto:press@example.org",
    "smtp://",
    "smtp://:secret@relay.example.org",
    "smtp://user@relay.example.org",
    "smtp://relay.example.org:notaport",
    "smtp://relay.example.org:99999",
    "smtp://relay.example.org:0",
    "smtp://relay.example.org/path",
    "smtp://user:sec#ret@relay.example.org",
    "smtp://user:sec/ret@relay.example.org",
    "smtp://relay.example.org?tls=1",
    "smtp://relay.example.org?starttls=maybe",
    "smtp://relay.example.org?starttls=1&starttls=0",
    "smtp://relay.example.org?timeout=-1",
    "smtp://relay.example.org?timeout=soon",
    "smtp://relay.example.org?timeout=inf",
    "smtp://relay.example.org?helo=bad%20name",
    "smtps://relay.example.org?starttls=1",
    "outbox:anything",
    "outbox://host",
])
def test_url_bad_forms_are_refused_clearly(url: str) -> None:
    with pytest.raises(ValueError, match="Accepted forms: outbox:, smtp://") as error:
        transport_from_url(url, outbox_store=lambda env: 1)
    assert "secret" not in str(error.value)
    assert "sec#ret" not in str(error.value)


@pytest.mark.parametrize(("url", "shown"), [
    ("smtp://user:secret@relay.example.org:587?starttls=1",
     "smtp://user:***@relay.example.org:587?starttls=1"),
    ("smtps://u:p%40ss@relay.example.org", "smtps://u:***@relay.example.org"),
    ("smtp://u:p@ss@relay.example.org", "smtp://u:***@relay.example.org"),
    ("smtp://user@relay.example.org", "smtp://user@relay.example.org"),
    ("smtp://relay.example.org:25", "smtp://relay.example.org:25"),
    ("outbox:", "outbox:"),
])
def test_describe_transport_url_hides_the_password(url: str, shown: str) -> None:
    assert describe_transport_url(url) == shown


def test_errors_survive_pickling_with_their_refusals() -> None:
    error = PermanentFailure(550, "5.1.1 all refused", {"a@example.com": (550, "5.1.1 no")})
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(copy) is PermanentFailure
    assert (copy.code, copy.reply, copy.refused) == (550, "5.1.1 all refused",
                                                     {"a@example.com": (550, "5.1.1 no")})
    assert str(copy) == "550 5.1.1 all refused"


def test_pipelining_and_lockstep_servers_get_the_same_outcomes(
        smtp_sink: SmtpSink) -> None:  # noqa: F811
    """With PIPELINING, MAIL/RCPT/DATA go in one write; without, one at a time. Either way a
    refused MAIL, a refused recipient and a plain send end the same."""
    from mailer.dispatch.transports import PermanentFailure, SenderRejected, SmtpTransport

    for pipelining in (True, False):
        smtp_sink.reset_faults()
        smtp_sink.clear()
        if not pipelining:
            smtp_sink.no_pipelining()
        with SmtpTransport(smtp_sink.host, smtp_sink.port, security="none", timeout=5) as smtp:
            smtp_sink.reply_mail("550 5.7.26 Unauthenticated email", times=1)
            with pytest.raises(SenderRejected):
                smtp.send(Envelope("press@example.org", ("a@example.com",), b"Subject: 1\r\n\r\n"))
            smtp_sink.reply_rcpt("b@example.com", "550 5.1.1 No such user", times=1)
            with pytest.raises(PermanentFailure):
                smtp.send(Envelope("press@example.org", ("b@example.com",), b"Subject: 2\r\n\r\n"))
            result = smtp.send(Envelope("press@example.org", ("c@example.com", "d@example.com"),
                                        b"Subject: 3\r\n\r\nx\r\n"))
            assert result.accepted == ("c@example.com", "d@example.com")
        assert [m.rcpt_tos for m in smtp_sink.messages] == [["c@example.com", "d@example.com"]]
        assert smtp_sink.connections >= 1
