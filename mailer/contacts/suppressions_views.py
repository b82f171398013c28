"""The suppression list page: who may not be mailed, why and since when; add; remove (admins)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from mailer.auth.models import Role
from mailer.auth.policy import requires
from mailer.contacts import suppressions
from mailer.contacts.forms import SuppressionForm, UnsuppressForm, attach_errors
from mailer.contacts.models import SuppressionReason
from mailer.errors import Invalid, MailerError
from mailer.http import parse_id
from mailer.i18n import value_label

bp = Blueprint("suppressions", __name__, url_prefix="/suppressions")


def _index(form: SuppressionForm | None = None, status: int = 200) -> ResponseReturnValue:
    raw_page = request.args.get("page", "")
    page = parse_id(raw_page) or 1
    q = request.args.get("q", "").strip()[:200]
    reason = request.args.get("reason", "")
    try:
        result = suppressions.list_suppressions(q, reason, page, 50)
    except Invalid:
        reason = ""
        result = suppressions.list_suppressions(q, "", page, 50)
    return render_template("web/contacts/suppressions.html", page=result, q=q, reason=reason,
                           reasons=[r.value for r in SuppressionReason],
                           form=form or SuppressionForm(formdata=None,
                                                        email=request.args.get("email", "")),
                           remove_form=UnsuppressForm(formdata=None)), status


@bp.get("/")
def index() -> ResponseReturnValue:
    """The suppression list, newest first, and a form to add an address."""
    return _index()


@bp.post("/")
def create() -> ResponseReturnValue:
    """Suppress an address (an existing entry keeps its first reason)."""
    form = SuppressionForm()
    if form.validate_on_submit():
        try:
            added = suppressions.suppress(form.email.data, form.reason.data,
                                          form.detail.data or "")
        except MailerError as exc:
            attach_errors(form, exc.fields, exc.message)
        else:
            row = added.suppression
            reason = value_label(row.reason)
            flash(gettext("%(email)s is suppressed (%(reason)s).", email=row.email, reason=reason)
                  if added.created else
                  gettext("%(email)s was already suppressed (%(reason)s); the first reason is "
                          "kept.", email=row.email or gettext("This address"), reason=reason),
                  "info")
            return redirect(url_for("suppressions.index"))
    return _index(form, status=422)


@bp.post("/remove")
@requires(Role.ADMIN)
def remove() -> ResponseReturnValue:
    """Let an address be mailed again (admins only)."""
    form = UnsuppressForm()
    if form.validate_on_submit():
        try:
            suppressions.unsuppress(form.email.data or "")
        except MailerError as exc:
            flash(exc.message, "error")
        else:
            flash(gettext("%(email)s may be mailed again.", email=form.email.data), "info")
    return redirect(url_for("suppressions.index"))
