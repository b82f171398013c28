"""An SMTP sink for tests: aiosmtpd on a free loopback port, recording what arrives.

Fixtures: `smtp_sink` (plain), `tls_smtp_sink` (STARTTLS required, self-signed certificate made
at test time) and `smtps_sink` (implicit TLS). Use them with

    from tests.support.smtp import smtp_sink, tls_smtp_sink  # noqa: F401

Scripting faults: each `reply_*`, `drop_after_data` and `delay_data` call adds a rule that the
sink consults on the matching SMTP step; `times=N` makes a rule fire N times and then fall away,
`times=None` keeps it forever. Rules are checked in the order they were added; the first live
one wins. Server options (`require_auth`, `no_smtputf8`) apply to connections opened after the
call. No Flask here.
"""

from __future__ import annotations

import asyncio
import atexit
import email
import email.policy
import functools
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, Session
from aiosmtpd.smtp import Envelope as ServerEnvelope

TlsMode = Literal["none", "starttls", "implicit"]
_REPLY = re.compile(r"^[2345]\d\d( |$)")


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the sink accepted (or, in `.dropped`, read and never answered)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    smtp_utf8: bool
    mail_options: list[str]
    rcpt_options: list[str]
    auth_login: str | None = None
    tls: bool = False
    received_at: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> EmailMessage:
        """The data parsed with the modern email policy."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class _Rule:
    reply: str = ""
    times: int | None = None
    match: Callable[[str], bool] | None = None
    seconds: float = 0.0

    def applies(self, value: str | None) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return self.match is None or (value is not None and self.match(value))

    def use(self) -> None:
        if self.times is not None:
            self.times -= 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (aiosmtpd cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.cache
def sink_certificate() -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 and localhost, made once per run."""
    directory = Path(tempfile.mkdtemp(prefix="smtp-sink-cert-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


class _Handler:
    """aiosmtpd hooks that consult the sink's rules and record what arrives."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: ServerEnvelope, hostname: str,
        responses: list[str],
    ) -> list[str]:
        # aiosmtpd reads commands line by line, so pipelined commands already work; say so
        # (RFC 2920), as real relays do, unless a test turned it off.
        session.host_name = hostname
        if self.sink._pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: ServerEnvelope, address: str,
        mail_options: list[str],
    ) -> Any:
        rule = self.sink._take("mail", address)
        return rule.reply if rule else MISSING

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: ServerEnvelope, address: str,
        rcpt_options: list[str],
    ) -> Any:
        rule = self.sink._take("rcpt", address)
        return rule.reply if rule else MISSING

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: ServerEnvelope
    ) -> str:
        transport = server.transport
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=envelope.original_content or b"",
            smtp_utf8=envelope.smtp_utf8,
            mail_options=list(envelope.mail_options),
            rcpt_options=list(envelope.rcpt_options),
            auth_login=session.auth_data if isinstance(session.auth_data, str) else None,
            tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
        )
        delay = self.sink._take("delay", None)
        if delay:
            try:
                await asyncio.sleep(delay.seconds)
            except asyncio.CancelledError:
                # The client gave up waiting; a real server would still deliver what it read.
                self.sink._record(received)
                raise
        if self.sink._take("drop", None):
            self.sink._record(received, dropped=True)
            if transport is not None:
                transport.close()
            await asyncio.sleep(3600)  # cancelled when the connection is gone; never answers
        rule = self.sink._take("data", None)
        if rule and not rule.reply.startswith("2"):
            return rule.reply
        number = self.sink._record(received)
        return rule.reply if rule else f"250 2.0.0 OK: queued as {number}"


class _SinkSMTP(SMTP):
    """aiosmtpd's server, able to answer the greeting with a scripted reply and hang up."""

    def __init__(self, handler: _Handler, greeting: str | None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._scripted_greeting = greeting
        self._greeted = False

    async def push(self, status: Any) -> None:
        if not self._greeted:
            self._greeted = True
            if self._scripted_greeting is not None:
                await super().push(self._scripted_greeting)
                if self.transport is not None:
                    self.transport.close()
                await asyncio.sleep(3600)  # cancelled when the connection is gone
        await super().push(status)


class _Controller(Controller):
    def __init__(self, sink: SmtpSink, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(sink._handler, hostname=sink.host, port=sink.port,
                         ssl_context=ssl_context)
        self.sink = sink

    def factory(self) -> SMTP:
        return self.sink._new_session()


class SmtpSink:
    """A running aiosmtpd server that records messages and plays scripted faults."""

    host = "127.0.0.1"

    def __init__(self, tls: TlsMode = "none") -> None:
        self.tls: TlsMode = tls
        self.port = free_port()
        self._handler = _Handler(self)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._messages: list[ReceivedMessage] = []
        self._dropped: list[ReceivedMessage] = []
        self._connections = 0
        self._rules: dict[str, list[_Rule]] = {}
        self._smtputf8 = True
        self._pipelining = True
        self._auth: tuple[str, str] | None = None
        self._controller: _Controller | None = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start listening; connections made while starting are not counted."""
        server_ctx = None
        if self.tls == "implicit":
            server_ctx = self._server_tls_context()
        self._controller = _Controller(self, server_ctx)
        self._controller.start()
        with self._lock:
            self._connections = 0  # the controller's own readiness probe

    def stop(self) -> None:
        """Stop the server thread."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # what clients see ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """A MAILER_SMTP_URL for this sink, with the credentials `require_auth` set."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        userinfo = ""
        if self._auth is not None:
            userinfo = f"{quote(self._auth[0], safe='')}:{quote(self._auth[1], safe='')}@"
        query = "?starttls=1" if self.tls == "starttls" else ""
        return f"{scheme}://{userinfo}{self.host}:{self.port}{query}"

    def ssl_context_for_clients(self) -> ssl.SSLContext:
        """A client context that trusts the sink's self-signed certificate (and only it)."""
        cert, _ = sink_certificate()
        return ssl.create_default_context(cafile=str(cert))

    # what arrived ----------------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        """A snapshot of the messages accepted so far, in order."""
        with self._lock:
            return list(self._messages)

    @property
    def dropped(self) -> list[ReceivedMessage]:
        """Messages read in full and then left unanswered by `drop_after_data`."""
        with self._lock:
            return list(self._dropped)

    @property
    def connections(self) -> int:
        """How many client connections the sink has accepted."""
        with self._lock:
            return self._connections

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least `count` messages arrived; AssertionError with what did if not."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    summary = [(m.mail_from, m.rcpt_tos) for m in self._messages]
                    raise AssertionError(
                        f"expected {count} message(s) within {timeout}s, got "
                        f"{len(self._messages)}: {summary}; dropped: {len(self._dropped)}"
                    )
                self._arrived.wait(left)
            return list(self._messages)

    def by_recipient(self) -> dict[str, int]:
        """How many accepted messages each recipient address got."""
        with self._lock:
            return dict(Counter(r for m in self._messages for r in m.rcpt_tos))

    def clear(self) -> None:
        """Forget recorded and dropped messages (faults, options and `connections` stay)."""
        with self._lock:
            self._messages.clear()
            self._dropped.clear()

    # scripting -------------------------------------------------------------------------------

    def reply_greeting(self, reply: str, *, times: int | None = 1) -> None:
        """Greet new connections with `reply` (e.g. "421 4.7.0 Too busy") and hang up."""
        self._add("greeting", _Rule(_check(reply), times))

    def reply_mail(self, reply: str, *, times: int | None = None,
                   sender: str | Callable[[str], bool] | None = None) -> None:
        """Answer MAIL FROM (of `sender`, or any) with `reply`, e.g. "550 5.7.26 …"."""
        self._add("mail", _Rule(_check(reply), times, _matcher(sender)))

    def reply_rcpt(self, address_or_predicate: str | Callable[[str], bool], reply: str, *,
                   times: int | None = None) -> None:
        """Answer RCPT TO for an address (case-insensitive) or predicate with `reply`."""
        self._add("rcpt", _Rule(_check(reply), times, _matcher(address_or_predicate)))

    def reply_data(self, reply: str, *, times: int | None = 1) -> None:
        """Answer the end of DATA with `reply` (a 4xx/5xx one records nothing)."""
        self._add("data", _Rule(_check(reply), times))

    def drop_after_data(self, *, times: int | None = 1) -> None:
        """Read the whole message, then close without answering; it goes to `.dropped`."""
        self._add("drop", _Rule("", times))

    def delay_data(self, seconds: float, *, times: int | None = 1) -> None:
        """Wait `seconds` before answering the end of DATA; the message is kept either way."""
        self._add("delay", _Rule("", times, seconds=seconds))

    def require_auth(self, user: str, password: str) -> None:
        """Advertise AUTH PLAIN/LOGIN and refuse MAIL (530) until the client authenticates."""
        with self._lock:
            self._auth = (user, password)

    def no_smtputf8(self) -> None:
        """Stop advertising SMTPUTF8 (and refuse non-ASCII commands, as aiosmtpd does)."""
        with self._lock:
            self._smtputf8 = False

    def no_pipelining(self) -> None:
        """Stop advertising PIPELINING (RFC 2920): clients must wait for each reply."""
        with self._lock:
            self._pipelining = False

    def reset_faults(self) -> None:
        """Remove every scripted fault and option."""
        with self._lock:
            self._rules.clear()
            self._auth = None
            self._smtputf8 = True
            self._pipelining = True

    # internals -------------------------------------------------------------------------------

    def _add(self, step: str, rule: _Rule) -> None:
        with self._lock:
            self._rules.setdefault(step, []).append(rule)

    def _take(self, step: str, value: str | None) -> _Rule | None:
        with self._lock:
            for rule in self._rules.get(step, []):
                if rule.applies(value):
                    rule.use()
                    return rule
        return None

    def _record(self, received: ReceivedMessage, *, dropped: bool = False) -> int:
        with self._arrived:
            target = self._dropped if dropped else self._messages
            target.append(received)
            self._arrived.notify_all()
            return len(target)

    def _server_tls_context(self) -> ssl.SSLContext:
        cert, key = sink_certificate()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        return context

    def _authenticate(self, server: SMTP, session: Session, envelope: ServerEnvelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        with self._lock:
            expected = self._auth
        ok = (
            expected is not None
            and isinstance(auth_data, LoginPassword)
            and auth_data.login == expected[0].encode("utf-8")
            and auth_data.password == expected[1].encode("utf-8")
        )
        return AuthResult(success=ok, handled=False, auth_data=expected[0] if ok and expected
                          else None)

    def _new_session(self) -> SMTP:
        """Called by the controller for every connection, with the options current now."""
        greeting = self._take("greeting", None)
        with self._lock:
            self._connections += 1
            auth = self._auth
            smtputf8 = self._smtputf8
        kwargs: dict[str, Any] = {
            "hostname": "sink.example",
            "ident": "mailer test sink",
            "enable_SMTPUTF8": smtputf8,
        }
        if self.tls == "starttls":
            kwargs["tls_context"] = self._server_tls_context()
            kwargs["require_starttls"] = True
        if auth is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            kwargs["auth_require_tls"] = self.tls == "starttls"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Requiring AUTH while not requiring TLS"
            return _SinkSMTP(self._handler, greeting.reply if greeting else None, **kwargs)


def _check(reply: str) -> str:
    if not _REPLY.match(reply):
        raise ValueError(f"an SMTP reply starts with a 2xx-5xx code and a space: {reply!r}")
    return reply


def _matcher(value: str | Callable[[str], bool] | None) -> Callable[[str], bool] | None:
    if value is None or callable(value):
        return value
    wanted = value.casefold()
    return lambda address: address.casefold() == wanted


def _running(tls: TlsMode) -> Iterator[SmtpSink]:
    sink = SmtpSink(tls)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A plain SMTP sink on a free loopback port."""
    yield from _running("none")


@pytest.fixture
def tls_smtp_sink() -> Iterator[SmtpSink]:
    """A sink that requires STARTTLS with a self-signed certificate; see ssl_context_for_clients."""
    yield from _running("starttls")


@pytest.fixture
def smtps_sink() -> Iterator[SmtpSink]:
    """A sink speaking implicit TLS (smtps) with a self-signed certificate."""
    yield from _running("implicit")
