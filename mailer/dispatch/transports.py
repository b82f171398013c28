"""Sending transports: how one serialised message leaves the service.

Owns the `Transport` interface, its two implementations and the parsing of `MAILER_SMTP_URL`:

- `SmtpTransport` keeps one `smtplib` connection open across `send()` calls and runs the
  MAIL / RCPT / DATA steps itself, so every failure is classified by where it happened:
  `TemporaryFailure` (retry later), `PermanentFailure` (do not retry), `SenderRejected` (the
  server refuses *us*: pause the whole mailing) and `UnknownOutcome` (the connection died after
  the message was sent and before the server answered: it may have been delivered, so it must
  never be retried blindly).
- `OutboxTransport` hands the message to a store function (the database outbox) instead.

No Flask import here: this module runs in Celery workers. A transport is not thread-safe; give
each worker thread its own.
"""

from __future__ import annotations

import base64
import functools
import logging
import math
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol, Self
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]
Reply = tuple[int, str]
"""An SMTP reply: the code and the server's text (multi-line replies joined with newlines)."""

ACCEPTED_URL_FORMS = (
    "outbox:, "
    "smtp://[user[:password]@]host[:port][?starttls=1&timeout=SECONDS&helo=NAME] "
    "(port 25, or 587 with starttls=1), "
    "smtps://[user[:password]@]host[:port][?timeout=SECONDS&helo=NAME] (port 465)"
)


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """One message to send: the SMTP envelope and the serialised RFC 5322 message (CRLF)."""

    mail_from: str
    recipients: tuple[str, ...]
    data: bytes
    # True when ``data`` is known to end every line with CRLF (the renderer's output): the
    # line-ending pass before DATA is then skipped; dot-stuffing is always checked.
    crlf: bool = False


@dataclass(frozen=True)
class SendResult:
    """What the server accepted: recipients, per-recipient refusals and the final DATA reply.

    A refusal with a 4xx code may be retried later for that recipient alone; 5xx is final.
    """

    accepted: tuple[str, ...]
    refused: dict[str, Reply]
    reply: Reply


# --- errors ------------------------------------------------------------------------------------


class TransportError(Exception):
    """A send failed; `code` and `reply` are the server's answer, or None and our description."""

    def __init__(
        self, code: int | None, reply: str, refused: Mapping[str, Reply] | None = None
    ) -> None:
        super().__init__(code, reply)
        self.code = code
        self.reply = reply
        self.refused: dict[str, Reply] = dict(refused or {})

    def __str__(self) -> str:
        return self.reply if self.code is None else f"{self.code} {self.reply}"

    def __reduce__(self) -> tuple[type[Self], tuple[int | None, str, dict[str, Reply]]]:
        # Celery pickles exceptions between processes; keep `refused` across the trip.
        return (type(self), (self.code, self.reply, self.refused))


class TemporaryFailure(TransportError):
    """Nothing was delivered and trying again later may work (4xx, refused or dropped early)."""


class PermanentFailure(TransportError):
    """The server refused this message or all its recipients for good (5xx); do not retry."""


class SenderRejected(TransportError):
    """The server refuses us (authentication, sender policy, TLS): pause the whole mailing."""


class UnknownOutcome(TransportError):
    """The connection died after the message was sent, before the reply: it may be delivered."""


class _StaleConnection(Exception):
    """MAIL found the connection closed or closing: nothing was sent, a fresh one may work."""

    def __init__(self, error: TransportError) -> None:
        super().__init__(str(error))
        self.error = error


# --- the interface -----------------------------------------------------------------------------


