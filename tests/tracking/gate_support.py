"""Stand-ins for the composer and the SMTP transport, for pipeline tests about the ledger."""

from __future__ import annotations

from collections.abc import Sequence

from mailer.dispatch.ledger import ClaimedDelivery
from mailer.dispatch.transports import Envelope, SendResult


class Composer:
    def prepare(self, batch: Sequence[ClaimedDelivery]) -> None:
        """Nothing to load."""

    def compose(self, delivery: ClaimedDelivery) -> Envelope:
        return Envelope("bounce@example.org", (delivery.email,), b"Subject: x\r\n\r\nx\r\n")


class Transport:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, envelope: Envelope) -> SendResult:
        self.sent.extend(envelope.recipients)
        return SendResult(envelope.recipients, {}, (250, "ok"))

    def close(self) -> None:
        """Nothing to close."""
