"""The import wizard: upload → column mapping with a preview → options → run → report.

Editors and up on every step, GET included (the policy would let viewers see the pages). The
upload waits between steps in the instance folder (``uploads``), named by a token kept in the
session; the import itself is the same engine as the API's, given the mapping chosen here.
"""

from __future__ import annotations

import contextlib

from flask import Blueprint, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from mailer.auth.models import Role
from mailer.auth.policy import requires, signed_in_staff
from mailer.contacts.importing import service, uploads
from mailer.contacts.importing.columns import Mapping, check_mapping
from mailer.contacts.importing.forms import FIELD_LABELS, MappingForm, OptionsForm, UploadForm
from mailer.contacts.importing.report import ImportReport
from mailer.errors import Invalid, MailerError, NotFound

bp = Blueprint("contacts_import", __name__, url_prefix="/contacts/import")

SESSION_KEY = "contact_import"
MAX_COLUMNS = 100


def _pending() -> uploads.PendingImport:
    return uploads.load(session.get(SESSION_KEY), signed_in_staff().id)


def _preview(pending: uploads.PendingImport) -> service.Preview:
    with uploads.csv_path(pending).open("rb") as stream:
        return service.preview_file(stream)


def _waiting(pending: uploads.PendingImport) -> uploads.PendingImport:
    """The run, if its file is still waiting to be imported (not yet run, not cleaned up)."""
    if pending.report is not None or not uploads.csv_path(pending).exists():
        raise NotFound(gettext(
            "This file has already been imported. Upload a file to import more."))
    return pending


@bp.get("")
@requires(Role.EDITOR)
def upload_form() -> ResponseReturnValue:
    """Step 1: choose a CSV file."""
    return render_template("web/contacts/import/upload.html", form=UploadForm(),
                           fields=FIELD_LABELS, max_bytes=service.max_bytes())


@bp.post("")
@requires(Role.EDITOR)
def upload() -> ResponseReturnValue:
    """Keep the uploaded file, check it as the import will, and go on to the mapping."""
    form = UploadForm()
    status = 422
    if form.validate_on_submit():
        file = form.file.data
        pending = None
        try:
            pending = uploads.store_upload(file.stream, file.filename or "upload.csv",
                                           signed_in_staff().id, service.max_bytes())
            columns = len(_preview(pending).mapping.header)
            if columns > MAX_COLUMNS:
                raise Invalid(gettext("The file has %(n)s columns; the wizard maps at most "
                                      "%(max)s.", n=columns, max=MAX_COLUMNS),
                              fields={"file": gettext("too many columns")})
        except MailerError as exc:
            if pending is not None:
                uploads.discard(pending)
            form.file.errors = [exc.message]
            status = exc.status
        else:
            session[SESSION_KEY] = pending.token
            return redirect(url_for("contacts_import.mapping"))
    return render_template("web/contacts/import/upload.html", form=form, fields=FIELD_LABELS,
                           max_bytes=service.max_bytes()), status


def _mapping_page(pending: uploads.PendingImport, preview: service.Preview, form: MappingForm,
                  status: int = 200) -> ResponseReturnValue:
    return render_template("web/contacts/import/mapping.html", pending=pending,
                           preview=preview, form=form), status


@bp.get("/mapping")
@requires(Role.EDITOR)
def mapping() -> ResponseReturnValue:
    """Step 2: map each column to a field (pre-filled from the header), with a preview."""
    pending = _waiting(_pending())
    preview = _preview(pending)
    if pending.mapping is not None:
        preview.mapping = Mapping(preview.mapping.header, tuple(pending.mapping))
    return _mapping_page(pending, preview, MappingForm.for_columns(preview.mapping))


@bp.post("/mapping")
@requires(Role.EDITOR)
def save_mapping() -> ResponseReturnValue:
    """Check the chosen mapping and go on to the options."""
    pending = _waiting(_pending())
    preview = _preview(pending)
    form = MappingForm.for_columns(preview.mapping)
    if form.validate_on_submit():
        chosen = form.chosen(len(preview.mapping.header))
        problems = check_mapping(chosen)
        if not problems:
            pending.mapping = chosen
            uploads.save(pending)
            return redirect(url_for("contacts_import.options"))
        for index, why in problems.items():
            form[f"column_{index}"].errors = [why]
    return _mapping_page(pending, preview, form, status=422)


def _options_page(pending: uploads.PendingImport, form: OptionsForm,
                  status: int = 200) -> ResponseReturnValue:
    return render_template("web/contacts/import/options.html", pending=pending, form=form,
                           fields=FIELD_LABELS), status


@bp.get("/options")
@requires(Role.EDITOR)
def options() -> ResponseReturnValue:
    """Step 3: the target list and whether existing journalists are updated."""
    pending = _waiting(_pending())
    if pending.mapping is None:
        return redirect(url_for("contacts_import.mapping"))
    form = OptionsForm()
    form.set_lists(service.list_choices())
    return _options_page(pending, form)


@bp.post("/options")
@requires(Role.EDITOR)
def run() -> ResponseReturnValue:
    """Step 4: run the import with the chosen mapping and options, then show the report."""
    pending = _waiting(_pending())
    if pending.mapping is None:
        return redirect(url_for("contacts_import.mapping"))
    form = OptionsForm()
    form.set_lists(service.list_choices())
    if not form.validate_on_submit():
        return _options_page(pending, form, status=422)
    list_id = int(form.list_id.data) if form.list_id.data else None
    new_list = (form.new_list.data or "").strip() or None
    if list_id is not None and new_list:
        form.new_list.errors = [gettext("Choose an existing list or name a new one, not both.")]
        return _options_page(pending, form, status=422)
    chosen = service.ImportOptions(filename=pending.filename, list_id=list_id,
                                    list_name=new_list,
                                    update_existing=bool(form.update_existing.data),
                                    mapping=tuple(pending.mapping))
    try:
        with uploads.csv_path(pending).open("rb") as stream:
            outcome = service.import_contacts(stream, chosen)
    except MailerError as exc:
        if exc.status >= 500:
            raise
        form.form_errors.append(exc.message)
        return _options_page(pending, form, status=exc.status)
    uploads.finish(pending, outcome.as_dict())
    return redirect(url_for("contacts_import.report"))


@bp.get("/report")
@requires(Role.EDITOR)
def report() -> ResponseReturnValue:
    """Step 5: what was imported, and every rejected row with its reason."""
    pending = _pending()
    if pending.report is None:
        return redirect(url_for("contacts_import.options"))
    outcome = ImportReport.from_dict(pending.report)
    return render_template("web/contacts/import/report.html", report=outcome,
                           list_name=service.list_name(outcome.list_id))


@bp.post("/cancel")
@requires(Role.EDITOR)
def cancel() -> ResponseReturnValue:
    """Forget the uploaded file and start again."""
    with contextlib.suppress(NotFound):
        uploads.discard(_pending())
    session.pop(SESSION_KEY, None)
    return redirect(url_for("contacts_import.upload_form"))
