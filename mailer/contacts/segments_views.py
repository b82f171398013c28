"""The segments pages: saved filters, what each selects now, create, change, delete."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from mailer.auth.forms import ActionForm
from mailer.contacts import lists, segments
from mailer.contacts.forms import SegmentForm, attach_errors, choices
from mailer.errors import MailerError

bp = Blueprint("segments", __name__, url_prefix="/segments")


def _form(formdata: bool = True) -> SegmentForm:
    form = SegmentForm() if formdata else SegmentForm(formdata=None)
    form.list_id.choices = choices((row.id, row.name) for row in lists.all_lists())
    return form


def _index(form: SegmentForm | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("web/contacts/segments.html", page=segments.list_segments(1, 500),
                           form=form or _form(formdata=False),
                           list_names={row.id: row.name for row in lists.all_lists()}), status


@bp.get("/")
def index() -> ResponseReturnValue:
    """Every saved segment, and a form for a new one."""
    return _index()


@bp.post("/")
def create() -> ResponseReturnValue:
    """Save a segment."""
    form = _form()
    if form.validate_on_submit():
        try:
            segment = segments.create_segment({"name": form.name.data,
                                               "description": form.description.data,
                                               "filters": form.filters()})
        except MailerError as exc:
            attach_errors(form, exc.fields, exc.message)
        else:
            flash(gettext("Segment “%(name)s” saved.", name=segment.name), "info")
            return redirect(url_for("segments.show", segment_id=segment.id))
    return _index(form, status=422)


def _show(segment_id: int, form: SegmentForm | None = None,
          status: int = 200) -> ResponseReturnValue:
    segment = segments.get_segment(segment_id)
    if form is None:
        form = _form(formdata=False)
        form.name.data, form.description.data = segment.name, segment.description
        form.fill_from(segment.filters or {})
    return render_template("web/contacts/segment.html", segment=segment, form=form,
                           preview=segments.preview(segment.filters or {}),
                           list_names={row.id: row.name for row in lists.all_lists()},
                           action_form=ActionForm()), status


@bp.get("/<int:segment_id>")
def show(segment_id: int) -> ResponseReturnValue:
    """One segment: how many journalists it selects now, the first of them, its filters."""
    return _show(segment_id)


@bp.post("/<int:segment_id>")
def update(segment_id: int) -> ResponseReturnValue:
    """Change a segment."""
    form = _form()
    if form.validate_on_submit():
        try:
            segments.update_segment(segment_id, {"name": form.name.data,
                                                 "description": form.description.data,
                                                 "filters": form.filters()})
        except MailerError as exc:
            attach_errors(form, exc.fields, exc.message)
        else:
            flash(gettext("Segment saved."), "info")
            return redirect(url_for("segments.show", segment_id=segment_id))
    return _show(segment_id, form, status=422)


@bp.post("/<int:segment_id>/delete")
def delete(segment_id: int) -> ResponseReturnValue:
    """Delete a segment."""
    if ActionForm().validate_on_submit():
        segments.delete_segment(segment_id)
        flash(gettext("Segment deleted."), "info")
    return redirect(url_for("segments.index"))
