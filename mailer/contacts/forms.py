"""Web forms of journalists, lists, segments and suppressions (Flask-WTF: each has a CSRF token).

The forms only collect text; the services check it (the same rules as the API), and the views
put the services' field errors back next to the fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length

from mailer.contacts.models import Contact
from mailer.contacts.suppressions import GIVEN_REASONS
from mailer.i18n import VALUE_LABELS

SHORT = [Length(max=200)]
LONG = [Length(max=10_000)]


def choices(pairs: Iterable[tuple[Any, str]]) -> list[Any]:
    """Select options as WTForms 3.3+ wants them (``SelectChoice``; tuples are deprecated)."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # WTForms before 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def split_values(text: str | None) -> list[str]:
    """Values typed on one line, separated by ``,`` or ``;``."""
    return [part.strip() for part in re.split(r"[;,]", text or "") if part.strip()]


class ContactForm(FlaskForm):
    """Every field of a journalist."""

    email = StringField(_l("Email"), validators=[Length(max=320)],
                        render_kw={"inputmode": "email", "autocomplete": "off"})
    first_name = StringField(_l("First name"), validators=SHORT)
    last_name = StringField(_l("Last name"), validators=SHORT)
    outlet = StringField(_l("Outlet"), validators=SHORT)
    beat = StringField(_l("Beat"), validators=SHORT)
    role = StringField(_l("Role"), validators=SHORT)
    country = StringField(_l("Country (ISO code, e.g. KZ)"), validators=[Length(max=10)])
    language = StringField(_l("Primary language (e.g. ru, kk-Latn)"), validators=[Length(max=35)])
    languages = StringField(_l("Also reads, most preferred first (e.g. tg, ru, en)"),
                            validators=[Length(max=400)])
    timezone = StringField(_l("Time zone (e.g. Asia/Almaty)"), validators=[Length(max=64)])
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    social = TextAreaField(_l("Social handles, one per line (network: handle)"),
                           validators=[Length(max=2000)], render_kw={"rows": 3})
    tags = StringField(_l("Tags (separated by ; or ,)"), validators=[Length(max=2000)])
    notes = TextAreaField(_l("Notes"), validators=LONG, render_kw={"rows": 4})
    tracking = BooleanField(_l("Track opens and clicks for this journalist"), default=True)

    def fill_from(self, contact: Contact) -> None:
        """Show a contact's current values."""
        for name in ("email", "first_name", "last_name", "outlet", "beat", "role", "country",
                     "language", "timezone", "phone", "notes"):
            getattr(self, name).data = getattr(contact, name)
        self.languages.data = ", ".join(contact.languages or [])
        self.social.data = "\n".join(f"{k}: {v}" for k, v in (contact.social or {}).items())
        self.tags.data = "; ".join(contact.tags)
        self.tracking.data = contact.tracking

    def values(self) -> dict[str, Any]:
        """The typed values in the service's shape (lists and objects from the text)."""
        values: dict[str, Any] = {
            name: getattr(self, name).data or ""
            for name in ("email", "first_name", "last_name", "outlet", "beat", "role",
                         "country", "language", "timezone", "phone", "notes")}
        values["languages"] = split_values(self.languages.data)
        values["tags"] = split_values(self.tags.data)
        values["tracking"] = bool(self.tracking.data)
        lines = [line.partition(":") for line in (self.social.data or "").splitlines()
                 if line.strip()]
        if all(colon and network.strip() for network, colon, _ in lines):
            values["social"] = {network.strip(): handle.strip() for network, _, handle in lines}
        else:  # not "network: handle": the service explains the expected shape
            values["social"] = self.social.data
        return values


class ListForm(FlaskForm):
    """A list's name and description."""

    name = StringField(_l("Name"), validators=SHORT)
    description = TextAreaField(_l("Description"), validators=LONG, render_kw={"rows": 2})


class AddToListForm(FlaskForm):
    """Which list the chosen contacts go to (the contacts come as ``contact_ids`` fields)."""

    target_list_id = SelectField(_l("Add to list"), coerce=int, choices=[])


class SegmentForm(FlaskForm):
    """A segment's name and its filters, several values per filter allowed."""

    name = StringField(_l("Name"), validators=SHORT)
    description = TextAreaField(_l("Description"), validators=LONG, render_kw={"rows": 2})
    language = StringField(_l("Languages (any of, e.g. ru, kk)"), validators=[Length(max=400)])
    country = StringField(_l("Countries (any of, e.g. KZ, TJ)"), validators=[Length(max=400)])
    outlet = StringField(_l("Outlets (any of, exact names, separated by ;)"),
                         validators=[Length(max=2000)])
    beat = StringField(_l("Beats (any of, separated by ;)"), validators=[Length(max=2000)])
    tag = StringField(_l("Tags (any of)"), validators=[Length(max=2000)])
    list_id = SelectMultipleField(_l("On any of these lists"), coerce=int, choices=[])

    def filters(self) -> dict[str, list[Any]]:
        """The filter object the segments service expects."""
        filters: dict[str, list[Any]] = {}
        for name in ("language", "country", "tag"):
            if values := split_values(getattr(self, name).data):
                filters[name] = values
        for name in ("outlet", "beat"):  # names may contain commas: only ; separates them
            if values := [v.strip() for v in (getattr(self, name).data or "").split(";")
                          if v.strip()]:
                filters[name] = values
        if self.list_id.data:
            filters["list_id"] = list(self.list_id.data)
        return filters

    def fill_from(self, filters: dict[str, list[Any]]) -> None:
        """Show a saved segment's filters."""
        for name in ("language", "country", "tag"):
            getattr(self, name).data = ", ".join(filters.get(name, []))
        for name in ("outlet", "beat"):
            getattr(self, name).data = "; ".join(filters.get(name, []))
        self.list_id.data = list(filters.get("list_id", []))


class SuppressionForm(FlaskForm):
    """An address to suppress, and why."""

    email = StringField(_l("Email"), validators=[Length(max=320)],
                        render_kw={"inputmode": "email", "autocomplete": "off"})
    reason = SelectField(_l("Reason"), choices=choices((r, VALUE_LABELS[r]) for r in GIVEN_REASONS),
                         default="manual")
    detail = StringField(_l("Note (optional)"), validators=[Length(max=1000)])


class UnsuppressForm(FlaskForm):
    """The address whose suppression an admin removes."""

    email = StringField(_l("Email"), validators=[Length(max=320)])


def attach_errors(form: FlaskForm, fields: dict[str, str], message: str) -> None:
    """Show a service's field errors next to the form's fields (``filters.tag`` → ``tag``)."""
    for name, reason in fields.items():
        field = getattr(form, name.rpartition(".")[2], None)
        if isinstance(field, Field):
            field.errors = [*field.errors, reason]
        else:
            form.form_errors.append(f"{name}: {reason}")
    if not fields:
        form.form_errors.append(message)