class Transport(Protocol):
    """Sends envelopes; `close()` releases the connection; usable as a context manager."""

    def send(self, envelope: Envelope) -> SendResult:
        """Send one message, or raise a `TransportError` subclass saying what happened."""
        ...

    def close(self) -> None:
        """Release connections; the transport may be used again afterwards."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _ClosingContext:
    """`with transport:` closes it at the end."""

    def close(self) -> None:
        """Release resources (nothing by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- outbox ------------------------------------------------------------------------------------


class OutboxTransport(_ClosingContext):
    """Stores messages through `store` (the database outbox) instead of sending them."""

    def __init__(self, store: Callable[[Envelope], int]) -> None:
        self._store = store

    def send(self, envelope: Envelope) -> SendResult:
        """Store the message; every recipient counts as accepted."""
        if not envelope.recipients:
            raise ValueError("an envelope needs at least one recipient")
        # Errors from the store (the database) propagate unchanged: they are not SMTP outcomes.
        message_id = self._store(envelope)
        log.debug("stored message for %d recipient(s) as outbox message %d",
                  len(envelope.recipients), message_id)
        return SendResult(
            accepted=tuple(envelope.recipients),
            refused={},
            reply=(250, f"stored as outbox message {message_id}"),
        )

    def __repr__(self) -> str:
        return "OutboxTransport()"


# --- SMTP --------------------------------------------------------------------------------------

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?!\d)")
_EOL = re.compile(rb"\r\n|\r|\n")
_BAD_ADDRESS_CHAR = re.compile(r"[\x00-\x20\x7f<>]")
_Stage = Literal["MAIL", "RCPT", "DATA", "message", "reply"]


def _enhanced(text: str) -> tuple[int, int, int] | None:
    """The RFC 3463 enhanced status code at the start of a reply text, if any."""
    m = _ENHANCED.match(text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _refuses_sender(code: int, text: str, stage: _Stage) -> bool:
    """Whether a refusal is about us (credentials, sender policy) rather than this message."""
    if code in (530, 534, 535, 538):  # authentication required / too weak / failed / needs TLS
        return True
    status = _enhanced(text)
    if status is None:
        return False
    _, subject, detail = status
    if subject == 7:
        if 20 <= detail <= 29 or detail == 515:  # DKIM/SPF/DMARC/rDNS, Microsoft's 5.7.515
            return True
        if detail in (8, 9, 11, 12):  # credentials invalid, mechanism weak, needs TLS
            return True
        if stage == "MAIL":  # any security/policy refusal of the sender itself
            return True
        if stage == "RCPT" and detail == 1 and "relay" in text.lower():
            return True  # "relay access denied": we are not allowed to send through it
    return stage == "MAIL" and subject == 1 and detail in (7, 8)  # bad sender address/domain


def _classify(code: int, text: str, stage: _Stage, refused: Mapping[str, Reply] | None = None
              ) -> TransportError:
    """The error for a refusal `code text` at `stage`."""
    if 400 <= code < 600 and _refuses_sender(code, text, stage):
        return SenderRejected(code, text, refused)
    if 500 <= code < 600:
        return PermanentFailure(code, text, refused)
    return TemporaryFailure(code, text, refused)


def _wire_data(data: bytes, crlf: bool = False) -> bytes:
    """CRLF line endings (unless ``crlf`` says they are already), dot-stuffed, ending with the
    CRLF.CRLF terminator."""
    # Rendered messages are already CRLF with no line starting with a dot: counting and one
    # substring search (C speed) decide whether either regex pass is needed at all.
    if not crlf and not _only_crlf(data):
        data = _EOL.sub(b"\r\n", data)  # a bare LF is refused by strict servers (smuggling)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    # Dot-stuffing: every line now ends in CRLF, so a line start is the data's start or the
    # byte after an LF; bytes.replace does it at C speed (the multiline regex cost ≈ 30 µs on
    # a 15 kB message, and one rendered message in six has a wrapped line starting with a dot).
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\n.", b"\n..") + b".\r\n"


def _only_crlf(data: bytes) -> bool:
    """True when every CR and every LF in ``data`` belongs to a CRLF pair."""
    pairs = data.count(b"\r\n")
    return data.count(b"\n") == pairs and data.count(b"\r") == pairs


def _address_problem(address: str) -> str | None:
    """Why `address` cannot go into an SMTP command, or None if it can."""
    if _BAD_ADDRESS_CHAR.search(address):
        return "contains spaces, control characters or angle brackets"
    try:
        address.encode("utf-8")
    except UnicodeError:
        return "is not valid Unicode"
    return None


def _ascii_address(address: str) -> str | None:
    """`address` with an IDNA-encoded domain, or None when its local part is not ASCII."""
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local.isascii():
        return None
    try:
        import idna  # IDNA 2008 with UTS 46 mapping; installed with email-validator
    except ImportError:  # pragma: no cover - fall back on the standard library's IDNA 2003
        try:
            return f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError:
            return None
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except UnicodeError:  # idna.IDNAError is one
        return None


def _header_block(data: bytes) -> bytes:
    end = data.find(b"\r\n\r\n")
    return data if end < 0 else data[:end]


@functools.cache
def _default_local_hostname() -> str:
    """The EHLO name smtplib would use, computed once per process (getfqdn can be slow)."""
    fqdn = socket.getfqdn()
    if "." in fqdn:
        return fqdn
    try:
        return f"[{socket.gethostbyname(socket.gethostname())}]"
    except OSError:
        return "[127.0.0.1]"


_TLS_CONFIG_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION",
     "NO_PROTOCOLS_AVAILABLE", "HTTP_REQUEST"}
)


