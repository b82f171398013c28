"""The releases pages: list, create, edit with a tab per translation, history, attachments,
and the preview matrix. Thin: each view calls a service and renders or redirects."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf import FlaskForm

from mailer.auth.models import Role
from mailer.auth.policy import current_staff, requires
from mailer.contacts.validation import FieldError
from mailer.errors import Conflict, MailerError
from mailer.http import page_params, parse_id
from mailer.releases import attachments, preview, service
from mailer.releases.api import attachment_response
from mailer.releases.forms import (
    ActionForm,
    AttachmentForm,
    NewReleaseForm,
    ReleaseForm,
    TranslationForm,
)
from mailer.releases.links import links_for
from mailer.releases.models import Release
from mailer.releases.validation import release_from_json, translation_from_payload

bp = Blueprint("releases", __name__, url_prefix="/releases")

NEW_TAB = "__new__"


def translation_prefix(language: str) -> str:
    """The form prefix of one translation's tab, so field ids are unique on the page."""
    return f"t-{language}"


def can_edit() -> bool:
    """Whether the signed-in staff member may change releases (the policy decides on POST;
    this only hides the forms a viewer could not send)."""
    user = current_staff()
    return user is not None and user.role_enum.allows(Role.EDITOR)


def show_errors(form: FlaskForm, error: MailerError) -> None:
    """Put a service error's fields on the form's fields (``translations.ru.body`` → body);
    what has no visible field to sit on is flashed."""
    unplaced: list[str] = []
    for name, reason in error.fields.items():
        field = getattr(form, name.rsplit(".", 1)[-1], None)
        if field is None and name == "embargo_at":
            field = getattr(form, "embargo_local", None)
        if field is not None and hasattr(field, "errors") and field.type != "HiddenField":
            field.errors = [*field.errors, reason]
        else:
            unplaced.append(reason)
    if unplaced or not error.fields:
        flash(error.message, "error")


@bp.get("/")
def index() -> ResponseReturnValue:
    """Every release, newest first, with the state of its translations."""
    page, per_page = page_params()
    query = service.releases_query(request.args.get("q"))
    releases, total = service.page_of(query, page, per_page)
    return render_template("web/releases/index.html", releases=releases, total=total,
                           page=page, per_page=per_page, q=request.args.get("q", ""),
                           can_edit=can_edit())


@bp.get("/new")
@requires(Role.EDITOR)
def new() -> ResponseReturnValue:
    """The form for a new release."""
    return render_template("web/releases/new.html", form=NewReleaseForm(formdata=None))


@bp.post("/new")
def create() -> ResponseReturnValue:
    """Create a release and its default-language text."""
    form = NewReleaseForm()
    if form.validate_on_submit():
        try:
            payload = form.payload()
            text = payload.get("translations", {})
            if not any(value.strip() for t in text.values() for value in t.values()):
                payload.pop("translations", None)  # a title first, the text later
            release = service.create_release(release_from_json(payload, partial=False),
                                             current_staff())
        except FieldError as exc:
            form.embargo_timezone.errors = [*form.embargo_timezone.errors, str(exc)]
        except MailerError as exc:
            show_errors(form, exc)
        else:
            flash(gettext("Release “%(title)s” created.", title=release.title), "info")
            return redirect(url_for("releases.edit", release_id=release.id))
    return render_template("web/releases/new.html", form=form), 422


def _edit_page(release: Release, *, language: str | None = None,
               settings: ReleaseForm | None = None,
               forms: dict[str, TranslationForm] | None = None,
               new_translation: TranslationForm | None = None,
               upload: AttachmentForm | None = None, status: int = 200) -> ResponseReturnValue:
    if settings is None:
        settings = ReleaseForm(formdata=None)
        settings.fill_from(release)
    tabs: dict[str, TranslationForm] = {}
    for translation in release.translations:
        form = (forms or {}).get(translation.language)
        if form is None:
            form = TranslationForm(formdata=None, prefix=translation_prefix(translation.language),
                                   **service.form_values(translation))
        tabs[translation.language] = form
    active = language if language in tabs or language == NEW_TAB else (
        release.default_language if release.default_translation else next(iter(tabs), None))
    links = links_for(current_app.config)
    return render_template(
        "web/releases/edit.html", release=release, settings=settings, tabs=tabs, active=active,
        source=release.default_translation,
        new_translation=new_translation or TranslationForm(formdata=None, prefix="new"),
        upload=upload or AttachmentForm(formdata=None), action=ActionForm(),
        web_urls={t.language: links.web_version_url(release.id, t.language)
                  for t in release.translations},
        human_size=attachments.human_size, max_size=attachments.max_bytes(),
        can_edit=can_edit(),
    ), status


