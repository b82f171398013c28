"""The settings page: everyone from editor up sees the settings in force, admins change them."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from mailer.auth.models import Role
from mailer.auth.policy import requires, signed_in_staff
from mailer.errors import MailerError
from mailer.settings import service
from mailer.settings.forms import SettingsForm

bp = Blueprint("settings", __name__)


def _page(form: SettingsForm | None = None, status: int = 200) -> ResponseReturnValue:
    config = current_app.config
    defaults = service.environment_settings(config)
    saved = service.saved_settings()
    if form is None:
        form = SettingsForm(
            formdata=None, from_name=saved.get(service.FROM_NAME, ""),
            from_address=saved.get(service.FROM_ADDRESS, ""),
            reply_to=saved.get(service.REPLY_TO, ""), rate=saved.get(service.RATE, ""),
            domain_rates=str(saved.get(service.DOMAIN_RATES, "")).replace(",", "\n"),
            track_by_default=saved.get(service.TRACK_BY_DEFAULT, defaults.track_by_default),
            approval_by_default=saved.get(service.APPROVAL_BY_DEFAULT,
                                          defaults.approval_by_default))
    # The environment's values show as placeholders: what an empty field stands for.
    form.from_name.render_kw = {"placeholder": defaults.from_name}
    form.from_address.render_kw = {"placeholder": defaults.from_address}
    form.reply_to.render_kw = {"placeholder": defaults.reply_to}
    form.rate.render_kw = {"placeholder": defaults.rate}
    form.domain_rates.render_kw = {"placeholder": defaults.domain_rates.replace(",", "\n"),
                                   "rows": 4}
    user = signed_in_staff()
    return render_template(
        "web/settings/index.html", form=form, defaults=defaults,
        current=service.effective_settings(config), saved=saved,
        can_change=user.role_enum.allows(Role.ADMIN)), status


@bp.get("/settings")
def show() -> ResponseReturnValue:
    """The settings in force, and for admins the form to change them."""
    return _page()


@bp.post("/settings")
@requires(Role.ADMIN)
def save() -> ResponseReturnValue:
    """Save the settings (admins only); a bad field saves nothing and is shown inline."""
    form = SettingsForm()
    if form.validate_on_submit():
        try:
            changes = service.save_settings(form.values(), signed_in_staff().email,
                                            current_app.config)
        except MailerError as exc:
            for name, reason in exc.fields.items():
                getattr(form, name).errors.append(reason)
        else:
            flash(gettext("Settings saved.") if changes else gettext("Nothing changed."),
                  "info")
            return redirect(url_for("settings.show"))
    return _page(form, status=422)
