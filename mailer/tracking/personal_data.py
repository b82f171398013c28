"""A journalist's delivery and tracking data: what the right of access shows and erasure clears.

Owns which rows of ``deliveries``, ``delivery_engagement``, ``tracking_events`` and ``bounces``
are about one person, and what erasing them means. :mod:`mailer.contacts.privacy` calls
:func:`collect` and :func:`erase`; the contact's own rows (preferences and list opt-outs go
with it by ON DELETE CASCADE) stay that module's business.

Named query ``their_deliveries``: the contact's deliveries on the ``contact_id`` index, plus
the rows carrying one of the address's spellings (as stored, and its key) on the
``(mailing_id, email)`` index, one probe per mailing: rows a deleted and re-created contact
left under an old id, and test sends to the address. Every other query here reads rows of
those deliveries on their ``delivery_id`` indexes, one statement per table, never per row.

Bounces are also found by the address they carry (unmatched ones name no delivery): compared
lower-cased, as the recipients search does, in both spellings. There is no index on
``bounces.email``; the table holds one row per bounce message taken in, and this runs only
when a person asks.

Erasing keeps what reports count (a delivery's mailing, language, status and times; an
engagement row's counts and times; a bounce's kind, status and time) and clears what names or
quotes the person: the delivery's address, contact and SMTP reply (servers quote the
recipient), the engagement's bounce diagnostic, the hits' user agents, and a bounce's address,
diagnostic and subject. ``bounce_scores`` stays: it is keyed by the address's hash only, as
the suppression list is. Deliveries still waiting to be sent are skipped as suppressed (what
the send-time check would do; without an address they could not go anyway). The contact's
unsubscribe links stop working: they name a contact the delivery no longer has.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, case, func, or_, select, union, update

from mailer.contacts.models import ContactList, SuppressionReason
from mailer.db import db
from mailer.dispatch.models import Delivery, DeliveryStatus, Mailing
from mailer.releases.models import Release
from mailer.tracking.gate import skip_reason
from mailer.tracking.models import (
    Bounce,
    ContactPreference,
    DeliveryEngagement,
    ListOptOut,
    TrackedLink,
    TrackingEvent,
)

E = DeliveryEngagement
# Not yet handed to the mail server: an erased contact's rows in these states are skipped.
WAITING = (DeliveryStatus.QUEUED.value, DeliveryStatus.DEFERRED.value,
           DeliveryStatus.CLAIMED.value)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _spellings(email_key: str, email: str) -> set[str]:
    """The address as stored and as its key (they differ for an internationalised domain)."""
    return {value for value in (email_key, email) if value}


def _cased(spellings: Collection[str]) -> list[str]:
    """The spellings and their lower-case forms: SQLite's ``lower()`` folds ASCII only, so a
    non-ASCII local part is matched as stored, and in any case on PostgreSQL."""
    return sorted({*spellings, *(value.lower() for value in spellings)})


def _their_deliveries(contact_id: int, spellings: Collection[str], *,
                      tests: bool) -> CompoundSelect:
    """Named query ``their_deliveries`` (see the module docstring): ids, as a subquery."""
    by_contact = select(Delivery.id).where(Delivery.contact_id == contact_id)
    by_address = select(Delivery.id).where(Delivery.mailing_id.in_(select(Mailing.id)),
                                           Delivery.email.in_(sorted(spellings)))
    if not tests:
        by_contact = by_contact.where(Delivery.is_test.is_(False))
        by_address = by_address.where(Delivery.is_test.is_(False))
    return union(by_contact, by_address)


def _their_bounces(their: CompoundSelect, spellings: Collection[str]) -> ColumnElement[bool]:
    """Bounces of their deliveries, or naming their address in any ASCII case."""
    return or_(Bounce.delivery_id.in_(their),
               func.lower(Bounce.email).in_(_cased(spellings)))


def collect(contact_id: int, email_key: str, email: str = "") -> dict[str, Any]:
    """The contact's preferences, deliveries, tracking events and bounces, JSON-ready.

    ``email`` is the address as stored, when it is spelled otherwise than ``email_key``.
    Test sends are left out, as every report leaves them out.
    """
    spellings = _spellings(email_key, email)
    their = _their_deliveries(contact_id, spellings, tests=False)
    return {
        "preferences": _preferences(contact_id),
        "deliveries": _deliveries(their),
        "events": _events(their),
        "bounces": _bounces(their, spellings),
    }


def _preferences(contact_id: int) -> dict[str, Any]:
    chosen = db.session.get(ContactPreference, contact_id)
    opt_outs = db.session.execute(
        select(ContactList.id, ContactList.name, ListOptOut.created_at)
        .join(ListOptOut, ListOptOut.list_id == ContactList.id)
        .where(ListOptOut.contact_id == contact_id).order_by(ContactList.name))
    return {
        "languages": list(chosen.languages or []) if chosen else [],
        "languages_updated_at": _time(chosen.updated_at) if chosen else None,
        "opted_out_lists": [{"id": list_id, "name": name, "opted_out_at": _time(at)}
                            for list_id, name, at in opt_outs],
    }


def _deliveries(their: CompoundSelect) -> list[dict[str, Any]]:
    """One row per delivery, newest first, with its engagement."""
    rows = db.session.execute(
        select(Delivery.id, Delivery.mailing_id, Delivery.email, Delivery.language,
               Delivery.status, Delivery.skip_reason, Delivery.sent_at, Delivery.smtp_code,
               Delivery.smtp_reply, Mailing.release_id, Release.title,
               E.delivery_id.label("engaged"), E.opens, E.clicks, E.first_opened_at,
               E.last_opened_at, E.first_clicked_at, E.last_clicked_at, E.scanner_opens,
               E.scanner_clicks, E.unsubscribed_at, E.unsubscribe_scope, E.complained_at,
               E.bounce_kind, E.bounce_status, E.bounce_diagnostic, E.bounced_at)
        .join(Mailing, Mailing.id == Delivery.mailing_id)
        .outerjoin(Release, Release.id == Mailing.release_id)
        .outerjoin(E, E.delivery_id == Delivery.id)
        .where(Delivery.id.in_(their))
        .order_by(Delivery.id.desc()))
    return [{
        "id": row.id, "mailing_id": row.mailing_id, "release_id": row.release_id,
        "title": row.title or "", "email": row.email, "language": row.language,
        "status": row.status, "skip_reason": row.skip_reason or None,
        "sent_at": _time(row.sent_at), "smtp_code": row.smtp_code,
        "smtp_reply": row.smtp_reply or None,
        "engagement": _engagement(row) if row.engaged is not None else None,
    } for row in rows]


def _engagement(row: Any) -> dict[str, Any]:
    bounce = None
    if row.bounce_kind:
        bounce = {"kind": row.bounce_kind, "status": row.bounce_status or None,
                  "diagnostic": row.bounce_diagnostic or None,
                  "bounced_at": _time(row.bounced_at)}
    return {
        "opens": row.opens, "clicks": row.clicks,
        "scanner_opens": row.scanner_opens, "scanner_clicks": row.scanner_clicks,
        "first_opened_at": _time(row.first_opened_at),
        "last_opened_at": _time(row.last_opened_at),
        "first_clicked_at": _time(row.first_clicked_at),
        "last_clicked_at": _time(row.last_clicked_at),
        "unsubscribed_at": _time(row.unsubscribed_at),
        "unsubscribe_scope": row.unsubscribe_scope or None,
        "complained_at": _time(row.complained_at),
        "bounce": bounce,
    }


def _events(their: CompoundSelect) -> list[dict[str, Any]]:
    """Every open and click request of their deliveries, newest first."""
    rows = db.session.execute(
        select(TrackingEvent.delivery_id, TrackingEvent.mailing_id, TrackingEvent.kind,
               TrackingEvent.at, TrackingEvent.scanner, TrackingEvent.user_agent,
               TrackedLink.url)
        .outerjoin(TrackedLink, TrackedLink.id == TrackingEvent.link_id)
        .where(TrackingEvent.delivery_id.in_(their))
        .order_by(TrackingEvent.at.desc(), TrackingEvent.id.desc()))
    return [{"delivery_id": row.delivery_id, "mailing_id": row.mailing_id, "kind": row.kind,
             "at": _time(row.at), "scanner": row.scanner or None,
             "user_agent": row.user_agent, "url": row.url}
            for row in rows]


def _bounces(their: CompoundSelect, spellings: Collection[str]) -> list[dict[str, Any]]:
    """Bounces of their deliveries or carrying their address, newest first."""
    rows = db.session.scalars(
        select(Bounce).where(_their_bounces(their, spellings))
        .order_by(Bounce.received_at.desc(), Bounce.id.desc()))
    return [{"id": row.id, "received_at": _time(row.received_at), "source": row.source,
             "kind": row.kind, "delivery_id": row.delivery_id, "mailing_id": row.mailing_id,
             "email": row.email, "status": row.status or None,
             "diagnostic": row.diagnostic or None, "subject": row.subject or None}
            for row in rows]


def erase(contact_id: int, email_key: str, email: str = "") -> None:
    """Clear what names or quotes the contact from delivery and tracking rows; no commit.

    Runs in the caller's transaction, before the contact row goes. The deliveries are
    updated last: until then they are how the other tables' rows are found.
    """
    spellings = _spellings(email_key, email)
    their = _their_deliveries(contact_id, spellings, tests=True)
    run = {"synchronize_session": False}
    db.session.execute(update(TrackingEvent)
                       .where(TrackingEvent.delivery_id.in_(their),
                              TrackingEvent.user_agent != "")
                       .values(user_agent="").execution_options(**run))
    db.session.execute(update(E)
                       .where(E.delivery_id.in_(their), E.bounce_diagnostic != "")
                       .values(bounce_diagnostic="").execution_options(**run))
    db.session.execute(update(Bounce)
                       .where(_their_bounces(their, spellings))
                       .values(email="", diagnostic="", subject="").execution_options(**run))
    # One statement; the subquery is read before any row changes, as SQL has it.
    db.session.execute(
        update(Delivery).where(Delivery.id.in_(their))
        .values(email="", contact_id=None, smtp_reply="",
                status=case((Delivery.status.in_(WAITING), DeliveryStatus.SKIPPED.value),
                            else_=Delivery.status),
                skip_reason=case((Delivery.status.in_(WAITING),
                                  skip_reason(SuppressionReason.ERASED)),
                                 else_=Delivery.skip_reason))
        .execution_options(**run))
