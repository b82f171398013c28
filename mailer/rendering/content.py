"""The plain values the rendering engine works on: a release translation, a recipient, a context.

These are the whole interface between the engine and the rest of the product: the releases
feature builds a `ReleaseContent` from its rows, dispatch builds a `Recipient` and a
`MessageContext` per delivery. No ORM object, no Flask, nothing that cannot cross a process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

LinkRewriter = Callable[[str, int], str]
"""Click tracking: given a link's original URL and its index in the body, the URL to put instead."""

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


def check_language_tag(tag: str) -> str:
    """``tag`` if it has the shape of a BCP 47 language tag (``en``, ``pt-BR``), else ValueError."""
    if not _LANGUAGE_TAG.match(tag):
        raise ValueError(f"not a BCP 47 language tag: {tag!r}")
    return tag


@dataclass(frozen=True, slots=True)
class ReleaseContent:
    """One translation of a press release, as staff wrote it.

    ``subject``, ``preheader`` and ``body`` (Markdown) may use the placeholders of
    `mailer.rendering.placeholders.ALLOWED_PLACEHOLDERS`; ``title`` and ``contact`` are plain
    text shown as written. ``embargo`` is the moment the news may be published (aware datetime).
    """

    language: str
    subject: str
    body: str
    preheader: str = ""
    title: str = ""
    embargo: datetime | None = None
    contact: str = ""

    def __post_init__(self) -> None:
        check_language_tag(self.language)
        if self.embargo is not None and self.embargo.utcoffset() is None:
            raise ValueError("the embargo time must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One journalist, as far as rendering cares.

    ``language`` is the recipient's resolved language tag; the message itself is always in the
    compiled translation's language, and a regional variant of that language here (``en-GB``
    for an ``en`` translation) only refines how dates are written. ``timezone`` is an IANA name
    (unknown names fall back to UTC). Without ``tracking`` there is no open pixel and no link
    rewriting for this recipient.
    """

    email: str
    first_name: str = ""
    last_name: str = ""
    outlet: str = ""
    language: str = ""
    timezone: str = "UTC"
    tracking: bool = True


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Everything about one delivery that is not the release or the recipient.

    ``message_id`` is fixed per delivery (reused on retries, so a retry yields the same bytes);
    ``envelope_sender`` is the VERP ``MAIL FROM`` naming the delivery; ``list_id`` is the
    RFC 2919 identifier (``press.example.org``) and ``list_name`` its phrase; ``feedback_id``
    the value of Gmail's ``Feedback-ID``. ``open_pixel_url``, ``rewrite_link`` and
    ``web_version_url`` are optional; ``date`` must be timezone-aware. ``public_url`` (the base
    of the service's links) is carried for layouts; the release layout needs none beyond the
    absolute URLs given here.
    """

    from_address: str
    from_name: str
    public_url: str
    list_id: str
    list_name: str
    organisation: str
    unsubscribe_url: str
    unsubscribe_mailto: str
    message_id: str
    envelope_sender: str
    feedback_id: str
    date: datetime
    open_pixel_url: str | None = None
    rewrite_link: LinkRewriter | None = field(default=None, compare=False)
    web_version_url: str | None = None
    reply_to: str = ""  # an address for replies other than From; "" for none
    subject_prefix: str = ""  # put before the subject, e.g. "[TEST] " on test sends
