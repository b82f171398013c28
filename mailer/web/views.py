"""The dashboard and the general staff actions."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from mailer.auth.models import Role
from mailer.auth.policy import current_staff
from mailer.dispatch import test_email
from mailer.dispatch.transports import describe_transport_url
from mailer.errors import MailerError
from mailer.outbox import service as outbox
from mailer.web import dashboard as home
from mailer.web.forms import TestEmailForm

bp = Blueprint("web", __name__)


def _dashboard(form: TestEmailForm | None = None, status: int = 200) -> ResponseReturnValue:
    config = current_app.config
    user = current_staff()
    waiting, waiting_total = home.waiting_releases()
    return render_template(
        "web/dashboard.html",
        mailings=home.recent_mailings(),
        waiting=waiting,
        waiting_total=waiting_total,
        attention=home.attention(),
        has_contacts=home.has_contacts(),
        has_releases=home.has_releases(),
        can_edit=user is not None and user.role_enum.allows(Role.EDITOR),
        form=form or TestEmailForm(formdata=None, email=user.email if user else ""),
        transport=describe_transport_url(config["MAILER_SMTP_URL"]),
        outbox_mode=config["MAILER_SMTP_URL"].startswith("outbox:"),
        embedded_broker=config["MAILER_EMBEDDED_BROKER"],
        outbox_messages=outbox.recent_messages(limit=5),
    ), status


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """The home page of a signed-in staff member."""
    return _dashboard()


@bp.post("/test-email")
def send_test_email() -> ResponseReturnValue:
    """Queue one test email to the given address."""
    form = TestEmailForm()
    user = current_staff()
    if form.validate_on_submit() and user is not None:
        try:
            address = test_email.queue_test_email(form.email.data or "", requested_by=user.email)
        except MailerError as exc:
            form.email.errors.append(exc.fields.get("email", exc.message))
        else:
            if current_app.config["MAILER_SMTP_URL"].startswith("outbox:"):
                done = gettext("Test email to %(address)s queued; it will appear in the outbox "
                               "in a moment.", address=address)
            else:
                done = gettext("Test email to %(address)s queued; it will reach the SMTP relay "
                               "in a moment.", address=address)
            flash(done, "info")
            return redirect(url_for("web.dashboard"))
    return _dashboard(form, status=422)
