"""The preference centre: what the unsubscribe page offers one recipient, and their answers.

Offers the two scopes (the mailing's lists the journalist is on, or everything from the
organisation), the lists they are on with their choice, and the languages they may want
releases in: the languages of this release, those they read, and those they chose before.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parseaddr

from sqlalchemy import select

from mailer.contacts.models import ContactList
from mailer.db import db
from mailer.http import parse_id
from mailer.releases.models import Release
from mailer.tracking import preferences
from mailer.tracking.pages import Page, page_language
from mailer.tracking.unsubscribe import Recipient, unsubscribed_since


def organisation_name(mail_from: str) -> str:
    """Who sends: the display name of MAILER_FROM, else its domain."""
    name, address = parseaddr(mail_from)
    return name or address.rpartition("@")[2] or "the press office"


def page_for(recipient: Recipient, *, action: str, css_url: str, mail_from: str,
             done: str = "", saved: bool = False) -> Page:
    """Everything the unsubscribe page shows this recipient, in their language."""
    delivery = recipient.delivery
    language = page_language(delivery.language or (recipient.contact.language
                                                   if recipient.contact else "") or "en")
    page = Page(language=language, action=action, css_url=css_url,
                organisation=organisation_name(mail_from), email=recipient.email,
                done=done, saved=saved, is_test=delivery.is_test)
    release = db.session.get(Release, recipient.mailing.release_id)
    if release is not None:
        translation = next((t for t in release.translations
                            if t.language == delivery.language), None)
        subject = translation.subject if translation is not None else ""
        page.subject = subject if "{" not in subject else release.title
    page.sent_on = language.date(delivery.sent_at)
    page.unsubscribed_on = language.date(unsubscribed_since(recipient))
    list_ids = recipient.mailing_lists()
    if list_ids:
        page.mailing_list_names = list(db.session.scalars(
            select(ContactList.name).where(ContactList.id.in_(list_ids))
            .order_by(ContactList.name)))
    contact = recipient.contact
    if contact is None or delivery.is_test:
        return page
    page.lists = [{"id": choice.id, "name": choice.name, "checked": choice.subscribed}
                  for choice in preferences.list_choices(contact.id)]
    wanted = preferences.wanted_languages(contact.id)
    offered: list[str] = []
    for tag in [*(t.language for t in (release.translations if release else [])),
                *contact.reading_languages, *wanted]:
        if tag and tag not in offered:
            offered.append(tag)
    page.languages = [{"tag": tag, "name": language.language_name(tag),
                       "checked": tag in wanted} for tag in offered]
    return page


def chosen_ids(values: Iterable[str]) -> list[int]:
    """The list ids of the preference form (anything not a number is ignored)."""
    return [i for i in map(parse_id, values) if i]
