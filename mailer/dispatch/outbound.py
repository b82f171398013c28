"""Opening the configured transport (MAILER_SMTP_URL) inside the app."""

from __future__ import annotations

from flask import current_app

from mailer.dispatch.transports import Transport, transport_from_url
from mailer.outbox.service import store_envelope


def open_transport() -> Transport:
    """The transport this instance sends through: the outbox, or an SMTP relay."""
    return transport_from_url(current_app.config["MAILER_SMTP_URL"], outbox_store=store_envelope,
                              timeout=float(current_app.config.get("MAILER_SMTP_TIMEOUT_SECONDS",
                                                                   30)))
