"""The lists pages: all lists with member counts; one list, its members, rename and delete."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from mailer.auth.forms import ActionForm
from mailer.contacts import lists, service
from mailer.contacts.filtering import ContactFilter, Sort
from mailer.contacts.forms import ListForm, attach_errors
from mailer.errors import MailerError
from mailer.http import parse_id

bp = Blueprint("lists", __name__, url_prefix="/lists")

MEMBERS_PER_PAGE = 50


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return parse_id(raw) or 1


def _index(form: ListForm | None = None, status: int = 200) -> ResponseReturnValue:
    result = lists.list_lists(_page_arg(), 100)
    return render_template("web/contacts/lists.html", page=result,
                           form=form or ListForm(formdata=None)), status


@bp.get("/")
def index() -> ResponseReturnValue:
    """Every list with its member count, and a form for a new one."""
    return _index()


@bp.post("/")
def create() -> ResponseReturnValue:
    """Create a list."""
    form = ListForm()
    if form.validate_on_submit():
        try:
            row = lists.create_list({"name": form.name.data, "description": form.description.data})
        except MailerError as exc:
            attach_errors(form, exc.fields, exc.message)
        else:
            flash(gettext("List “%(name)s” created. Add journalists from the Journalists table.",
                          name=row.name),
                  "info")
            return redirect(url_for("lists.show", list_id=row.id))
    return _index(form, status=422)


def _show(list_id: int, form: ListForm | None = None, status: int = 200) -> ResponseReturnValue:
    view = lists.get_list_view(list_id)
    if form is None:
        form = ListForm(formdata=None, name=view.contact_list.name,
                        description=view.contact_list.description)
    members = service.list_contacts(ContactFilter(list_ids=(list_id,)), Sort(), _page_arg(),
                                    MEMBERS_PER_PAGE)
    return render_template("web/contacts/list.html", view=view, form=form, members=members,
                           action_form=ActionForm(),
                           segments=lists.segments_using(list_id)), status


@bp.get("/<int:list_id>")
def show(list_id: int) -> ResponseReturnValue:
    """One list: its members (paged), rename, delete."""
    return _show(list_id)


@bp.post("/<int:list_id>")
def update(list_id: int) -> ResponseReturnValue:
    """Rename a list or change its description."""
    form = ListForm()
    if form.validate_on_submit():
        try:
            lists.update_list(list_id, {"name": form.name.data,
                                        "description": form.description.data})
        except MailerError as exc:
            attach_errors(form, exc.fields, exc.message)
        else:
            flash(gettext("List saved."), "info")
            return redirect(url_for("lists.show", list_id=list_id))
    return _show(list_id, form, status=422)


@bp.post("/<int:list_id>/delete")
def delete(list_id: int) -> ResponseReturnValue:
    """Delete a list (its journalists stay)."""
    if ActionForm().validate_on_submit():
        name = lists.get_list(list_id).name
        try:
            lists.delete_list(list_id)
        except MailerError as exc:
            flash(exc.message, "error")
            return redirect(url_for("lists.show", list_id=list_id))
        flash(gettext("List “%(name)s” deleted; its journalists were kept.", name=name), "info")
    return redirect(url_for("lists.index"))


@bp.post("/<int:list_id>/members/<int:contact_id>/remove")
def remove_member(list_id: int, contact_id: int) -> ResponseReturnValue:
    """Take one journalist off the list."""
    if ActionForm().validate_on_submit():
        lists.remove_member(list_id, contact_id)
        flash(gettext("Removed from the list."), "info")
    return redirect(url_for("lists.show", list_id=list_id))
