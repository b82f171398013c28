"""Composing each delivery's message: one compiled release per language, one render each.

A :class:`MailingComposer` lives for one run of a worker over one mailing: it compiles each
translation the first time a recipient needs it, loads the contacts of a claimed batch in one
query, and builds every recipient's links (unsubscribe, open pixel, click tracking, web
version) and VERP sender from the instance's settings. No Flask: settings come in as values.

What is the same for every recipient of a language (the web-version address, the body's link
targets, the sender's name and address) is worked out once per composer; per recipient there is
one signed token per link and the render itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cached_property
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select

from mailer.contacts.models import Contact
from mailer.db import db, utcnow
from mailer.dispatch.ledger import ClaimedDelivery
from mailer.dispatch.transports import Envelope
from mailer.dispatch.verp import verp_address
from mailer.releases.links import DeliveryRef, Links
from mailer.releases.models import Release
from mailer.rendering import (
    CompiledRelease,
    MessageContext,
    Recipient,
    ReleaseContent,
    TemplateRejected,
    compile_release,
    render_message,
)
from mailer.rendering.dkim import DkimKey, sign

# Test sends go to staff: the subject says so, in every language, before the release's own.
TEST_SUBJECT_PREFIX = "[TEST] "

@dataclass(frozen=True)
class InstanceSettings:
    """The settings a message depends on, copied out of the app's config."""

    public_url: str
    secret_key: str
    mail_from: str
    bounce_domain: str
    dkim: DkimKey | None = None
    reply_to: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> InstanceSettings:
        """Read them from a Flask config mapping."""
        mail_from = str(config["MAILER_FROM"])
        key_path = str(config.get("MAILER_DKIM_KEY") or "")
        dkim_key = DkimKey.load(
            key_path,
            str(config.get("MAILER_DKIM_DOMAIN") or parseaddr(mail_from)[1].rpartition("@")[2]),
            str(config.get("MAILER_DKIM_SELECTOR") or "mailer")) if key_path else None
        return cls(str(config["MAILER_PUBLIC_URL"]), str(config["SECRET_KEY"]), mail_from,
                   str(config["MAILER_BOUNCE_DOMAIN"]), dkim_key,
                   str(config.get("MAILER_REPLY_TO") or ""))

    @cached_property
    def from_parts(self) -> tuple[str, str]:
        """(display name, address) of the sender."""
        return parseaddr(self.mail_from)

    @cached_property
    def list_id(self) -> str:
        """The RFC 2919 List-Id: the press office's host name."""
        return self.from_parts[1].rpartition("@")[2] or "localhost"


def release_content(release: Release, language: str) -> ReleaseContent:
    """The rendering engine's view of one translation of a release."""
    translation = next((t for t in release.translations if t.language == language), None)
    if translation is None:
        raise ValueError(f"the release has no {language} translation")
    return ReleaseContent(language=translation.language, subject=translation.subject,
                          body=translation.body, preheader=translation.preheader,
                          title=release.title, embargo=release.embargo_at,
                          contact=release.contact_block)


# Built once (it runs for every batch): what a message uses of its recipient's contact.
_BATCH_CONTACTS = select(Contact.id, Contact.first_name, Contact.last_name, Contact.outlet,
                         Contact.timezone, Contact.tracking
                         ).where(Contact.id.in_(bindparam("ids", expanding=True)))


class BatchContact(NamedTuple):
    """The columns of a contact that its message uses."""

    id: int
    first_name: str
    last_name: str
    outlet: str
    timezone: str
    tracking: bool


class MailingComposer:
    """Builds the messages of one mailing."""

    def __init__(self, mailing_id: int, release_id: int, settings: InstanceSettings,
                 tracking: bool = True) -> None:
        self.mailing_id = mailing_id
        self.release_id = release_id
        self.settings = settings
        self.tracking = tracking
        self.links = Links(settings.public_url, settings.secret_key)
        self._compiled: dict[str, CompiledRelease] = {}
        self._targets: dict[str, tuple[str, ...]] = {}
        self._contacts: dict[int, BatchContact] = {}
        name, address = settings.from_parts
        self._from_name, self._from_address = name, address
        self._list_name = name or settings.list_id
        self._feedback_id = f"{mailing_id}:{release_id}:mailer"

    def compiled(self, language: str) -> CompiledRelease:
        """The compiled translation for ``language`` (compiled once per composer)."""
        found = self._compiled.get(language)
        if found is None:
            release = db.session.get(Release, self.release_id)
            if release is None:
                raise ValueError("the release of this mailing no longer exists")
            try:
                found = compile_release(release_content(release, language))
            except TemplateRejected as exc:
                raise ValueError(f"the {language} translation cannot be rendered: "
                                 f"{exc.message}") from exc
            self._compiled[language] = found
            self._targets[language] = tuple(link.url for link in found.links)
        return found

    def prepare(self, batch: Sequence[ClaimedDelivery]) -> None:
        """Load the contacts of a batch in one query (the columns a message uses, no ORM
        objects: a batch is read once and thrown away)."""
        ids = [d.contact_id for d in batch if d.contact_id is not None]
        rows = db.session.connection().execute(_BATCH_CONTACTS, {"ids": ids}).all() \
            if ids else []
        db.session.commit()  # end the read: the worker holds no transaction while it sends
        self._contacts = {row[0]: BatchContact(*row) for row in rows}

    def compose(self, delivery: ClaimedDelivery) -> Envelope:
        """The envelope and bytes for one delivery."""
        compiled = self.compiled(delivery.language)
        contact = self._contacts.get(delivery.contact_id or 0)
        tracking = self.tracking and (contact.tracking if contact is not None else True)
        recipient = Recipient(
            email=delivery.email,
            first_name=contact.first_name if contact else "",
            last_name=contact.last_name if contact else "",
            outlet=contact.outlet if contact else "",
            language=delivery.language,
            timezone=(contact.timezone if contact else "") or "UTC",
            tracking=tracking,
        )
        ref = DeliveryRef(delivery.id, delivery.contact_id)
        settings = self.settings
        links = self.links
        unsubscribe = links.unsubscribe_token(ref)  # one token for the link and the mailto
        rewrite = None
        if tracking:
            clicks = links.click_urls(ref, self._targets[delivery.language])

            def rewrite(_url: str, index: int) -> str:
                return clicks[index]

        context = MessageContext(
            from_address=self._from_address,
            from_name=self._from_name,
            public_url=settings.public_url,
            list_id=settings.list_id,
            list_name=self._list_name,
            organisation=self._list_name,
            unsubscribe_url=links.unsubscribe_url(ref, unsubscribe),
            unsubscribe_mailto=links.unsubscribe_mailto(settings.bounce_domain, ref,
                                                        unsubscribe),
            message_id=delivery.message_id,
            envelope_sender=verp_address(delivery.id, settings.secret_key,
                                         settings.bounce_domain),
            feedback_id=self._feedback_id,
            date=utcnow().replace(microsecond=0),  # the Date header shows whole seconds
            open_pixel_url=links.open_url(ref) if tracking else None,
            rewrite_link=rewrite,
            web_version_url=links.web_version_url(self.release_id, delivery.language),
            reply_to=settings.reply_to,
            subject_prefix=TEST_SUBJECT_PREFIX if delivery.is_test else "",
        )
        envelope = render_message(compiled, recipient, context).envelope()
        if self.settings.dkim is None:
            return envelope
        return Envelope(envelope.mail_from, envelope.recipients,
                        sign(envelope.data, self.settings.dkim), crlf=envelope.crlf)
