"""Forms of the general staff pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class TestEmailForm(FlaskForm):
    """Where to send a test message."""

    email = StringField("Send a test email to", validators=[DataRequired(), Length(max=320)])
