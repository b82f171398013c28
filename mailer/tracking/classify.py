"""Reading a bounce message: what kind it is, for whom, and the evidence. Pure: no database.

Owns the classification every bounce source shares (the inbound API, ``mailer bounces ingest``
and synchronous 5xx replies in dispatch), in this order:

1. RFC 5965 ARF feedback reports (``multipart/report; report-type=feedback-report``):
   ``complaint``.
2. RFC 3464 delivery status notifications (``report-type=delivery-status``): per recipient
   ``Action``, ``Status``, ``Diagnostic-Code``, ``Final-Recipient``; the kind follows from the
   status and the diagnostic text (:func:`kind_for`).
3. Mail to the ``mailto:`` unsubscribe address with a token in the subject: ``unsubscribe``.
4. Auto-replies (``Auto-Submitted``, ``X-Autoreply``, ``Precedence: auto_reply``, out-of-office
   subjects in the project's languages): ``auto_reply``, ignored — unless the message is a
   mailer daemon's non-standard bounce.
5. ``flufl.bounce``'s heuristics for the many MTAs that do not send RFC 3464 (old Exim, qmail,
   Exchange 2003, …): permanent failures ``hard``, temporary ones ``soft``.
6. Otherwise ``unknown``.

Along the way it collects what maps the message to a delivery: the addresses it was sent to
(one of them is our VERP envelope sender) and the Message-IDs of the original message. It never
raises on a malformed message: ``problems`` says what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from mailer.tracking.models import BounceKind

VERP_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to",
                "x-delivered-to", "to", "cc")
MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
BASIC = re.compile(r"(?<![\d.])([245]\d\d)(?:[ -]|$)")
TOKEN = re.compile(r"unsubscribe\s+([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-.]+)", re.IGNORECASE)

ADDRESS_PROBLEM = re.compile(
    r"user unknown|unknown user|unknown recipient|no such (user|mailbox|recipient|address|"
    r"account)|does ?n[o']t exist|not exist|recipient ?not ?found|user not found|"
    r"mailbox (unavailable|not found|does not exist)|invalid (recipient|mailbox|address)|"
    r"address rejected|account (has been |is )?disabled|mailbox (is )?disabled|"
    r"unrouteable|unroutable|addressee unknown|not a valid (mailbox|recipient)|"
    r"no mailbox|bad destination mailbox|undeliverable address",
    re.IGNORECASE)
MAILBOX_FULL = re.compile(r"mailbox (is )?full|over ?quota|quota exceeded|exceeded .*quota|"
                          r"insufficient (system )?storage|exceeded storage", re.IGNORECASE)
AUTO_REPLY_SUBJECT = re.compile(
    r"out of (the )?office|auto(matic)?[ -]?(reply|response|answer)|^auto:|abwesen|"
    r"vacation|on leave|away from (the )?office|réponse automatique|absence|"
    r"автоматический ответ|автоответ|нет на месте|в отпуске|отпуск|"
    r"odpowied[źz] automatyczna|nieobecno|avtomatik javob|автоматты|автоматтык",
    re.IGNORECASE)
DAEMON_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@",
                           re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status notification|failure|has failed|failed)|"
    r"mail delivery (failed|failure|subsystem)|failure notice|returned mail|"
    r"non-?delivery|could not be delivered|недоставленное|не доставлено", re.IGNORECASE)


@dataclass
class Classification:
    """What a bounce message says, and what maps it to a delivery."""

    kind: BounceKind = BounceKind.UNKNOWN
    method: str = ""
    email: str = ""
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    reporting_mta: str = ""
    subject: str = ""
    recipients: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    token: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def scored(self) -> bool:
        """True when a soft bounce counts toward the score (a final failure, not a warning)."""
        return self.kind == BounceKind.SOFT and self.action not in {"delayed", "delivered",
                                                                    "relayed", "expanded"}


def status_of(text: str) -> str:
    """The RFC 3463 status in an SMTP reply or diagnostic (``5.1.1``), or a basic code's class
    (``550`` → ``5.0.0``), or ''."""
    match = ENHANCED.search(text)
    if match:
        return ".".join(match.groups())
    basic = BASIC.search(text.strip())
    return f"{basic.group(1)[0]}.0.0" if basic else ""


def kind_for(status: str, diagnostic: str = "", basic_code: int | None = None) -> BounceKind:
    """Hard or soft from a status and its diagnostic text.

    Hard: the address itself is bad — 5.1.x (bad mailbox, bad domain, 5.1.10 Exchange's
    "recipient not found"), 5.2.1 (disabled), 5.4.1 and 5.4.4 (no such recipient, unroutable
    domain), or any permanent failure whose text says the user is unknown; other permanent
    failures with no better reason count as hard too. Soft: temporary failures (4.x.x), a full
    mailbox (5.2.2, 552, "over quota") and policy or content blocks (5.7.x, 554 "spam") that
    say nothing about the address and must not suppress a journalist.
    """
    text = diagnostic or ""
    if not status and basic_code:
        status = f"{str(basic_code)[0]}.0.0"
    if status.startswith("2."):
        return BounceKind.UNKNOWN
    if status.startswith("4.") or (not status and not text):
        return BounceKind.SOFT if status else BounceKind.UNKNOWN
    if not status.startswith("5."):
        return BounceKind.UNKNOWN if not ADDRESS_PROBLEM.search(text) else BounceKind.HARD
    if ADDRESS_PROBLEM.search(text):
        return BounceKind.HARD
    if MAILBOX_FULL.search(text) or status in {"5.2.2", "5.2.3"} or basic_code == 552:
        return BounceKind.SOFT
    subject_code = ".".join(status.split(".")[:2])
    if subject_code == "5.1" or status in {"5.2.1", "5.4.1", "5.4.4"}:
        return BounceKind.HARD
    if subject_code in {"5.2", "5.3", "5.4", "5.5", "5.6", "5.7"} or basic_code == 554:
        return BounceKind.SOFT
    return BounceKind.HARD


def classify_smtp_reply(code: int, reply: str, email: str = "") -> Classification:
    """A synchronous SMTP rejection (dispatch's 5xx) classified like a bounce."""
    status = status_of(reply) or f"{str(code)[0]}.0.0"
    return Classification(kind=kind_for(status, reply, code), method="smtp", email=email,
                          action="failed", status=status, diagnostic=f"{code} {reply}".strip())


def parse(raw: bytes) -> tuple[Message | None, list[str]]:
    """The message, or None with the reason it cannot be read at all."""
    if not raw or not raw.strip():
        return None, ["the message is empty"]
    try:
        message = message_from_bytes(raw, policy=policy.compat32)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a malformed message
        return None, [f"the message cannot be parsed: {exc}"]
    problems = [f"malformed: {type(defect).__name__}" for defect in message.defects]
    if not message.keys():
        return None, [*problems, "the message has no headers"]
    return message, problems


def classify_message(raw: bytes, recipient: str | None = None) -> Classification:
    """Classify one raw message; ``recipient`` is its envelope recipient when known (a pipe)."""
    message, problems = parse(raw)
    result = Classification(problems=problems)
    if recipient:
        result.recipients.append(recipient.strip().strip("<>"))
    if message is None:
        return _without_nul(result)
    try:
        _classify(message, result)
    except Exception as exc:  # noqa: BLE001 - a malformed message is reported, never raised
        result.problems.append(f"could not be read: {type(exc).__name__}: {exc}")
    return _without_nul(result)


def _without_nul(result: Classification) -> Classification:
    """Drop NUL characters from what a message said: PostgreSQL text cannot hold them, and a
    bounce that cannot be stored would be lost."""
    for name, value in vars(result).items():
        if isinstance(value, str) and "\x00" in value:
            setattr(result, name, value.replace("\x00", ""))
        elif isinstance(value, list):
            value[:] = [item.replace("\x00", "") if isinstance(item, str) else item
                        for item in value]
    return result


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    try:
        from email.header import decode_header, make_header

        return str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError, TypeError):
        return str(value)


