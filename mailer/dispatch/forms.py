"""Web forms of mailings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class MailingForm(FlaskForm):
    """A new mailing: which release, to whom, in which languages, when."""

    release_id = SelectField("Release", coerce=int, validators=[DataRequired()])
    list_ids = SelectMultipleField("Lists", coerce=int, validators=[Optional()])
    segment_ids = SelectMultipleField("Segments", coerce=int, validators=[Optional()])
    exclude_list_ids = SelectMultipleField("Leave out these lists", coerce=int,
                                           validators=[Optional()])
    fallback_languages = StringField(
        "Fallback languages, in order", validators=[Optional(), Length(max=200)],
        description="For journalists who read none of the translated languages, e.g. “ru, en”.")
    send_at = StringField("Send at (optional)", validators=[Optional(), Length(max=40)],
                          description="ISO time with offset, e.g. 2026-12-01T09:00:00+05:00.")
    window_start = IntegerField("Deliver from (local hour)", validators=[Optional(),
                                                                       NumberRange(0, 23)])
    window_end = IntegerField("until (local hour)", validators=[Optional(), NumberRange(1, 24)],
                              description="Leave empty to send at once. With 9 and 11, each "
                                          "journalist gets it between 9:00 and 11:00 where "
                                          "they live.")
    tracking = BooleanField("Track opens and clicks", default=True)


class TestSendForm(FlaskForm):
    """Addresses for a test send."""

    emails = StringField("Send a test to", validators=[DataRequired(), Length(max=2000)],
                         description="Staff addresses, separated by commas.")
