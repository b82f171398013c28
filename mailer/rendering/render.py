"""Rendering per recipient: a compiled release, one recipient and one delivery's context in,
the exact message out.

This is the hot path of a mailing: it fills the compiled skeletons (placeholders, links through
the click-tracking callable, unsubscribe and web-version addresses, the embargo line in the
recipient's zone), builds the header fields of shared/API.md and frames the MIME parts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape

from mailer.dispatch.transports import Envelope
from mailer.rendering.compile import CompiledRelease
from mailer.rendering.content import MessageContext, Recipient
from mailer.rendering.headers import (
    check_address,
    check_message_id,
    check_token,
    check_url,
    encode_list_id,
    encode_list_unsubscribe,
    encode_mailbox,
    one_line,
    readable_list_id,
    readable_mailbox,
)
from mailer.rendering.mime import Wire, boundary_for, content_type, serialise
from mailer.rendering.placeholders import placeholder_values


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One recipient's message: what a preview shows and what goes on the wire.

    ``headers`` are the top-level header fields in order, with their values as a reader sees
    them (decoded, unfolded); ``as_bytes()`` is the serialised message.
    """

    subject: str
    html: str
    text: str
    headers: list[tuple[str, str]]
    mail_from: str
    recipient: str
    smtputf8: bool
    """Whether an address in the headers is UTF-8 and the message needs SMTPUTF8."""
    wire: Wire

    def as_bytes(self) -> bytes:
        """The RFC 5322 message, CRLF line endings, every line at most 998 octets."""
        return serialise(self.wire, self.text, self.html)

    def envelope(self) -> Envelope:
        """The message with its SMTP envelope: the VERP sender and the one recipient."""
        return Envelope(mail_from=self.mail_from, recipients=(self.recipient,),
                        data=self.as_bytes(), crlf=True)


_HTML_SPECIAL = re.compile(r"[&<>\"']")


def _html(value: str) -> str:
    """``html.escape(value)``, skipping its five passes when there is nothing to escape (most
    names, addresses and the product's own links; a dozen values a message)."""
    return escape(value) if _HTML_SPECIAL.search(value) else value


@functools.lru_cache(maxsize=64)
def _date_header(moment: datetime) -> str:
    """The Date value; cached, as a mailing's messages share their second (dispatch drops the
    microseconds, which the header does not show)."""
    return format_datetime(moment)


def render_message(compiled: CompiledRelease, recipient: Recipient, context: MessageContext
                   ) -> RenderedMessage:
    """Render ``compiled`` for one recipient; raises InvalidAddress for an unusable address."""
    email = recipient.email.strip()
    to_address = check_address(email)
    from_address = check_address(context.from_address)
    reply_to = check_address(context.reply_to) if context.reply_to else None
    check_address(context.envelope_sender)
    message_id = check_message_id(context.message_id)
    unsubscribe_url = check_url(context.unsubscribe_url, ("https://", "http://"))
    tracking = recipient.tracking
    pixel_url = context.open_pixel_url if tracking else None
    if pixel_url is not None:
        check_url(pixel_url, ("https://", "http://"))
    web_url = context.web_version_url
    if web_url is not None:
        check_url(web_url, ("https://", "http://"))
    rewrite = context.rewrite_link if tracking else None

    first_name, last_name = one_line(recipient.first_name), one_line(recipient.last_name)
    values = placeholder_values(first_name, last_name, one_line(recipient.outlet), email)
    values["organisation"] = one_line(context.organisation)
    values["recipient_email"] = email
    values["unsubscribe_url"] = unsubscribe_url
    values["web_version_url"] = web_url or ""
    values["open_pixel_url"] = pixel_url or ""
    values["embargo_date"] = compiled.embargo_text(recipient.timezone, recipient.language)

    variant = compiled.variant(web_version=web_url is not None, open_pixel=pixel_url is not None)
    html_values = {name: _html(value) for name, value in values.items()}
    for index, link in enumerate(compiled.links):
        html_values[f"link{index}"] = _html(rewrite(link.url, index)) if rewrite else link.html
    html = variant.html.fill(html_values)
    text = variant.text.fill(values)
    subject = one_line(context.subject_prefix + compiled.subject.fill(values))

    full_name = values["full_name"]
    from_name = one_line(context.from_name)
    language = compiled.language
    if context.date.utcoffset() is None:
        raise ValueError("the message date must be timezone-aware")
    date = _date_header(context.date)
    feedback_id = check_token("Feedback-ID", context.feedback_id)
    boundary = boundary_for(message_id)
    header_lines: tuple[str, ...] = (
        encode_mailbox("From", from_name, from_address),
        encode_mailbox("To", full_name, to_address),
        compiled.subject_header(subject),
        "Date: " + date,
        "Message-ID: " + message_id,
        "MIME-Version: 1.0",
        "Content-Language: " + language,
        encode_list_id(context.list_name, context.list_id),
        encode_list_unsubscribe(unsubscribe_url, context.unsubscribe_mailto),
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Feedback-ID: " + feedback_id,
    )
    if reply_to is not None:
        header_lines += (encode_mailbox("Reply-To", "", reply_to),)
    headers = [
        ("From", readable_mailbox(from_name, from_address.addr_spec)),
        ("To", readable_mailbox(full_name, to_address.addr_spec)),
        ("Subject", subject),
        ("Date", date),
        ("Message-ID", message_id),
        ("MIME-Version", "1.0"),
        ("Content-Language", language),
        ("List-Id", readable_list_id(context.list_name, context.list_id)),
        ("List-Unsubscribe", f"<{unsubscribe_url}>, <{context.unsubscribe_mailto}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Feedback-ID", feedback_id),
        ("Content-Type", content_type(boundary)),
    ]
    if reply_to is not None:
        headers.insert(-1, ("Reply-To", reply_to.addr_spec))
    return RenderedMessage(
        subject=subject, html=html, text=text, headers=headers,
        mail_from=context.envelope_sender, recipient=email,
        smtputf8=to_address.utf8 or from_address.utf8 or bool(reply_to and reply_to.utf8),
        wire=Wire(header_lines=header_lines, boundary=boundary,
                  text_encoding=variant.text_encoding, html_encoding=variant.html_encoding))