def _classify(message: Message, result: Classification) -> None:
    result.subject = _header(message, "subject")[:255]
    for name in VERP_HEADERS:
        for value in message.get_all(name) or []:
            for _, address in getaddresses([str(value)]):
                if address and address not in result.recipients:
                    result.recipients.append(address)
    report_type = (message.get_param("report-type", "", header="content-type") or "")
    report = str(report_type).lower() if message.get_content_type() == "multipart/report" else ""
    if report == "feedback-report":
        _feedback_report(message, result)
        return
    if report == "delivery-status" and _delivery_status(message, result):
        return
    token = _unsubscribe_token(result)
    if token:
        result.kind, result.method, result.token = BounceKind.UNSUBSCRIBE, "mailto", token
        result.email = parseaddr(_header(message, "from"))[1]
        return
    looks_like_bounce = bool(DAEMON_SENDER.match(parseaddr(_header(message, "from"))[1])
                             or BOUNCE_SUBJECT.search(result.subject)
                             or message.get("x-failed-recipients"))
    if not looks_like_bounce and _is_auto_reply(message, result.subject):
        result.kind, result.method = BounceKind.AUTO_REPLY, "auto-reply"
        result.email = parseaddr(_header(message, "from"))[1]
        _original_ids(message, result, include_threading=True)
        return
    _heuristics(message, result)


