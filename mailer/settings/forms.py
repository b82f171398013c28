"""The settings form (checked in depth by mailer.settings.service, which gives field errors)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length


class SettingsForm(FlaskForm):
    """Sender identity, sending rates, tracking and approval defaults; empty means the default."""

    from_name = StringField(_l("From name"), validators=[Length(max=200)])
    from_address = StringField(_l("From address"), validators=[Length(max=320)])
    reply_to = StringField(_l("Reply-To address"), validators=[Length(max=320)])
    rate = StringField(_l("Sending rate, all domains"), validators=[Length(max=40)])
    domain_rates = TextAreaField(_l("Sending rates per domain"),
                                 validators=[Length(max=4000)])
    track_by_default = BooleanField(_l("Track opens and clicks in new mailings"))
    approval_by_default = BooleanField(_l("Mailings need a second person's approval"))

    def values(self) -> dict[str, object]:
        """The submitted values, as the settings service takes them."""
        return {"from_name": self.from_name.data or "",
                "from_address": self.from_address.data or "",
                "reply_to": self.reply_to.data or "",
                "rate": self.rate.data or "",
                "domain_rates": self.domain_rates.data or "",
                "track_by_default": bool(self.track_by_default.data),
                "approval_by_default": bool(self.approval_by_default.data)}
