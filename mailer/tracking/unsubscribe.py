"""Unsubscribing: from one token to a suppression (everything) or list opt-outs (this list),
taking effect for every delivery not yet started.

Owns what an unsubscribe does, whichever way it arrives: the RFC 8058 one-click POST, the
button on the page, or mail to the ``mailto:`` address. Unsubscribing from everything adds the
address to the suppression list (reason ``unsubscribed``, with how and when as its evidence);
unsubscribing from "this list" records opt-outs of the mailing's lists the journalist is on.
Either way, their deliveries still waiting in any mailing are skipped at once (``skipped``,
``unsubscribed``), and the pipeline checks the suppression list again just before each send
(`mailer.tracking.gate`), so a row claimed a moment earlier is caught too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask_babel import gettext
from sqlalchemy import select, update

from mailer.contacts.models import Contact, ListMember, SuppressionReason
from mailer.contacts.suppressions import find, suppress
from mailer.db import db, utcnow
from mailer.dispatch.models import Delivery, DeliveryStatus, Mailing
from mailer.errors import NotFound
from mailer.releases.links import Links
from mailer.tracking import preferences
from mailer.tracking.engagement import mark_unsubscribed

WAITING = (DeliveryStatus.QUEUED.value, DeliveryStatus.CLAIMED.value,
           DeliveryStatus.DEFERRED.value)
UNSUBSCRIBED = "unsubscribed"


class Scope(StrEnum):
    """How much an unsubscribe covers."""

    ALL = "all"
    LIST = "list"


class Method(StrEnum):
    """How it arrived."""

    ONE_CLICK = "one-click"
    PAGE = "page"
    MAILTO = "mailto"


@dataclass(frozen=True)
class Recipient:
    """Whom an unsubscribe token names: the delivery, its mailing and the contact (if kept)."""

    delivery: Delivery
    mailing: Mailing
    contact: Contact | None

    @property
    def email(self) -> str:
        """The address the message went to."""
        return self.contact.email if self.contact is not None else self.delivery.email

    def mailing_lists(self) -> list[int]:
        """The mailing's included lists this contact is a member of."""
        if self.contact is None or not self.mailing.list_ids:
            return []
        return list(db.session.scalars(select(ListMember.list_id).where(
            ListMember.contact_id == self.contact.id,
            ListMember.list_id.in_(self.mailing.list_ids)).order_by(ListMember.list_id)))


@dataclass(frozen=True)
class Outcome:
    """What an unsubscribe did."""

    scope: Scope
    list_ids: tuple[int, ...]
    skipped: int


def recipient_for(token: str, links: Links) -> Recipient:
    """The recipient of a genuine unsubscribe token; NotFound for forged, altered or stale ones."""
    ref = links.read_unsubscribe(token)
    delivery = db.session.get(Delivery, ref.delivery_id) if ref and ref.delivery_id else None
    if delivery is None or ref is None or delivery.contact_id != ref.contact_id:
        raise NotFound(gettext("This unsubscribe link is not valid."))
    mailing = db.session.get(Mailing, delivery.mailing_id)
    if mailing is None:
        raise NotFound(gettext("This unsubscribe link is not valid."))
    contact = db.session.get(Contact, delivery.contact_id) if delivery.contact_id else None
    return Recipient(delivery, mailing, contact)


def unsubscribed_since(recipient: Recipient) -> datetime | None:
    """When the address was suppressed as unsubscribed (None if it is not)."""
    row = find(recipient.email)
    if row is None or row.reason != SuppressionReason.UNSUBSCRIBED:
        return None
    return row.created_at


