"""Web forms of staff accounts (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from mailer.auth.models import Role
from mailer.auth.service import MIN_PASSWORD_LENGTH
from mailer.i18n import UI_LANGUAGES, VALUE_LABELS, is_time_zone, time_zone_names

ROLE_CHOICES = [SelectChoice(role.value, VALUE_LABELS[role.value]) for role in Role]


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class TokenForm(FlaskForm):
    """A name for a new API token."""

    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


class PasswordForm(FlaskForm):
    """Change one's own password."""

    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"),
                        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(),
                                        EqualTo("new", _l("The passwords differ."))])


class UserForm(FlaskForm):
    """A new staff account."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.EDITOR.value)
    password = PasswordField(_l("Initial password"),
                             validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)])


class UserUpdateForm(FlaskForm):
    """Role and active flag of an existing account."""

    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    active = BooleanField(_l("Active"))


class ActionForm(FlaskForm):
    """A bare form for buttons that change state (revoke, log out): just the CSRF token."""


# The empty choice stores NULL: the language then follows the browser, the zone is UTC.
FOLLOW = ""


class PreferencesForm(FlaskForm):
    """The staff UI's language and the time zone its dates are shown in."""

    ui_language = SelectField(_l("Language"), default=FOLLOW)
    time_zone = SelectField(_l("Time zone"), default=FOLLOW, validate_choice=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Each language in its own name, so anyone can find theirs whatever the UI shows now.
        self.ui_language.choices = [SelectChoice(FOLLOW, _l("Follow my browser")),
                                    *(SelectChoice(code, name)
                                      for code, name in UI_LANGUAGES.items())]
        self.time_zone.choices = [SelectChoice(FOLLOW, _l("UTC (default)")),
                                  *(SelectChoice(name, name.replace("_", " "))
                                    for name in time_zone_names())]

    def validate_time_zone(self, field: SelectField) -> None:
        """Only IANA names this machine knows (a stale or typed value is refused)."""
        if field.data and not is_time_zone(field.data):
            raise ValidationError(_l("Choose a time zone from the list, e.g. Asia/Almaty."))

    def chosen(self) -> tuple[str | None, str | None]:
        """The language and zone to store (None: follow the browser / UTC)."""
        return self.ui_language.data or None, self.time_zone.data or None
