"""Web forms of mailings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class MailingForm(FlaskForm):
    """A new mailing: which release, to whom, in which languages, when."""

    release_id = SelectField(_l("Release"), coerce=int, validators=[DataRequired()])
    list_ids = SelectMultipleField(_l("Lists"), coerce=int, validators=[Optional()])
    segment_ids = SelectMultipleField(_l("Segments"), coerce=int, validators=[Optional()])
    exclude_list_ids = SelectMultipleField(_l("Leave out these lists"), coerce=int,
                                           validators=[Optional()])
    fallback_languages = StringField(
        _l("Fallback languages, in order"), validators=[Optional(), Length(max=200)],
        description=_l("For journalists who read none of the translated languages, "
                       "e.g. “ru, en”."))
    send_at = StringField(_l("Send at (optional)"), validators=[Optional(), Length(max=40)],
                          description=_l("ISO time with offset, e.g. 2026-12-01T09:00:00+05:00."))
    window_start = IntegerField(_l("Deliver from (local hour)"), validators=[Optional(),
                                                                       NumberRange(0, 23)])
    window_end = IntegerField(_l("until (local hour)"), validators=[Optional(), NumberRange(1, 24)],
                              description=_l("Leave empty to send at once. With 9 and 11, "
                                             "each journalist gets it between 9:00 and 11:00 "
                                             "where they live."))
    tracking = BooleanField(_l("Track opens and clicks"), default=True)
    requires_approval = BooleanField(
        _l("Needs a second person's approval before sending"),
        description=_l("Another editor or admin must approve it; test sends stay possible."))


class TestSendForm(FlaskForm):
    """Addresses for a test send."""

    emails = StringField(_l("Send a test to"), validators=[DataRequired(), Length(max=2000)],
                         description=_l("Staff addresses, separated by commas."))
