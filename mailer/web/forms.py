"""Forms of the general staff pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class TestEmailForm(FlaskForm):
    """Where to send a test message."""

    email = StringField(_l("Send a test email to"), validators=[DataRequired(), Length(max=320)])