class SmtpTransport(_ClosingContext):
    """Sends over one kept-open SMTP connection (EHLO, STARTTLS or TLS, AUTH), reopened on need."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"security must be 'none', 'starttls' or 'tls', not {security!r}")
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._ssl_context = ssl_context
        self._conn: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        user = f"{self.username}:***@" if self.username is not None else ""
        return f"SmtpTransport({user}{self.host}:{self.port}, security={self.security!r})"

    # connection ------------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def _tls_error(self, exc: ssl.SSLError) -> TransportError:
        """Certificate and protocol mismatches are configuration errors; the rest may pass."""
        if isinstance(exc, ssl.SSLCertVerificationError):
            return SenderRejected(
                None, f"TLS certificate of {self._where()} not trusted: {exc.verify_message}"
            )
        if exc.reason in _TLS_CONFIG_REASONS:
            return SenderRejected(
                None,
                f"TLS with {self._where()} failed ({exc.reason}): does the port expect smtps "
                "(implicit TLS) or smtp with starttls=1?",
            )
        return TemporaryFailure(None, f"TLS with {self._where()} failed: {exc}")

    def _open(self) -> smtplib.SMTP:
        """Connect, read the greeting, EHLO, STARTTLS and EHLO again, AUTH."""
        hostname = self.local_hostname or _default_local_hostname()
        log.debug("connecting to %s (%s)", self._where(), self.security)
        conn: smtplib.SMTP | None = None
        try:
            # Host and port go to the constructor: SMTP_SSL only checks the certificate
            # against the name given there.
            if self.security == "tls":
                conn = smtplib.SMTP_SSL(self.host, self.port, local_hostname=hostname,
                                        timeout=self.timeout, context=self._tls_context())
            else:
                conn = smtplib.SMTP(self.host, self.port, local_hostname=hostname,
                                    timeout=self.timeout)
            self._hello(conn)
            if self.security == "starttls":
                self._starttls(conn)
            if self.username is not None and self._password is not None:
                self._authenticate(conn, self.username, self._password)
        except smtplib.SMTPConnectError as exc:
            # A greeting other than 220. 421 or 5xx at the door: it will not talk to us now.
            code, text = exc.smtp_code, _text(exc.smtp_error)
            if code == 421 or 500 <= code < 600:
                raise SenderRejected(code, text) from exc
            raise TemporaryFailure(code, text) from exc
        except TransportError:
            if conn is not None:
                conn.close()
            raise
        except smtplib.SMTPServerDisconnected as exc:
            if conn is not None:
                conn.close()
            cause = exc.__context__ if isinstance(exc.__context__, ssl.SSLError) else None
            if cause is not None:
                raise self._tls_error(cause) from exc
            raise TemporaryFailure(
                None, f"{self._where()} closed the connection while opening the session: {exc}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            if conn is not None:
                conn.close()
            raise TemporaryFailure(exc.smtp_code, _text(exc.smtp_error)) from exc
        except ssl.SSLError as exc:
            if conn is not None:
                conn.close()
            raise self._tls_error(exc) from exc
        except OSError as exc:  # refused, reset, unreachable, DNS, timed out
            if conn is not None:
                conn.close()
            raise TemporaryFailure(None, f"cannot connect to {self._where()}: {exc}") from exc
        log.debug("connected to %s; extensions: %s", self._where(),
                  " ".join(sorted(conn.esmtp_features)))
        return conn

    def _hello(self, conn: smtplib.SMTP) -> None:
        code, reply = conn.ehlo()
        if not 200 <= code < 300:
            code, reply = conn.helo()
            if not 200 <= code < 300:
                text = _text(reply)
                if 500 <= code < 600:
                    raise SenderRejected(code, text)
                raise TemporaryFailure(code, text)

    def _starttls(self, conn: smtplib.SMTP) -> None:
        if not conn.has_extn("starttls"):
            raise SenderRejected(
                None, f"{self._where()} does not offer STARTTLS, which the configuration requires"
            )
        try:
            conn.starttls(context=self._tls_context())
        except smtplib.SMTPNotSupportedError as exc:  # pragma: no cover - checked above
            raise SenderRejected(None, str(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            text = _text(exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise SenderRejected(exc.smtp_code, text) from exc
            raise TemporaryFailure(exc.smtp_code, text) from exc
        self._hello(conn)

    def _authenticate(self, conn: smtplib.SMTP, username: str, password: str) -> None:
        """AUTH PLAIN or LOGIN in UTF-8 (smtplib's own only takes ASCII), else smtplib's."""
        if not conn.has_extn("auth"):
            raise SenderRejected(
                None, f"{self._where()} does not offer AUTH, but credentials are configured"
            )
        offered = conn.esmtp_features["auth"].upper().split()
        log.debug("authenticating to %s as %s (server offers %s)",
                  self._where(), username, " ".join(offered))
        user, secret = username.encode("utf-8"), password.encode("utf-8")
        code: int = 504
        reply: bytes | str = b"5.5.4 no common authentication mechanism"
        for mechanism in ("PLAIN", "LOGIN"):
            if mechanism not in offered:
                continue
            if mechanism == "PLAIN":
                code, reply = conn.docmd("AUTH", "PLAIN " + _b64(b"\0" + user + b"\0" + secret))
            else:
                code, reply = conn.docmd("AUTH", "LOGIN")
                if code == 334:
                    code, reply = conn.docmd(_b64(user))
                if code == 334:
                    code, reply = conn.docmd(_b64(secret))
            if code in (235, 503):  # 503: already authenticated
                log.debug("authenticated to %s as %s", self._where(), username)
                return
            if code not in (504, 534):  # not "unknown/too weak mechanism": do not hammer
                break
        else:
            if "CRAM-MD5" in offered:
                try:
                    conn.login(username, password)
                except smtplib.SMTPAuthenticationError as exc:
                    code, reply = exc.smtp_code, exc.smtp_error
                except UnicodeError:
                    code, reply = 504, b"5.5.4 CRAM-MD5 needs an ASCII password"
                else:
                    return
        text = _text(reply)
        if 400 <= code < 500:
            raise TemporaryFailure(code, f"authentication as {username} failed: {text}")
        raise SenderRejected(code, f"authentication as {username} failed: {text}")

    def _connection(self) -> smtplib.SMTP:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _discard(self) -> None:
        """Drop the connection without a polite QUIT (it is broken or the server is leaving)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """QUIT and close the connection; the next send opens a new one."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            conn.close()

    # sending ---------------------------------------------------------------------------------

    def send(self, envelope: Envelope) -> SendResult:
        """Send one message over the kept-open connection, opening it when needed."""
        if not envelope.recipients:
            raise ValueError("an envelope needs at least one recipient")
        payload = _wire_data(envelope.data, envelope.crlf)
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._connection()
            try:
                return self._transaction(conn, envelope, payload)
            except _StaleConnection as stale:
                self._discard()
                if not (reused and attempt == 1):
                    raise stale.error from None
                # An idle connection the server dropped, or its per-connection limit (421):
                # nothing was sent yet, so one fresh connection is safe.
                log.debug("connection to %s went stale (%s); reconnecting",
                          self._where(), stale.error)
            except TransportError:
                raise
            except BaseException:
                # Interrupted mid-transaction (a task time limit, a bug): the session is in an
                # unknown state, and the next MAIL must not land inside this message's DATA.
                self._discard()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _command(self, conn: smtplib.SMTP, line: str, encoding: str) -> Reply:
        conn.send((line + "\r\n").encode(encoding))
        code, reply = conn.getreply()
        return code, _text(reply)

    def _reset(self, conn: smtplib.SMTP) -> None:
        """RSET after a failed transaction; a connection that cannot reset is dropped."""
        try:
            code, _ = conn.rset()
        except (smtplib.SMTPException, OSError):
            code = -1
        if code != 250:
            self._discard()

    def _transaction(self, conn: smtplib.SMTP, envelope: Envelope, payload: bytes) -> SendResult:
        sender = envelope.mail_from
        recipients = tuple(dict.fromkeys(envelope.recipients))
        problem = _address_problem(sender)
        if problem:
            raise PermanentFailure(None, f"envelope sender {sender!r} {problem}")

        non_ascii_addresses = not sender.isascii() or not all(r.isascii() for r in recipients)
        use_smtputf8 = conn.has_extn("smtputf8") and (
            non_ascii_addresses or not _header_block(envelope.data).isascii()
        )

        refused: dict[str, Reply] = {}
        wire: dict[str, str] = {}
        for rcpt in recipients:
            problem = _address_problem(rcpt)
            ascii_form = rcpt if use_smtputf8 else _ascii_address(rcpt)
            if problem:
                refused[rcpt] = (553, f"5.1.3 invalid recipient address: {problem}")
            elif ascii_form is None:
                refused[rcpt] = (553, f"5.6.7 non-ASCII address, and {self._where()} does not "
                                      "offer SMTPUTF8")
            else:
                wire[rcpt] = ascii_form
        wire_sender = sender if use_smtputf8 else _ascii_address(sender)
        if wire_sender is None:
            raise PermanentFailure(
                553, f"5.6.7 envelope sender {sender!r} is non-ASCII, and {self._where()} does "
                     "not offer SMTPUTF8", refused)
        if not wire:
            code, text = next(iter(refused.values()))
            raise PermanentFailure(code, f"no recipient can be sent to: {text}", refused)

        params = []
        if conn.has_extn("size"):
            params.append(f"SIZE={len(payload)}")
        if not envelope.data.isascii() and conn.has_extn("8bitmime"):
            params.append("BODY=8BITMIME")
        if use_smtputf8:
            params.append("SMTPUTF8")
        encoding = "utf-8" if use_smtputf8 else "ascii"

        stage: _Stage = "MAIL"
        mail_line = f"MAIL FROM:<{wire_sender}>{''.join(' ' + p for p in params)}"
        # RFC 2920: where the server offers PIPELINING, MAIL, every RCPT and DATA go in one
        # write and their replies are read in order: one round trip instead of 2 + recipients.
        pipelined = conn.has_extn("pipelining")
        try:
            if pipelined:
                commands = [mail_line, *(f"RCPT TO:<{a}>" for a in wire.values()), "DATA"]
                conn.send(("\r\n".join(commands) + "\r\n").encode(encoding))
                code, text = self._command_reply(conn)
            else:
                code, text = self._command(conn, mail_line, encoding)
            if code == 421:
                raise _StaleConnection(_classify(code, text, "MAIL"))
            if not 200 <= code < 300:
                if pipelined:
                    self._drain(conn, len(wire))
                self._reset(conn)
                raise _classify(code, text, "MAIL")

            stage = "RCPT"
            accepted: list[str] = []
            for rcpt, address in wire.items():
                code, text = self._command_reply(conn) if pipelined else \
                    self._command(conn, f"RCPT TO:<{address}>", encoding)
                if 200 <= code < 300:
                    accepted.append(rcpt)
                    continue
                if code == 421:  # the server is closing the session
                    self._discard()
                    raise TemporaryFailure(code, text, refused)
                refused[rcpt] = (code, text)

            stage = "DATA"
            if pipelined:
                code, text = self._command_reply(conn)
            if not accepted:
                if pipelined and code == 354:  # a server that took DATA with no recipient
                    conn.send(b".\r\n")
                    self._command_reply(conn)
                self._reset(conn)
                raise self._all_refused(refused)
            if not pipelined:
                code, text = self._command(conn, "DATA", "ascii")
            if code != 354:
                if code == 421:
                    self._discard()
                else:
                    self._reset(conn)
                raise _classify(code, text, "DATA", refused)

            stage = "message"
            conn.send(payload)
            stage = "reply"
            code, text = self._command_reply(conn)
        except smtplib.SMTPServerDisconnected as exc:
            self._discard()
            raise self._lost(stage, str(exc), refused) from exc
        except smtplib.SMTPResponseException as exc:  # an over-long reply line: broken server
            self._discard()
            raise self._lost(stage, f"{exc.smtp_code} {_text(exc.smtp_error)}", refused) from exc

        if 200 <= code < 300:
            log.debug("sent to %d recipient(s) via %s, %d refused: %d %s",
                      len(accepted), self._where(), len(refused), code, text)
            return SendResult(accepted=tuple(accepted), refused=refused, reply=(code, text))
        if not 400 <= code < 600:  # garbage where the reply should be: cannot tell
            self._discard()
            raise UnknownOutcome(code, f"unreadable reply after the message was sent: {text}",
                                 refused)
        if code == 421:
            self._discard()
        else:
            self._reset(conn)
        raise _classify(code, text, "DATA", refused)

    def _drain(self, conn: smtplib.SMTP, recipients: int) -> None:
        """After a refused pipelined MAIL: read the RCPT and DATA replies still due, and end
        a DATA the server accepted anyway, so the session is back in step for RSET."""
        for _ in range(recipients):
            self._command_reply(conn)
        code, _ = self._command_reply(conn)
        if code == 354:
            conn.send(b".\r\n")
            self._command_reply(conn)

    def _command_reply(self, conn: smtplib.SMTP) -> Reply:
        code, reply = conn.getreply()
        return code, _text(reply)

    def _all_refused(self, refused: dict[str, Reply]) -> TransportError:
        """Every recipient refused: about us, worth a retry (any 4xx), or final (all 5xx)."""
        replies = list(refused.values())
        if all(_refuses_sender(code, text, "RCPT") for code, text in replies):
            code, text = replies[0]
            return SenderRejected(code, text, refused)
        temporary = [reply for reply in replies if not 500 <= reply[0] < 600]
        if temporary:
            return TemporaryFailure(*temporary[0], refused)
        return PermanentFailure(*replies[0], refused)

    def _lost(self, stage: _Stage, why: str, refused: dict[str, Reply]) -> Exception:
        if stage == "reply":
            return UnknownOutcome(
                None,
                f"connection to {self._where()} lost after the message was sent and before the "
                f"server's reply ({why}); it may have been delivered",
                refused,
            )
        error = TemporaryFailure(
            None, f"connection to {self._where()} lost during {stage} ({why})", refused
        )
        return _StaleConnection(error) if stage == "MAIL" else error


def _text(reply: bytes | str) -> str:
    return reply if isinstance(reply, str) else reply.decode("utf-8", "replace")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- MAILER_SMTP_URL ---------------------------------------------------------------------------

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_HELO_NAME = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$")


def _bad_url(url: str, why: str) -> ValueError:
    return ValueError(
        f"unsupported MAILER_SMTP_URL {describe_transport_url(url)!r}: {why}. "
        f"Accepted forms: {ACCEPTED_URL_FORMS}"
    )


def transport_from_url(
    url: str,
    *,
    outbox_store: Callable[[Envelope], int] | None = None,
    timeout: float = 30.0,
) -> Transport:
    """Build the transport MAILER_SMTP_URL names (`outbox:`, `smtp://…`, `smtps://…`)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise _bad_url(url, str(exc)) from None
    scheme = parts.scheme.lower()

    if scheme == "outbox":
        if parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise _bad_url(url, "outbox: takes no host, path or options")
        if outbox_store is None:
            raise ValueError("the outbox: transport needs an outbox_store function")
        return OutboxTransport(outbox_store)

    if scheme not in ("smtp", "smtps"):
        raise _bad_url(url, f"unknown scheme {parts.scheme!r}" if scheme else "no scheme")
    hint = " (percent-encode / ? # @ : in the user name and password)"
    if parts.fragment or parts.path not in ("", "/"):
        raise _bad_url(url, "unexpected path or '#' after the host" + hint)
    host = parts.hostname
    if not host:
        raise _bad_url(url, "no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise _bad_url(url, f"bad port: {exc}{hint}") from None
    if port == 0:
        raise _bad_url(url, "bad port: 0")

    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username is not None and password is None:
        raise _bad_url(url, "a user name needs a password (user:password@host)")
    if password is not None and not username:
        raise _bad_url(url, "a password needs a user name (user:password@host)")

    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        key = key.lower()
        if key in options:
            raise _bad_url(url, f"option {key!r} given twice")
        options[key] = value
    unknown = set(options) - ({"timeout", "helo"} | ({"starttls"} if scheme == "smtp" else set()))
    if unknown:
        extra = " (smtps:// is already TLS)" if "starttls" in unknown else ""
        raise _bad_url(url, f"unknown option(s) {', '.join(sorted(unknown))}{extra}")

    starttls_value = options.get("starttls", "0").lower()
    if starttls_value not in _TRUE | _FALSE:
        raise _bad_url(url, f"starttls must be 1 or 0, not {options['starttls']!r}")
    starttls = starttls_value in _TRUE
    if "timeout" in options:
        try:
            timeout = float(options["timeout"])
        except ValueError:
            raise _bad_url(url, f"timeout must be seconds, not {options['timeout']!r}") from None
    if not (timeout > 0 and math.isfinite(timeout)):
        raise _bad_url(url, f"timeout must be a positive number of seconds, not {timeout!r}")
    helo = options.get("helo")
    if helo is not None and not _HELO_NAME.match(helo):
        raise _bad_url(url, f"helo must be a host name or address literal, not {helo!r}")

    security: Security
    if scheme == "smtps":
        security, default_port = "tls", 465
    elif starttls:
        security, default_port = "starttls", 587
    else:
        security, default_port = "none", 25
    return SmtpTransport(
        host,
        port or default_port,
        security=security,
        username=username,
        password=password,
        timeout=timeout,
        local_hostname=helo,
    )


_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)(.*)@(.*)$", re.DOTALL)


def describe_transport_url(url: str) -> str:
    """The URL with its password replaced by `***`, safe for logs, /healthz and the UI."""
    m = _URL_USERINFO.match(url)  # greedy: up to the last "@", as urlsplit reads userinfo
    if not m:
        return url
    prefix, userinfo, rest = m.groups()
    user, colon, _ = userinfo.partition(":")
    return f"{prefix}{user}:***@{rest}" if colon else url
