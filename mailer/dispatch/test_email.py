"""Test emails: one message to a staff address, to check that sending works end to end."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime, make_msgid, parseaddr

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from flask_babel import gettext

from mailer.db import utcnow
from mailer.dispatch.outbound import open_transport
from mailer.dispatch.transports import Envelope, SendResult
from mailer.errors import Invalid
from mailer.settings.service import effective_config


def normalise_recipient(address: str) -> str:
    """A test recipient checked for syntax (internationalised addresses allowed, no DNS)."""
    try:
        return validate_email(address.strip(), check_deliverability=False,
                                test_environment=True).normalized
    except EmailNotValidError as exc:
        raise Invalid(gettext("The address is not valid."), fields={"email": str(exc)}) from exc


def build_test_email(to: str, *, mail_from: str, public_url: str, requested_by: str) -> Envelope:
    """The test message for ``to`` from ``templates/email/test/``, as envelope and exact bytes."""
    name, from_address = parseaddr(mail_from)
    domain = from_address.rpartition("@")[2] or "localhost"
    context = {"organisation": name or from_address, "requested_by": requested_by,
               "public_url": public_url}
    message = EmailMessage(policy=SMTPUTF8)
    message["From"] = Address(display_name=name, addr_spec=from_address)
    message["To"] = to
    message["Subject"] = render_template("email/test/subject.txt", **context).strip()
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(idstring="test", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_template("email/test/body.txt", **context) + "\n")
    message.add_alternative(render_template("email/test/body.html", **context) + "\n",
                            subtype="html")
    return Envelope(mail_from=from_address, recipients=(to,), data=message.as_bytes())


def send_test_email(to: str, requested_by: str) -> SendResult:
    """Build and send one test message through the configured transport."""
    config = effective_config(current_app.config)
    envelope = build_test_email(
        normalise_recipient(to),
        mail_from=config["MAILER_FROM"],
        public_url=config["MAILER_PUBLIC_URL"],
        requested_by=requested_by,
    )
    with open_transport() as transport:
        return transport.send(envelope)


def queue_test_email(to: str, requested_by: str) -> str:
    """Validate ``to`` and hand the test send to a worker; returns the normalised address."""
    address = normalise_recipient(to)
    celery = current_app.extensions["celery"]
    celery.send_task("dispatch.send_test_email", args=[address, requested_by])
    return address