def unsubscribe(recipient: Recipient, scope: Scope = Scope.ALL,
                method: Method = Method.ONE_CLICK, now: datetime | None = None) -> Outcome:
    """Unsubscribe the recipient; safe to repeat. Test messages change nothing."""
    now = now or utcnow()
    if recipient.delivery.is_test:
        return Outcome(scope, (), 0)
    lists = recipient.mailing_lists() if scope is Scope.LIST else []
    if scope is Scope.LIST and not lists:
        scope = Scope.ALL  # reached through a segment only: "this list" means everything
    mailing_id = recipient.mailing.id
    if scope is Scope.ALL:
        suppress(recipient.email, SuppressionReason.UNSUBSCRIBED,
                 f"{method.value} unsubscribe, mailing {mailing_id}, "
                 f"{now.isoformat(timespec='seconds')}")
        skipped = skip_waiting(recipient, lambda _mailing: True, UNSUBSCRIBED)
    elif recipient.contact is not None:
        preferences.opt_out_of_lists(recipient.contact.id, lists)
        db.session.commit()
        skipped = skip_waiting(recipient, lambda mailing: _left_all_lists(recipient, mailing),
                               UNSUBSCRIBED)
    mark_unsubscribed(recipient.delivery.id, mailing_id, scope.value, now)
    return Outcome(scope, tuple(lists), skipped)


def _left_all_lists(recipient: Recipient, mailing: Mailing) -> bool:
    """True when a mailing reaches the contact through no list they still want."""
    if mailing.segment_ids or recipient.contact is None:
        return False
    wanted = {choice.id for choice in preferences.list_choices(recipient.contact.id)
              if choice.subscribed}
    return not wanted & set(mailing.list_ids or [])


def skip_waiting(recipient: Recipient, applies: Callable[[Mailing], bool], reason: str) -> int:
    """Skip the recipient's deliveries not yet started in mailings for which ``applies``; commits.

    A delivery a worker claimed but has not started is skipped too: its ``start_sending``
    then finds it no longer claimed and leaves it alone.
    """
    if recipient.contact is not None:
        who = Delivery.contact_id == recipient.contact.id
    else:
        who = Delivery.email == recipient.delivery.email
    waiting = db.session.execute(select(Delivery.id, Delivery.mailing_id).where(
        who, Delivery.is_test.is_(False), Delivery.status.in_(WAITING))).all()
    mailings = {m.id: m for m in db.session.scalars(
        select(Mailing).where(Mailing.id.in_({row.mailing_id for row in waiting})))}
    ids = [row.id for row in waiting if row.mailing_id in mailings
           and applies(mailings[row.mailing_id])]
    return skip_deliveries(ids, reason)


def skip_deliveries(ids: Iterable[int], reason: str) -> int:
    """Mark waiting deliveries skipped with ``reason``; commits; returns how many."""
    ids = list(ids)
    if not ids:
        return 0
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status.in_(WAITING))
        .values(status=DeliveryStatus.SKIPPED, skip_reason=reason, claimed_by="")
        .execution_options(synchronize_session=False))
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def save_preferences(recipient: Recipient, keep_list_ids: Iterable[int],
                     languages: Iterable[str]) -> int:
    """Store the preference centre's choices and skip waiting deliveries they now rule out."""
    if recipient.contact is None or recipient.delivery.is_test:
        return 0
    contact_id = recipient.contact.id
    preferences.set_choices(contact_id, keep_list_ids, languages)
    wanted = preferences.wanted_languages(contact_id)
    skipped = skip_waiting(recipient, lambda mailing: _left_all_lists(recipient, mailing),
                           UNSUBSCRIBED)
    if wanted:
        ids = db.session.scalars(select(Delivery.id).where(
            Delivery.contact_id == contact_id, Delivery.is_test.is_(False),
            Delivery.status.in_(WAITING))).all()
        languages_of = dict(db.session.execute(
            select(Delivery.id, Delivery.language).where(Delivery.id.in_(ids))).all())
        skipped += skip_deliveries(
            [i for i in ids if not preferences.matches(languages_of[i], wanted)],
            preferences.NO_WANTED_LANGUAGE)
    return skipped
