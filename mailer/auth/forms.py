"""Web forms of staff accounts (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from mailer.auth.models import Role
from mailer.auth.service import MIN_PASSWORD_LENGTH

ROLE_CHOICES = [role.value for role in Role]


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class TokenForm(FlaskForm):
    """A name for a new API token."""

    name = StringField("Token name", validators=[DataRequired(), Length(max=100)])


class PasswordForm(FlaskForm):
    """Change one's own password."""

    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password",
                        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)])
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("new", "The passwords differ.")])


class UserForm(FlaskForm):
    """A new staff account."""

    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    name = StringField("Name", validators=[Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.EDITOR.value)
    password = PasswordField("Initial password",
                             validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)])


class UserUpdateForm(FlaskForm):
    """Role and active flag of an existing account."""

    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active")


class ActionForm(FlaskForm):
    """A bare form for buttons that change state (revoke, log out): just the CSRF token."""
