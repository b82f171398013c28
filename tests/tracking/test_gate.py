"""The pipeline's last check: an address unsubscribed after the freeze is skipped, not sent."""

from __future__ import annotations

from flask import Flask

from tests.tracking.gate_support import Composer, Transport
from tests.tracking.support import make_sent


def test_suppressed_since_the_freeze_is_skipped_just_before_sending(app: Flask) -> None:
    from mailer.contacts.suppressions import suppress
    from mailer.db import db
    from mailer.dispatch.models import Delivery, Mailing
    from mailer.dispatch.pipeline import SendPolicy, run_batches

    kept = make_sent(app, "kept@example.org", status="queued")
    gone = make_sent(app, "gone@example.org", status="queued", list_id=kept.list_id,
                     release_id=kept.release_id)
    bounced = make_sent(app, "bounced@example.org", status="queued", list_id=kept.list_id,
                        release_id=kept.release_id)
    with app.app_context():
        for sent in (gone, bounced):
            row = db.session.get(Delivery, sent.delivery_id)
            assert row is not None
            row.mailing_id = kept.mailing_id
        mailing = db.session.get(Mailing, kept.mailing_id)
        assert mailing is not None
        mailing.status = "sending"
        db.session.commit()
        # After the freeze, before the send: one unsubscribes, one hard-bounces elsewhere.
        suppress("gone@example.org", "unsubscribed")
        suppress("bounced@example.org", "hard_bounce")
        transport = Transport()
        result = run_batches(kept.mailing_id, worker="test", composer=Composer(),
                             transport=transport, policy=SendPolicy())
        rows = {d.email: (d.status, d.skip_reason) for d in db.session.scalars(
            db.select(Delivery).where(Delivery.mailing_id == kept.mailing_id))}
    assert transport.sent == ["kept@example.org"]
    assert result.sent == 1
    assert rows == {"kept@example.org": ("sent", ""),
                    "gone@example.org": ("skipped", "unsubscribed"),
                    "bounced@example.org": ("skipped", "suppressed")}