@bp.get("/<int:release_id>")
def edit(release_id: int) -> ResponseReturnValue:
    """A release: its settings, a tab per translation beside the source text, and files."""
    return _edit_page(service.get_release(release_id), language=request.args.get("lang"))


@bp.post("/<int:release_id>")
def update(release_id: int) -> ResponseReturnValue:
    """Save a release's settings."""
    release = service.get_release(release_id)
    form = ReleaseForm()
    if form.validate_on_submit():
        try:
            service.update_release(release_id, release_from_json(form.payload(), partial=True),
                                   current_staff())
        except FieldError as exc:
            form.embargo_timezone.errors = [*form.embargo_timezone.errors, str(exc)]
        except MailerError as exc:
            show_errors(form, exc)
        else:
            flash(gettext("Release settings saved."), "info")
            return redirect(url_for("releases.edit", release_id=release_id))
    return _edit_page(release, settings=form, status=422)


@bp.post("/<int:release_id>/delete")
def delete(release_id: int) -> ResponseReturnValue:
    """Delete a release."""
    if ActionForm().validate_on_submit():
        release = service.get_release(release_id)
        title = release.title
        service.delete_release(release_id)
        flash(gettext("Release “%(title)s” deleted.", title=title), "info")
    return redirect(url_for("releases.index"))


@bp.post("/<int:release_id>/translations")
def add_translation(release_id: int) -> ResponseReturnValue:
    """Add a translation in a new language."""
    release = service.get_release(release_id)
    form = TranslationForm(prefix="new")
    status = 422
    if form.validate_on_submit():
        language = (form.language.data or "").strip()
        try:
            if release.translation(service.normalise_url_language(language)) is not None:
                raise Conflict(gettext("There is already a translation in this language."),
                               fields={"language": gettext("already translated: edit its tab")})
            translation, _ = service.save_translation(
                release_id, language, translation_from_payload(form.payload()), current_staff())
        except MailerError as exc:
            show_errors(form, exc)
            status = exc.status
        else:
            flash(gettext("Translation %(language)s added.", language=translation.language), "info")
            return redirect(url_for("releases.edit", release_id=release_id,
                                    lang=translation.language))
    return _edit_page(release, new_translation=form, language=NEW_TAB, status=status)


@bp.post("/<int:release_id>/translations/<language>")
def save_translation(release_id: int, language: str) -> ResponseReturnValue:
    """Save one translation's text (refused if someone saved since the page was loaded)."""
    release = service.get_release(release_id)
    form = TranslationForm(prefix=translation_prefix(language))
    status = 422
    if form.validate_on_submit():
        try:
            translation, _ = service.save_translation(
                release_id, language, translation_from_payload(form.payload()), current_staff(),
                base_revision=form.base())
        except Conflict as exc:
            # Keep their text on the page; a second, deliberate save replaces the other one.
            current = service.get_translation(release_id, language)
            form.base_revision.data = str(current.revision)
            flash(exc.message + " " + gettext(
                "Your text is below: compare it with revision %(revision)s in the history, "
                "then save again to replace it.", revision=current.revision), "error")
            status = exc.status
        except MailerError as exc:
            show_errors(form, exc)
            status = exc.status
        else:
            flash(gettext("Translation %(language)s saved (revision %(revision)s).",
                          language=translation.language, revision=translation.revision),
                  "info")
            return redirect(url_for("releases.edit", release_id=release_id,
                                    lang=translation.language))
    return _edit_page(release, forms={language: form}, language=language, status=status)


def _action(release_id: int, language: str, done: str,
            act: Callable[[], object]) -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        try:
            act()
        except MailerError as exc:
            flash(exc.message, "error")
        else:
            flash(done, "info")
    return redirect(url_for("releases.edit", release_id=release_id, lang=language))


