"""The suppression list: addresses no mailing may reach, with why and since when.

Owns adding, finding and removing suppressions. An entry is keyed by the SHA-256 of the address
key (``validation.email_hash``), never by a contact, so it outlives the contact: delete or
re-create the journalist and the address stays suppressed. Erased contacts leave an entry with
the hash alone (``email`` blank, reason ``erased``).

Adding is idempotent: adding an address that is already suppressed keeps the first reason and
time (the earliest cause is the one that matters for the record: a bounce stays a bounce even if
someone later adds it by hand), unless the caller asks to ``replace`` the reason. An erased
entry is never rewritten: its address must not come back in clear.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from mailer.contacts import validation
from mailer.contacts.models import Suppression, SuppressionReason
from mailer.contacts.paging import Page, fetch_page
from mailer.db import db
from mailer.errors import Invalid, NotFound

# Reasons staff and integrations may give; ``erased`` is set only by erasing a contact.
GIVEN_REASONS = tuple(r.value for r in SuppressionReason if r is not SuppressionReason.ERASED)
MAX_DETAIL = 1000


@dataclass(frozen=True)
class Added:
    """The entry for an address, and whether this call created it."""

    suppression: Suppression
    created: bool


def parse_reason(value: object, *, default: str = SuppressionReason.MANUAL) -> SuppressionReason:
    """A reason staff may give (422 naming the allowed ones)."""
    if value is None or value == "":
        return SuppressionReason(default)
    if isinstance(value, str) and value.strip().lower() in GIVEN_REASONS:
        return SuppressionReason(value.strip().lower())
    raise Invalid(gettext("Unknown suppression reason."),
                  fields={"reason": gettext("must be one of %(allowed)s",
                                            allowed=", ".join(GIVEN_REASONS))})


def find(address: str) -> Suppression | None:
    """The suppression of this address (any spelling of it), or None."""
    return db.session.scalar(select(Suppression).where(
        Suppression.email_hash == validation.email_hash(address)))


def is_suppressed(address: str) -> bool:
    """True when no mailing may reach this address."""
    return find(address) is not None


def suppressed_hashes(hashes: set[str]) -> set[str]:
    """Which of these address hashes are suppressed (one query)."""
    if not hashes:
        return set()
    return set(db.session.scalars(select(Suppression.email_hash)
                                  .where(Suppression.email_hash.in_(hashes))))


def suppress(email: object, reason: object = None, detail: object = "", *,
             replace: bool = False) -> Added:
    """Suppress an address; an existing entry keeps its first reason unless ``replace``."""
    errors: dict[str, str] = {}
    address, why, note = "", SuppressionReason.MANUAL, ""
    try:
        address = validation.normalise_email(email)
    except validation.FieldError as exc:
        errors["email"] = str(exc)
    try:
        why = parse_reason(reason)
    except Invalid as exc:
        errors.update(exc.fields)
    try:
        note = validation.normalise_notes(detail)[:MAX_DETAIL]
    except validation.FieldError as exc:
        errors["detail"] = str(exc)
    if errors:
        raise Invalid(gettext("The suppression is not valid."), fields=errors)
    existing = find(address)
    if existing is not None:
        if replace and existing.reason != SuppressionReason.ERASED:
            existing.reason, existing.detail = why, note
            db.session.commit()
        return Added(existing, created=False)
    row = Suppression(email_hash=validation.email_hash(address), email=address,
                      reason=why, detail=note)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # added concurrently: that one was first
        db.session.rollback()
        existing = find(address)
        if existing is None:
            raise
        return Added(existing, created=False)
    return Added(row, created=True)


def unsuppress(address: str) -> None:
    """Remove an address from the suppression list (admins only, by the views' rule)."""
    row = find(address)
    if row is None:
        raise NotFound(gettext("This address is not on the suppression list."))
    db.session.delete(row)
    db.session.commit()


def suppressions_query(q: str = "", reason: str = "") -> Select[Suppression]:
    """Entries, newest first, optionally by address fragment and reason."""
    query = select(Suppression).order_by(Suppression.created_at.desc(), Suppression.id.desc())
    if q:
        query = query.where(func.lower(Suppression.email).contains(q.strip().lower(),
                                                                   autoescape=True))
    if reason:
        query = query.where(Suppression.reason == reason)
    return query


def list_suppressions(q: str = "", reason: str = "", page: int = 1,
                      per_page: int = 50) -> Page[Suppression]:
    """A page of the suppression list; ``reason`` may be any reason, ``erased`` included."""
    if reason and reason not in {r.value for r in SuppressionReason}:
        raise Invalid(gettext("Unknown suppression reason."),
                      fields={"reason": gettext(
                          "must be one of %(allowed)s",
                          allowed=", ".join(r.value for r in SuppressionReason))})
    return fetch_page(suppressions_query(q, reason), page, per_page)
