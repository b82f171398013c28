"""Factories for tracking tests: a sent delivery, its signed links, and flushing hits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from mailer.releases.links import DeliveryRef, Links, links_for

# Exactly what Gmail (and Yahoo, per RFC 8058) posts, with no cookie.
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Sent:
    """A delivery that went out, and the ids around it."""

    delivery_id: int
    mailing_id: int
    contact_id: int
    list_id: int
    release_id: int
    email: str
    message_id: str

    def ref(self) -> DeliveryRef:
        """Its reference, as links name it."""
        return DeliveryRef(self.delivery_id, self.contact_id)


def links(app: Flask) -> Links:
    """The app's link builder."""
    return links_for(app.config)


def make_release(app: Flask, languages: tuple[str, ...] = ("en", "ru")) -> int:
    """A release with a translation per language; returns its id."""
    from mailer.db import db
    from mailer.releases.models import Release, Translation

    subjects = {"en": "Conference in Dushanbe", "ru": "Конференция в Душанбе",
                "tg": "Конфронс дар Душанбе", "kk": "Душанбедегі конференция",
                "ky": "Душанбедеги конференция", "pl": "Konferencja w Duszanbe",
                "de": "Konferenz in Duschanbe", "fr": "Conférence à Douchanbé",
                "uz": "Dushanbedagi konferensiya"}
    with app.app_context():
        release = Release(title="Conference", default_language=languages[0])
        release.translations = [Translation(language=lang, subject=subjects.get(lang, "News"),
                                            body="# News\n\n[Report](https://example.org/r)")
                                for lang in languages]
        db.session.add(release)
        db.session.commit()
        return release.id


def make_sent(app: Flask, email: str = "anna@example.kz", language: str = "ru", *,
              list_name: str = "Central Asia desk", release_id: int | None = None,
              list_id: int | None = None, sent_ago: timedelta = timedelta(hours=1),
              status: str = "sent", contact: dict[str, Any] | None = None) -> Sent:
    """A contact on a list, a mailing of a release to it, and one sent delivery."""
    from sqlalchemy import select

    from mailer.contacts import lists, service
    from mailer.contacts.models import Contact
    from mailer.db import db, utcnow
    from mailer.dispatch.freeze import new_message_id
    from mailer.dispatch.models import Delivery, Mailing

    release_id = release_id or make_release(app)
    with app.app_context():
        found = db.session.scalar(select(Contact).where(Contact.email == email))
        contact_id = found.id if found else service.create_contact(
            {"email": email, "language": language, "first_name": "Анна",
             "outlet": "Steppe Wire", **(contact or {})}).id
        if list_id is None:
            list_id = lists.create_list({"name": list_name}).id
        lists.add_members(list_id, [contact_id])
        mailing = Mailing(release_id=release_id, list_ids=[list_id], status="sent",
                          started_at=utcnow() - sent_ago, frozen_at=utcnow() - sent_ago)
        db.session.add(mailing)
        db.session.flush()
        delivery = Delivery(mailing_id=mailing.id, contact_id=contact_id, email=email,
                            language=language, status=status,
                            sent_at=utcnow() - sent_ago if status == "sent" else None,
                            message_id=new_message_id(mailing.id, "example.org"))
        db.session.add(delivery)
        db.session.commit()
        return Sent(delivery.id, mailing.id, contact_id, list_id, release_id, email,
                    delivery.message_id)


def flush_hits(app: Flask) -> int:
    """Write the hits this app's buffer holds (the writer thread does it every 200 ms)."""
    from mailer.tracking.hits import hit_buffer

    return hit_buffer(app).flush()


def at(delta: timedelta) -> datetime:
    """Now plus ``delta``, aware."""
    from mailer.db import utcnow

    return utcnow() + delta
