"""Forms of the import wizard (Flask-WTF: each carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from mailer.contacts.importing.columns import FIELDS, Mapping

IGNORE = ""

# The importable fields as the wizard names them, in the staff UI's language (``FIELDS`` keeps
# the English names the command line prints).
FIELD_LABELS = {
    "email": _l("Email"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "outlet": _l("Outlet"),
    "beat": _l("Beat"),
    "role": _l("Role"),
    "country": _l("Country (ISO code)"),
    "language": _l("Language"),
    "languages": _l("Other languages (ranked)"),
    "timezone": _l("Time zone"),
    "phone": _l("Phone"),
    "tags": _l("Tags (separated by ;)"),
    "notes": _l("Notes"),
    "tracking": _l("Tracking (yes/no)"),
}
assert FIELD_LABELS.keys() == FIELDS.keys(), "every importable field needs a label"  # noqa: S101

FIELD_CHOICES = [SelectChoice(IGNORE, _l("— ignore this column —")),
                 *(SelectChoice(key, label) for key, label in FIELD_LABELS.items())]


class UploadForm(FlaskForm):
    """The CSV file to import."""

    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file to import."))])


class MappingForm(FlaskForm):
    """Which field each column fills: one select per column, named ``column_<position>``."""

    @classmethod
    def for_columns(cls, mapping: Mapping) -> MappingForm:
        """A form with one select per column of the file, set to ``mapping`` unless posted."""
        attributes = {
            f"column_{index}": SelectField(_l("Column %(n)s: %(name)s", n=index + 1,
                                              name=name or _l("(no name)")),
                                           choices=FIELD_CHOICES, default=field or IGNORE)
            for index, (name, field) in enumerate(zip(mapping.header, mapping.fields,
                                                      strict=True))
        }
        form_class = type("FileMappingForm", (cls,), attributes)
        form: MappingForm = form_class()
        return form

    def chosen(self, width: int) -> list[str | None]:
        """The field chosen for each column (``None``: ignored)."""
        return [self[f"column_{index}"].data or None for index in range(width)]


class OptionsForm(FlaskForm):
    """Where the contacts go and what happens to those that already exist."""

    list_id = SelectField(_l("Add the imported journalists to the list"), choices=[],
                          default="")
    new_list = StringField(_l("…or to a new list named"), validators=[Length(max=200)])
    update_existing = BooleanField(
        _l("Update journalists who are already in the database (non-empty cells only)"))

    def set_lists(self, lists: list[tuple[int, str]]) -> None:
        """Offer the existing lists."""
        self.list_id.choices = [SelectChoice("", _l("— no list —")),
                                *(SelectChoice(str(i), name) for i, name in lists)]
