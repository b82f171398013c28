"""Signing in and out of the staff web UI."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from flask_login import login_user, logout_user

from mailer.audit import service as audit
from mailer.auth import service, throttle
from mailer.auth.forms import ActionForm, LoginForm
from mailer.auth.policy import current_staff, safe_next_path

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form, and sign in."""
    next_path = safe_next_path(request.args.get("next")) or url_for("web.dashboard")
    if current_staff() is not None:
        return redirect(next_path)
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        wait = throttle.seconds_to_wait(email, audit.client_ip())
        if wait:
            minutes = max(wait // 60, 1)
            form.password.errors.append(ngettext(
                "Too many failed attempts. Try again in %(num)d minute.",
                "Too many failed attempts. Try again in %(num)d minutes.", minutes))
            response = make_response(render_template("web/auth/login.html", form=form), 429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = service.authenticate(email, form.password.data or "")
        if user is not None:
            login_user(user)
            audit.record("auth.login", actor_email=user.email, summary="Signed in", commit=True)
            return redirect(next_path)
        audit.record("auth.login_failed", actor_email=email, summary="Wrong email or password",
                     commit=True)
        form.password.errors.append(gettext("The email or password is not right."))
    status = 200 if not form.is_submitted() else 422
    return render_template("web/auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out and end this session (CSRF-protected: a link cannot sign anyone out)."""
    form = ActionForm()
    user = current_staff()
    if form.validate_on_submit() and user is not None:
        service.end_all_sessions(user)
    logout_user()
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("auth.login"))