def _unsubscribe_token(result: Classification) -> str:
    if not any(address.lower().startswith("unsubscribe@") for address in result.recipients):
        return ""
    match = TOKEN.search(result.subject)
    return match.group(1) if match else ""


def _is_auto_reply(message: Message, subject: str) -> bool:
    auto = (message.get("auto-submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if message.get("x-autoreply") or message.get("x-autorespond") or \
            (message.get("x-auto-response-suppress") and AUTO_REPLY_SUBJECT.search(subject)):
        return True
    precedence = (message.get("precedence") or "").strip().lower()
    if precedence in {"auto_reply", "auto-reply"}:
        return True
    return bool(AUTO_REPLY_SUBJECT.search(subject))


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` or ``…/feedback-report`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part.get_payload(decode=True)
    source = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    parser = HeaderParser()
    return [parser.parsestr(chunk.strip() + "\n") for chunk in
            re.split(r"\r?\n\s*\r?\n", source) if chunk.strip()]


def _address_field(value: str) -> str:
    """The address of ``rfc822; user@example.org`` (Final-Recipient and friends)."""
    _, _, address = value.partition(";") if ";" in value else ("", "", value)
    return parseaddr(address.strip())[1] or address.strip().strip("<>")


def _unfold(value: object) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


def _delivery_status(message: Message, result: Classification) -> bool:
    """Fill ``result`` from an RFC 3464 report; False when it holds no recipient block."""
    found = False
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = _blocks(part)
        if not blocks:
            result.problems.append("the delivery-status part is empty")
            continue
        result.reporting_mta = _address_field(_unfold(blocks[0].get("reporting-mta")))[:255]
        for block in blocks[1:] or blocks:
            action = _unfold(block.get("action")).lower().split(" ")[0]
            final = block.get("final-recipient") or block.get("original-recipient")
            if not action and not final:
                continue
            status = status_of(_unfold(block.get("status")))
            diagnostic = _unfold(block.get("diagnostic-code"))
            if diagnostic.lower().startswith(("smtp;", "x-postfix;", "x-unix;")):
                diagnostic = diagnostic.partition(";")[2].strip()
            kind = kind_for(status or status_of(diagnostic), diagnostic)
            if action in {"delayed"}:
                kind = BounceKind.SOFT
            elif action in {"delivered", "relayed", "expanded"}:
                kind = BounceKind.UNKNOWN
            # The worst recipient wins: hard over soft over anything else.
            if not found or _rank(kind) > _rank(result.kind):
                result.kind, result.action, result.status = kind, action, status
                result.diagnostic = diagnostic[:2000]
                result.email = _address_field(_unfold(final))
            found = True
    if found:
        result.method = "dsn"
        _original_ids(message, result)
    return found


def _rank(kind: BounceKind) -> int:
    return {BounceKind.HARD: 3, BounceKind.SOFT: 2}.get(kind, 1)


def _feedback_report(message: Message, result: Classification) -> None:
    result.kind, result.method = BounceKind.COMPLAINT, "arf"
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        for block in _blocks(part):
            result.action = _unfold(block.get("feedback-type")).lower()[:16] or result.action
            mail_from = _unfold(block.get("original-mail-from"))
            if mail_from:
                result.recipients.insert(0, parseaddr(mail_from)[1] or mail_from.strip("<>"))
            rcpt = _unfold(block.get("original-rcpt-to"))
            if rcpt:
                result.email = parseaddr(rcpt)[1] or rcpt
            agent = _unfold(block.get("user-agent"))
            if agent:
                result.reporting_mta = agent[:255]
            if block.get("original-message-id"):
                result.message_ids.extend(MESSAGE_ID.findall(str(block["original-message-id"])))
    result.diagnostic = f"feedback report: {result.action or 'abuse'}"
    _original_ids(message, result)


def _original_ids(message: Message, result: Classification,
                  include_threading: bool = False) -> None:
    """Message-IDs of the original message: in a returned copy or headers part, in the body
    (inline copies), and for replies in In-Reply-To and References."""
    own = MESSAGE_ID.findall(str(message.get("message-id") or ""))
    found: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                found += MESSAGE_ID.findall(str(inner.get("message-id") or ""))
                for _, address in getaddresses([str(inner.get("return-path") or "")]):
                    if address:
                        result.recipients.append(address)
        elif kind in {"text/rfc822-headers", "text/plain"}:
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                for line in re.findall(r"(?im)^message-id:\s*(<[^>\r\n]+>)",
                                       text.decode("utf-8", "replace")):
                    found.append(line)
    if include_threading:
        for name in ("in-reply-to", "references"):
            found += MESSAGE_ID.findall(str(message.get(name) or ""))
    for message_id in found:
        if message_id not in own and message_id not in result.message_ids:
            result.message_ids.append(message_id)


def _heuristics(message: Message, result: Classification) -> None:
    """flufl.bounce's detectors for non-standard bounces; its bugs never escape."""
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message)
    except (IndexError, AttributeError, TypeError, ValueError, LookupError) as exc:
        # flufl.bounce's detectors index into parts that single-part messages do not have.
        result.problems.append(f"heuristics failed: {type(exc).__name__}")
        temporary, permanent = frozenset(), frozenset()
    text = _body_text(message)
    if permanent or temporary:
        result.method = "heuristic"
        address = sorted(permanent or temporary)[0]
        result.email = address.decode("ascii", "replace") if isinstance(address, bytes) \
            else str(address)
        diagnostic = _diagnostic_line(text, result.email)
        result.diagnostic = diagnostic[:2000]
        result.status = status_of(diagnostic)
        result.action = "failed" if permanent else "delayed"
        if permanent:
            kind = kind_for(result.status or "5.0.0", diagnostic)
            result.kind = kind if kind != BounceKind.UNKNOWN else BounceKind.HARD
        else:
            result.kind = BounceKind.SOFT
        _original_ids(message, result)
        return
    failed = message.get("x-failed-recipients")
    if failed:
        result.method = "heuristic"
        result.email = parseaddr(str(failed))[1]
        result.diagnostic = _diagnostic_line(text, result.email)[:2000]
        result.status = status_of(result.diagnostic)
        result.action = "failed"
        result.kind = kind_for(result.status or "5.0.0", result.diagnostic)
        _original_ids(message, result)


def _body_text(message: Message) -> str:
    chunks: list[str] = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                chunks.append(data.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(chunks)


def _diagnostic_line(text: str, address: str) -> str:
    """The line of a human-readable bounce that carries the server's reply."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if ENHANCED.search(line) or re.search(r"\b5\d\d\b", line):
            return line
    for line in lines:
        if address and address in line:
            return line
    return ""
