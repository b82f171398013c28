"""The last check before a message leaves: is the address suppressed by now?

Called by the dispatch pipeline just before each SMTP transaction, so an unsubscribe, a hard
bounce or a complaint recorded after the audience was frozen (or after this row was claimed)
stops the message. One probe of the suppression table's unique hash index per message — small
next to an SMTP round trip — and a write only when the answer is yes.
"""

from __future__ import annotations

from sqlalchemy import select, update

from mailer.contacts.models import Suppression, SuppressionReason
from mailer.contacts.validation import email_hash
from mailer.db import db
from mailer.dispatch.models import Delivery, DeliveryStatus


def skip_reason(reason: str) -> str:
    """The delivery's skip reason for a suppression reason."""
    return "unsubscribed" if reason == SuppressionReason.UNSUBSCRIBED else "suppressed"


def skip_if_suppressed(delivery_id: int, email: str) -> bool:
    """Skip a claimed delivery whose address is suppressed; True when it was skipped (commits)."""
    reason = db.session.scalar(select(Suppression.reason)
                               .where(Suppression.email_hash == email_hash(email)))
    if reason is None:
        db.session.commit()  # end the read, as every ledger step does
        return False
    db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.CLAIMED)
        .values(status=DeliveryStatus.SKIPPED, skip_reason=skip_reason(reason), claimed_by="")
        .execution_options(synchronize_session=False))
    db.session.commit()
    return True
