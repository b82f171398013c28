"""Releases as messages outside a mailing: the preview and the hosted web version.

Builds every input of the rendering engine the way dispatch does (`mailer.dispatch.compose`):
the same `release_content`, the same instance settings, the same signed links from
`mailer.releases.links`, the same VERP sender. Only what is per send differs: a preview has no
delivery yet, so it uses delivery id 0 (tracking ignores it), a fixed preview Message-ID and the
current Date. Compiled translations are cached by their content, so a preview matrix or a burst
of web-version readers compiles each text once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailer.db import utcnow
from mailer.dispatch.compose import InstanceSettings, release_content
from mailer.dispatch.verp import verp_address
from mailer.releases.links import DeliveryRef, Links
from mailer.releases.models import Release
from mailer.rendering import (
    CompiledRelease,
    MessageContext,
    Recipient,
    ReleaseContent,
    RenderedMessage,
    compile_release,
    render_message,
)
from mailer.settings.service import effective_config

PREVIEW_DELIVERY = 0
WEB_LAYOUT = "web"


@dataclass(frozen=True)
class SampleRecipient:
    """Who a preview is rendered for: a contact, or the built-in sample journalist."""

    contact_id: int | None
    email: str
    first_name: str = ""
    last_name: str = ""
    outlet: str = ""
    timezone: str = "UTC"
    reading_languages: tuple[str, ...] = ()
    tracking: bool = True

    @property
    def label(self) -> str:
        """How the preview names this recipient."""
        name = f"{self.first_name} {self.last_name}".strip()
        who = f"{name} <{self.email}>" if name else self.email
        return who if self.contact_id is not None else f"{who} (built-in sample)"

    @classmethod
    def of_contact(cls, contact: Any) -> SampleRecipient:
        """The sample for a Contact row."""
        return cls(contact_id=contact.id, email=contact.email, first_name=contact.first_name,
                   last_name=contact.last_name, outlet=contact.outlet,
                   timezone=contact.timezone or "UTC",
                   reading_languages=tuple(contact.reading_languages),
                   tracking=bool(contact.tracking))


BUILT_IN_SAMPLE = SampleRecipient(contact_id=None, email="journalist@example.org",
                                  first_name="Dana", last_name="Sample",
                                  outlet="Example Daily", timezone="Asia/Almaty")


@functools.lru_cache(maxsize=64)
def compiled(content: ReleaseContent, layout: str = "release") -> CompiledRelease:
    """The compiled translation, once per distinct content and layout."""
    return compile_release(content, layout)


def content_of(release: Release, language: str) -> ReleaseContent:
    """The rendering engine's view of one translation, exactly as dispatch builds it."""
    return release_content(release, language)


def preview_message_id(release_id: int, language: str, contact_id: int | None,
                       settings: InstanceSettings) -> str:
    """The fixed Message-ID of a preview (a real send has one per delivery)."""
    return f"<preview.{release_id}.{language}.{contact_id or 0}@{settings.list_id}>"


def preview_context(settings: InstanceSettings, release_id: int, language: str,
                    sample: SampleRecipient) -> MessageContext:
    """The message context of a preview: what dispatch builds, with delivery id 0."""
    links = Links(settings.public_url, settings.secret_key)
    ref = DeliveryRef(PREVIEW_DELIVERY, sample.contact_id)
    name, address = settings.from_parts
    tracking = sample.tracking
    return MessageContext(
        from_address=address,
        from_name=name,
        public_url=settings.public_url,
        list_id=settings.list_id,
        list_name=name or settings.list_id,
        organisation=name or settings.list_id,
        unsubscribe_url=links.unsubscribe_url(ref),
        unsubscribe_mailto=links.unsubscribe_mailto(settings.bounce_domain, ref),
        message_id=preview_message_id(release_id, language, sample.contact_id, settings),
        envelope_sender=verp_address(PREVIEW_DELIVERY, settings.secret_key,
                                     settings.bounce_domain),
        feedback_id=f"{PREVIEW_DELIVERY}:{release_id}:mailer",
        date=utcnow(),
        open_pixel_url=links.open_url(ref) if tracking else None,
        rewrite_link=(lambda url, _index: links.click_url(ref, url)) if tracking else None,
        web_version_url=links.web_version_url(release_id, language),
        reply_to=settings.reply_to,
    )


def recipient_of(sample: SampleRecipient, language: str) -> Recipient:
    """The engine's Recipient for a sample, reading ``language``."""
    return Recipient(email=sample.email, first_name=sample.first_name,
                     last_name=sample.last_name, outlet=sample.outlet, language=language,
                     timezone=sample.timezone or "UTC", tracking=sample.tracking)


def render_preview(release: Release, language: str, sample: SampleRecipient,
                   config: Mapping[str, Any]) -> RenderedMessage:
    """The message ``sample`` would get in ``language``, rendered as dispatch renders it."""
    settings = InstanceSettings.from_config(effective_config(config))
    context = preview_context(settings, release.id, language, sample)
    return render_message(compiled(content_of(release, language)),
                          recipient_of(sample, language), context)


def render_web_version(release: Release, language: str, config: Mapping[str, Any]) -> str:
    """The HTML of the hosted web version: the same body in a page layout, nobody's data."""
    settings = InstanceSettings.from_config(effective_config(config))
    reader = SampleRecipient(contact_id=None, email=f"reader@{settings.list_id}",
                             tracking=False)
    context = preview_context(settings, release.id, language, reader)
    web = compiled(content_of(release, language), WEB_LAYOUT)
    return render_message(web, recipient_of(reader, language), context).html
