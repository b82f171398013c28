"""The journalists pages: the table (search, filters, paging, sorting), one contact, its form."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from mailer.auth.forms import ActionForm
from mailer.auth.models import Role
from mailer.auth.policy import requires, safe_next_path
from mailer.contacts import export, lists, privacy, service
from mailer.contacts.filtering import (
    SORT_COLUMNS,
    ContactFilter,
    Sort,
    filtered_ids,
    parse_listing_args,
)
from mailer.contacts.forms import AddToListForm, ContactForm, attach_errors, choices
from mailer.contacts.models import ContactSource
from mailer.db import utcnow
from mailer.errors import Invalid, MailerError
from mailer.http import parse_id

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

PER_PAGE_CHOICES = (25, 50, 100)
FILTER_ARGS = ("q", "list_id", "language", "country", "tag", "status", "sort", "order")


def _int_arg(name: str, default: int, allowed: tuple[int, ...] | None = None) -> int:
    raw = request.args.get(name, "")
    value = parse_id(raw) or default
    return value if allowed is None or value in allowed else default


def _listing() -> tuple[ContactFilter, Sort, dict[str, str]]:
    """The filter of the current URL; bad values are reported and left out, not fatal."""
    try:
        spec, sort = parse_listing_args(request.args)
        errors: dict[str, str] = {}
    except Invalid as exc:
        errors = dict(exc.fields)
        cleaned = {k: v for k, v in request.args.items() if k not in errors}
        spec, sort = parse_listing_args(cleaned)
    return spec, sort, errors


@bp.get("/")
def index() -> ResponseReturnValue:
    """Every journalist, 50 a page: search, filters, sorting, selection for lists, export."""
    spec, sort, errors = _listing()
    per_page = _int_arg("per_page", 50, PER_PAGE_CHOICES)
    result = service.list_contacts(spec, sort, _int_arg("page", 1), per_page)
    all_lists = lists.all_lists()
    add_form = AddToListForm()
    add_form.target_list_id.choices = choices((row.id, row.name) for row in all_lists)
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and k not in errors and v}
    if per_page != 50:
        args["per_page"] = str(per_page)
    filtered = any(k in args for k in FILTER_ARGS if k not in {"sort", "order"})
    return render_template(
        "web/contacts/index.html", page=result, spec=spec, sort=sort, args=args,
        errors=errors, lists=all_lists, add_form=add_form, sort_keys=list(SORT_COLUMNS),
        filtered=filtered, total_contacts=service.count_contacts() if filtered else result.total,
    )


@bp.get("/export")
def export_csv() -> ResponseReturnValue:
    """The journalists shown by the current filter, as a spreadsheet-safe CSV download."""
    spec, _ = parse_listing_args(request.args)
    list_name = lists.get_list(spec.list_ids[0]).name if spec.list_ids else None
    filename = export.export_filename(list_name, utcnow())
    return Response(stream_with_context(export.export_csv(spec)),
                    content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/add-to-list")
def add_to_list() -> ResponseReturnValue:
    """Add the ticked journalists, or all that match the filter, to a list."""
    form = AddToListForm()
    form.target_list_id.choices = choices((row.id, row.name) for row in lists.all_lists())
    back = safe_next_path(request.form.get("back", ""))
    target = back if back and back.startswith("/contacts/") else url_for("contacts.index")
    if not form.validate_on_submit():
        flash(gettext("Choose a list first."), "error")
        return redirect(target)
    try:
        if request.form.get("scope") == "all":
            spec, _ = parse_listing_args(request.form)
            added = lists.add_matching(form.target_list_id.data, filtered_ids(spec))
        else:
            ids = [i for i in map(parse_id, request.form.getlist("contact_ids")) if i]
            if not ids:
                flash(gettext("Tick the journalists to add first, or add all that match."), "error")
                return redirect(target)
            added = lists.add_members(form.target_list_id.data, ids)
    except MailerError as exc:
        flash(next(iter(exc.fields.values()), exc.message), "error")
        return redirect(target)
    name = lists.get_list(form.target_list_id.data).name
    flash(gettext("%(n)s added to “%(name)s” (the others were already on it).", n=added,
                  name=name) if added else
          gettext("They were all on “%(name)s” already.", name=name), "info")
    return redirect(target)


def _form_page(form: ContactForm, contact_id: int | None = None,
               status: int = 200) -> ResponseReturnValue:
    contact = service.get_contact(contact_id) if contact_id is not None else None
    return render_template("web/contacts/form.html", form=form, contact=contact), status


@bp.get("/new")
@requires(Role.EDITOR)
def new() -> ResponseReturnValue:
    """A blank form for one journalist."""
    return _form_page(ContactForm(formdata=None))


@bp.post("/new")
def create() -> ResponseReturnValue:
    """Save a new journalist."""
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = service.create_contact(form.values(), source=ContactSource.UI)
        except MailerError as exc:
            attach_errors(form, exc.fields, exc.message)
        else:
            flash(gettext("%(email)s added.", email=contact.email), "info")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    return _form_page(form, status=422)


@bp.get("/<int:contact_id>")
def show(contact_id: int) -> ResponseReturnValue:
    """Everything about one journalist, with their lists and suppression."""
    view = service.get_contact_view(contact_id)
    return render_template("web/contacts/show.html", view=view, contact=view.contact,
                           lists=lists.lists_of(contact_id), action_form=ActionForm())


@bp.get("/<int:contact_id>/edit")
@requires(Role.EDITOR)
def edit(contact_id: int) -> ResponseReturnValue:
    """The form of one journalist, filled in."""
    form = ContactForm(formdata=None)
    form.fill_from(service.get_contact(contact_id))
    return _form_page(form, contact_id)


@bp.post("/<int:contact_id>/edit")
def update(contact_id: int) -> ResponseReturnValue:
    """Save changes to a journalist."""
    form = ContactForm()
    if form.validate_on_submit():
        try:
            service.update_contact(contact_id, form.values())
        except MailerError as exc:
            attach_errors(form, exc.fields, exc.message)
        else:
            flash(gettext("Saved."), "info")
            return redirect(url_for("contacts.show", contact_id=contact_id))
    return _form_page(form, contact_id, status=422)


@bp.get("/<int:contact_id>/delete")
@requires(Role.EDITOR)
def confirm_delete(contact_id: int) -> ResponseReturnValue:
    """Ask before deleting."""
    return render_template("web/contacts/delete.html", contact=service.get_contact(contact_id),
                           action_form=ActionForm(), erase=False)


@bp.post("/<int:contact_id>/delete")
def delete(contact_id: int) -> ResponseReturnValue:
    """Delete a journalist (a suppression of the address stays)."""
    if ActionForm().validate_on_submit():
        email = service.get_contact(contact_id).email
        service.delete_contact(contact_id)
        flash(gettext("%(email)s deleted.", email=email), "info")
    return redirect(url_for("contacts.index"))


@bp.get("/<int:contact_id>/data")
def personal_data(contact_id: int) -> ResponseReturnValue:
    """Everything held about one journalist, as a JSON download (right of access)."""
    return privacy.personal_data(contact_id), 200, {
        "Content-Disposition": f'attachment; filename="contact-{contact_id}-data.json"'}


@bp.get("/<int:contact_id>/erase")
@requires(Role.ADMIN)
def confirm_erase(contact_id: int) -> ResponseReturnValue:
    """Ask before erasing (admins)."""
    return render_template("web/contacts/delete.html", contact=service.get_contact(contact_id),
                           action_form=ActionForm(), erase=True)


@bp.post("/<int:contact_id>/erase")
@requires(Role.ADMIN)
def erase(contact_id: int) -> ResponseReturnValue:
    """Erase a journalist; the address stays suppressed as a hash only (admins)."""
    if ActionForm().validate_on_submit():
        privacy.erase_contact(contact_id)
        flash(gettext("Erased. The address is kept only as a hash on the suppression list."),
              "info")
    return redirect(url_for("contacts.index"))
