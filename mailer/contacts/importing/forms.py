"""Forms of the import wizard (Flask-WTF: each carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from mailer.contacts.importing.columns import FIELDS, Mapping

IGNORE = ""
FIELD_CHOICES = [SelectChoice(IGNORE, "— ignore this column —"),
                 *(SelectChoice(key, label) for key, label in FIELDS.items())]


class UploadForm(FlaskForm):
    """The CSV file to import."""

    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import.")])


class MappingForm(FlaskForm):
    """Which field each column fills: one select per column, named ``column_<position>``."""

    @classmethod
    def for_columns(cls, mapping: Mapping) -> MappingForm:
        """A form with one select per column of the file, set to ``mapping`` unless posted."""
        attributes = {
            f"column_{index}": SelectField(f"Column {index + 1}: {name or '(no name)'}",
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

    list_id = SelectField("Add the imported journalists to the list", choices=[],
                          default="")
    new_list = StringField("…or to a new list named", validators=[Length(max=200)])
    update_existing = BooleanField(
        "Update journalists who are already in the database (non-empty cells only)")

    def set_lists(self, lists: list[tuple[int, str]]) -> None:
        """Offer the existing lists."""
        self.list_id.choices = [SelectChoice("", "— no list —"),
                                *(SelectChoice(str(i), name) for i, name in lists)]
