"""A journalist's rights over their data: see everything held about them, and erasure.

Owns what "everything about one contact" means and what erasing leaves behind: the contact, its
tags and memberships go (and by ON DELETE CASCADE its list opt-outs and chosen languages); its
address survives only as a hash on the suppression list (reason ``erased``, no address in
clear), so no mailing reaches it again and a later import of the same address is recognised as
suppressed. Deliveries, tracking events and bounces are :mod:`mailer.tracking.personal_data`'s:
shown in full, and on erasure kept for the reports without the address or anything quoting it
(``bounce_scores`` stays, keyed by the address's hash only). Features that keep per-contact
rows later must add them to :func:`personal_data` and :func:`erase_contact`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mailer.audit import service as audit
from mailer.contacts import validation
from mailer.contacts.models import ContactList, ListMember, Suppression, SuppressionReason
from mailer.contacts.serialise import contact_fields, suppression_json
from mailer.contacts.service import get_contact
from mailer.db import db, utcnow
from mailer.tracking import personal_data as tracking_data


def personal_data(contact_id: int) -> dict[str, Any]:
    """Everything held about one contact, as one JSON-ready document."""
    contact = get_contact(contact_id)
    memberships = db.session.execute(
        select(ContactList.id, ContactList.name, ListMember.added_at)
        .join(ListMember, ListMember.list_id == ContactList.id)
        .where(ListMember.contact_id == contact.id).order_by(ContactList.name))
    suppression = db.session.scalar(select(Suppression).where(
        Suppression.email_hash == contact.email_hash))
    return {
        "contact": contact_fields(contact),
        "lists": [{"id": list_id, "name": name, "added_at": added_at.isoformat()}
                  for list_id, name, added_at in memberships],
        "suppression": suppression_json(suppression) if suppression else None,
        # preferences, deliveries, events, bounces
        **tracking_data.collect(contact.id, contact.email_key, contact.email),
        "exported_at": utcnow().isoformat(),
    }


def erase_contact(contact_id: int) -> str:
    """Delete a contact and keep only its address hash as an ``erased`` suppression.

    An existing suppression of the address is turned into the erased form (its address, reason
    and note are dropped with the rest). Its deliveries, hits and bounces stay for the reports
    but lose the address and what quotes it, in the same transaction. Returns the hash that
    remains (``bounce_scores`` is keyed by it too, and is left as it is).
    """
    contact = get_contact(contact_id)
    digest = validation.email_hash(contact.email_key)
    entry = db.session.scalar(select(Suppression).where(Suppression.email_hash == digest))
    if entry is None:
        db.session.add(Suppression(email_hash=digest, email="",
                                   reason=SuppressionReason.ERASED, detail=""))
    else:
        entry.email, entry.reason, entry.detail = "", SuppressionReason.ERASED, ""
    tracking_data.erase(contact.id, contact.email_key, contact.email)
    db.session.delete(contact)  # tags by cascade, memberships by ON DELETE CASCADE
    # The record names the contact's id only: the address itself is what was erased.
    audit.record("contact.erased", target_type="contact", target_id=contact_id,
                 summary="Contact erased; only the address hash stays suppressed")
    db.session.commit()
    return digest
