"""An unexpected error in the middle of a batch gives the untried deliveries back at once.

Without it they stay ``claimed`` until the claim timeout (two minutes by default) before the
sweep recovers them: a Redis restart that broke the rate limiter stalled a mailing that long.
"""

from __future__ import annotations

from flask import Flask

from mailer.dispatch.transports import Envelope, SendResult
from tests.tracking.gate_support import Composer
from tests.tracking.support import make_sent


class BreaksOnTheSecond:
    """Accepts the first message, then fails in a way no transport error describes."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, envelope: Envelope) -> SendResult:
        if self.sent:
            raise RuntimeError("the transport broke")
        self.sent.extend(envelope.recipients)
        return SendResult(envelope.recipients, {}, (250, "ok"))

    def close(self) -> None:
        """Nothing to close."""


def test_untried_deliveries_go_back_to_the_queue_after_an_unexpected_error(app: Flask) -> None:
    import pytest

    from mailer.db import db
    from mailer.dispatch.models import Delivery, Mailing
    from mailer.dispatch.pipeline import SendPolicy, run_batches

    first = make_sent(app, "first@example.org", status="queued")
    others = [make_sent(app, f"{name}@example.org", status="queued", list_id=first.list_id,
                        release_id=first.release_id) for name in ("second", "third", "fourth")]
    with app.app_context():
        for sent in others:
            row = db.session.get(Delivery, sent.delivery_id)
            assert row is not None
            row.mailing_id = first.mailing_id
        mailing = db.session.get(Mailing, first.mailing_id)
        assert mailing is not None
        mailing.status = "sending"
        db.session.commit()
        transport = BreaksOnTheSecond()
        with pytest.raises(RuntimeError):
            run_batches(first.mailing_id, worker="test", composer=Composer(),
                        transport=transport, policy=SendPolicy())
        db.session.expire_all()
        rows = {d.email: d.status for d in db.session.scalars(
            db.select(Delivery).where(Delivery.mailing_id == first.mailing_id))}
    assert transport.sent == ["first@example.org"]
    assert rows == {
        "first@example.org": "sent",        # its outcome was committed on the way out
        "second@example.org": "sending",    # started: its message may have left; never resent
        "third@example.org": "queued",      # given back at once
        "fourth@example.org": "queued",
    }
