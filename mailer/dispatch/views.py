"""The mailing pages: list, create, language coverage, live progress, and the controls."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mailer.auth.forms import ActionForm
from mailer.auth.models import Role
from mailer.auth.policy import requires, signed_in_staff
from mailer.contacts.models import ContactList, Segment
from mailer.db import db
from mailer.dispatch import service
from mailer.dispatch.api import mailing_json
from mailer.dispatch.forms import MailingForm, TestSendForm
from mailer.dispatch.models import Delivery, Mailing
from mailer.errors import MailerError
from mailer.http import page_params
from mailer.releases.models import Release
from mailer.settings.service import (
    APPROVAL_DEFAULT_KEY,
    TRACKING_DEFAULT_KEY,
    effective_config,
)

bp = Blueprint("mailings", __name__, url_prefix="/mailings")


def _choices(form: MailingForm) -> None:
    releases = db.session.execute(select(Release.id, Release.title).order_by(Release.id.desc()))
    lists = db.session.execute(select(ContactList.id, ContactList.name).order_by(ContactList.name))
    segments = db.session.execute(select(Segment.id, Segment.name).order_by(Segment.name))
    form.release_id.choices = [(i, t) for i, t in releases]
    list_choices = [(i, n) for i, n in lists]
    form.list_ids.choices = list_choices
    form.exclude_list_ids.choices = list_choices
    form.segment_ids.choices = [(i, n) for i, n in segments]


@bp.get("/")
def index() -> ResponseReturnValue:
    """Every mailing, newest first, with its figures."""
    page, per_page = page_params()
    mailings = db.session.scalars(service.mailings_query().limit(per_page + 1)
                                  .offset((page - 1) * per_page)).all()
    rows = [(m, mailing_json(m)) for m in mailings[:per_page]]
    titles = dict(db.session.execute(select(Release.id, Release.title)).all())
    return render_template("web/mailings/index.html", rows=rows, titles=titles, page=page,
                           has_next=len(mailings) > per_page)


@bp.get("/new")
@requires(Role.EDITOR)  # the form of a change needs the role of the change
def new() -> ResponseReturnValue:
    """The form for a new mailing."""
    config = effective_config(current_app.config)
    form = MailingForm(formdata=None, release_id=request.args.get("release_id", type=int),
                       tracking=config[TRACKING_DEFAULT_KEY],
                       requires_approval=config[APPROVAL_DEFAULT_KEY])
    _choices(form)
    return render_template("web/mailings/new.html", form=form)


@bp.post("/")
def create() -> ResponseReturnValue:
    """Create a draft mailing, then show its language coverage."""
    form = MailingForm()
    _choices(form)
    if form.validate_on_submit():
        chain = [part for part in re.split(r"[,\s;]+", form.fallback_languages.data or "")
                 if part]
        try:
            mailing = service.create_mailing({
                "release_id": form.release_id.data, "list_ids": form.list_ids.data or [],
                "segment_ids": form.segment_ids.data or [],
                "exclude_list_ids": form.exclude_list_ids.data or [],
                "fallback_languages": chain, "send_at": form.send_at.data or None,
                "tracking": bool(form.tracking.data),
                "requires_approval": bool(form.requires_approval.data),
                "local_window": [form.window_start.data, form.window_end.data]
                if form.window_start.data is not None or form.window_end.data is not None
                else None}, created_by=signed_in_staff().email)
        except MailerError as exc:
            for field, reason in exc.fields.items():
                target = getattr(form, "window_end" if field == "local_window" else field, None)
                if target is not None:
                    target.errors.append(reason)
                else:
                    flash(reason, "error")
        else:
            return redirect(url_for("mailings.show", mailing_id=mailing.id))
    return render_template("web/mailings/new.html", form=form), 422


def _show(mailing: Mailing, status: int = 200, test_form: TestSendForm | None = None
          ) -> ResponseReturnValue:
    coverage = service.language_check(mailing) if mailing.status == "draft" else None
    release = db.session.get(Release, mailing.release_id)
    problems = db.session.scalars(
        select(Delivery).where(Delivery.mailing_id == mailing.id, Delivery.is_test.is_(False),
                               Delivery.status.in_(["failed", "unknown", "deferred"]))
        .order_by(Delivery.id).limit(50)).all()
    releases = db.session.execute(select(Release.id, Release.title)
                                  .order_by(Release.id.desc()).limit(200)).all()
    return render_template("web/mailings/show.html", mailing=mailing, data=mailing_json(mailing),
                           release=release, coverage=coverage, action_form=ActionForm(),
                           own_mailing=service.is_creator(mailing, signed_in_staff().email),
                           releases=releases,
                           test_form=test_form or TestSendForm(formdata=None),
                           problems=problems), status


@bp.get("/<int:mailing_id>")
def show(mailing_id: int) -> ResponseReturnValue:
    """One mailing: coverage before sending, live progress after."""
    return _show(service.get_mailing(mailing_id))


@bp.get("/<int:mailing_id>/progress.json")
def progress(mailing_id: int) -> ResponseReturnValue:
    """The figures the progress bar polls."""
    return jsonify(mailing_json(service.get_mailing(mailing_id)))


ACTIONS = {
    "send": (service.send_mailing, _l("Sending started.")),
    "pause": (service.pause_mailing, _l("Paused. Nobody gets a second copy when you resume.")),
    "resume": (service.resume_mailing, _l("Resumed.")),
    "cancel": (service.cancel_mailing,
               _l("Cancelled. Deliveries not yet started will not go out.")),
    "resend-failed": (service.resend_failed, _l("Failed and deferred deliveries queued again.")),
}


@bp.post("/<int:mailing_id>/<any(send, pause, resume, cancel, 'resend-failed'):action>")
def control(mailing_id: int, action: str) -> ResponseReturnValue:
    """Send, pause, resume or cancel; errors are shown on the mailing's page."""
    if not ActionForm().validate_on_submit():
        flash(gettext("The form expired. Try again."), "error")
        return redirect(url_for("mailings.show", mailing_id=mailing_id))
    run, done = ACTIONS[action]
    try:
        run(mailing_id)
    except MailerError as exc:
        details = " ".join(exc.fields.values())
        flash(f"{exc.message} {details}".strip(), "error")
        return _show(service.get_mailing(mailing_id), status=exc.status)
    flash(str(done), "info")
    return redirect(url_for("mailings.show", mailing_id=mailing_id))


