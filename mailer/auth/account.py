"""A staff member's own account: language and time zone, API tokens and password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, refresh
from flask_login import login_user

from mailer import i18n
from mailer.auth import service
from mailer.auth.forms import ActionForm, PasswordForm, PreferencesForm, TokenForm
from mailer.auth.models import User
from mailer.auth.policy import safe_next_path, signed_in_staff

bp = Blueprint("account", __name__, url_prefix="/account")


def _me() -> User:
    return signed_in_staff()


def _page(token_form: TokenForm | None = None, password_form: PasswordForm | None = None,
          preferences_form: PreferencesForm | None = None, new_token: str | None = None,
          status: int = 200) -> ResponseReturnValue:
    user = _me()
    return render_template(
        "web/auth/account.html",
        user=user,
        preferences_form=preferences_form or PreferencesForm(
            formdata=None, ui_language=user.ui_language or "", time_zone=user.time_zone or ""),
        token_form=token_form or TokenForm(formdata=None),
        password_form=password_form or PasswordForm(formdata=None),
        action_form=ActionForm(),
        new_token=new_token,
    ), status


@bp.get("/")
def show() -> ResponseReturnValue:
    """The account page."""
    return _page()


@bp.post("/preferences")
def save_preferences() -> ResponseReturnValue:
    """Choose the UI language and time zone; the top bar's language switch posts here too."""
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _page(preferences_form=form, status=422)
    language, zone = form.chosen()
    if "time_zone" not in request.form:  # the top bar's switch sends the language only
        zone = _me().time_zone
    i18n.save_preferences(_me(), language, zone)
    refresh()  # the confirmation below is already in the new language
    flash(gettext("Language and time zone saved."), "info")
    back = safe_next_path(request.form.get("next"))
    return redirect(back or url_for("account.show"))


@bp.post("/tokens")
def create_token() -> ResponseReturnValue:
    """Create an API token and show it once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(token_form=form, status=422)
    _, token = service.issue_token(_me(), form.name.data or "")
    return _page(new_token=token)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke one of my tokens."""
    if ActionForm().validate_on_submit():
        row = service.revoke_token(_me(), token_id)
        flash(gettext("Token “%(name)s” revoked.", name=row.name), "info")
    return redirect(url_for("account.show"))


@bp.post("/password")
def change_password() -> ResponseReturnValue:
    """Change my password; every other session of mine ends."""
    form = PasswordForm()
    user = _me()
    if form.validate_on_submit():
        if service.authenticate(user.email, form.current.data or "") is None:
            form.current.errors.append(gettext("This is not your current password."))
        else:
            service.change_password(user, form.new.data or "")
            login_user(user)  # keep this browser signed in with the new session nonce
            flash(gettext("Password changed. Other sessions were signed out."), "info")
            return redirect(url_for("account.show"))
    return _page(password_form=form, status=422)
