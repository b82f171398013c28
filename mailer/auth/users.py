"""Staff accounts administration (admins only, by the access policy)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from mailer.auth import service
from mailer.auth.forms import ActionForm, UserForm, UserUpdateForm
from mailer.auth.policy import current_staff
from mailer.errors import MailerError
from mailer.i18n import value_label

bp = Blueprint("users", __name__, url_prefix="/users")


def _page(form: UserForm | None = None, status: int = 200) -> ResponseReturnValue:
    users = service.list_users()
    update_forms = {u.id: UserUpdateForm(formdata=None, role=u.role, active=u.active)
                    for u in users}
    return render_template("web/auth/users.html", users=users, form=form or UserForm(formdata=None),
                           update_forms=update_forms, action_form=ActionForm()), status


@bp.get("/")
def index() -> ResponseReturnValue:
    """Every staff account, and a form to add one."""
    return _page()


@bp.post("/")
def create() -> ResponseReturnValue:
    """Add a staff account."""
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = service.create_user(form.email.data or "", form.password.data or "",
                                       form.role.data or "viewer", form.name.data or "")
        except MailerError as exc:
            for field, reason in exc.fields.items():
                getattr(form, field).errors.append(reason)
        else:
            flash(gettext("%(email)s can now sign in as %(role)s.", email=user.email,
                          role=value_label(user.role_enum.value)), "info")
            return redirect(url_for("users.index"))
    return _page(form, status=422)


@bp.post("/<int:user_id>")
def update(user_id: int) -> ResponseReturnValue:
    """Change an account's role or disable it."""
    form = UserUpdateForm()
    if form.validate_on_submit():
        user = service.get_user(user_id)
        try:
            service.update_user(user, role=form.role.data, active=form.active.data,
                                acting=current_staff())
        except MailerError as exc:
            flash(exc.message, "error")
        else:
            flash(gettext("%(email)s updated.", email=user.email), "info")
    return redirect(url_for("users.index"))