@bp.post("/<int:mailing_id>/approve")
def approve(mailing_id: int) -> ResponseReturnValue:
    """Approve a draft as the second person; refusals are shown on the mailing's page."""
    if not ActionForm().validate_on_submit():
        flash(gettext("The form expired. Try again."), "error")
        return redirect(url_for("mailings.show", mailing_id=mailing_id))
    try:
        service.approve_mailing(mailing_id, signed_in_staff().email)
    except MailerError as exc:
        flash(exc.message, "error")
        return _show(service.get_mailing(mailing_id), status=exc.status)
    flash(gettext("Approved. The mailing can now be sent."), "info")
    return redirect(url_for("mailings.show", mailing_id=mailing_id))


@bp.post("/<int:mailing_id>/correction")
def correction(mailing_id: int) -> ResponseReturnValue:
    """Start a correction: a draft to exactly those who received this mailing."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("mailings.show", mailing_id=mailing_id))
    try:
        mailing = service.create_correction(mailing_id, request.form.get("release_id", type=int),
                                            created_by=signed_in_staff().email)
    except MailerError as exc:
        flash(f"{exc.message} {' '.join(exc.fields.values())}".strip(), "error")
        return redirect(url_for("mailings.show", mailing_id=mailing_id))
    flash(gettext("Correction created: check it, then send it."), "info")
    return redirect(url_for("mailings.show", mailing_id=mailing.id))


@bp.post("/<int:mailing_id>/test")
def test(mailing_id: int) -> ResponseReturnValue:
    """Send a test to staff addresses."""
    form = TestSendForm()
    mailing = service.get_mailing(mailing_id)
    if form.validate_on_submit():
        emails = [part for part in re.split(r"[,\s;]+", form.emails.data or "") if part]
        try:
            sent = service.send_test(mailing_id, emails, requested_by=signed_in_staff().email)
        except MailerError as exc:
            form.emails.errors.append(" ".join(exc.fields.values()) or exc.message)
        else:
            flash(gettext("Test sent to %(addresses)s.", addresses=", ".join(sent)), "info")
            return redirect(url_for("mailings.show", mailing_id=mailing_id))
    return _show(mailing, status=422, test_form=form)