@bp.post("/<int:release_id>/translations/<language>/delete")
def delete_translation(release_id: int, language: str) -> ResponseReturnValue:
    """Delete one translation."""
    return _action(release_id, language,
                   gettext("Translation %(language)s deleted.", language=language),
                   lambda: service.delete_translation(release_id, language))


@bp.post("/<int:release_id>/translations/<language>/approve")
def approve_translation(release_id: int, language: str) -> ResponseReturnValue:
    """Approve one translation."""
    return _action(release_id, language,
                   gettext("Translation %(language)s approved.", language=language),
                   lambda: service.approve_translation(release_id, language, current_staff()))


@bp.post("/<int:release_id>/translations/<language>/unapprove")
def unapprove_translation(release_id: int, language: str) -> ResponseReturnValue:
    """Send one translation back to draft."""
    return _action(release_id, language,
                   gettext("Translation %(language)s is a draft again.", language=language),
                   lambda: service.unapprove_translation(release_id, language))


@bp.get("/<int:release_id>/translations/<language>/revisions")
def revisions(release_id: int, language: str) -> ResponseReturnValue:
    """A translation's history, newest first, each with its text and a revert button."""
    translation = service.get_translation(release_id, language)
    return render_template("web/releases/revisions.html", release=translation.release,
                           translation=translation,
                           revisions=service.list_revisions(release_id, language),
                           action=ActionForm(), can_edit=can_edit())


@bp.post("/<int:release_id>/translations/<language>/revisions/<int:number>/revert")
def revert(release_id: int, language: str, number: int) -> ResponseReturnValue:
    """Restore a revision's text as a new revision."""
    if ActionForm().validate_on_submit():
        translation = service.revert_translation(release_id, language, number, current_staff())
        flash(gettext("Translation %(language)s reverted to revision %(number)s "
                      "(now revision %(revision)s).", language=translation.language,
                      number=number, revision=translation.revision), "info")
    return redirect(url_for("releases.edit", release_id=release_id, lang=language))


@bp.post("/<int:release_id>/attachments")
def upload(release_id: int) -> ResponseReturnValue:
    """Attach a file."""
    release = service.get_release(release_id)
    form = AttachmentForm()
    status = 422
    if form.validate_on_submit():
        upload = request.files.get(form.file.name)
        if upload is None or not upload.filename:
            form.file.errors = [*form.file.errors, gettext("Choose a file first.")]
        else:
            try:
                attachment = attachments.store_attachment(release_id, upload.stream,
                                                          upload.filename, current_staff())
            except MailerError as exc:
                show_errors(form, exc)
                status = exc.status
            else:
                flash(gettext("%(filename)s attached.", filename=attachment.filename), "info")
                return redirect(url_for("releases.edit", release_id=release_id) + "#attachments")
    return _edit_page(release, upload=form, status=status)


@bp.get("/<int:release_id>/attachments/<int:attachment_id>")
def download(release_id: int, attachment_id: int) -> ResponseReturnValue:
    """Download an attachment."""
    return attachment_response(attachments.get_attachment(release_id, attachment_id))


@bp.post("/<int:release_id>/attachments/<int:attachment_id>/delete")
def delete_attachment(release_id: int, attachment_id: int) -> ResponseReturnValue:
    """Remove an attachment."""
    if ActionForm().validate_on_submit():
        attachments.delete_attachment(release_id, attachment_id)
        flash(gettext("Attachment removed."), "info")
    return redirect(url_for("releases.edit", release_id=release_id) + "#attachments")


@bp.get("/<int:release_id>/preview")
def preview_matrix(release_id: int) -> ResponseReturnValue:
    """Every language × a few sample recipients, desktop and mobile, HTML and text, with
    warnings."""
    matrix = preview.preview_matrix(release_id)
    return render_template("web/releases/preview.html", matrix=matrix,
                           release=matrix.release)


@bp.get("/<int:release_id>/preview/frame")
def preview_frame(release_id: int) -> ResponseReturnValue:
    """The HTML part of one preview, for a sandboxed frame, under a CSP with no scripts."""
    contact = request.args.get("contact_id", "")
    result = preview.preview_message(release_id, request.args.get("language") or None,
                                     parse_id(contact))
    response = make_response(result.message.html)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = preview.FRAME_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
