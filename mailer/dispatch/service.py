"""Mailings: creating them, approving, sending, pausing, resuming, cancelling, test sends, and
progress.

Owns the mailing's life cycle (``draft → scheduled → sending ⇄ paused → sent``, or
``cancelled``) and its second-person approval: a mailing created with ``requires_approval``
is not sent or scheduled until another editor or admin approves what it will send. Every
change is committed before a worker is asked to act on it; workers (``mailer.dispatch.tasks``)
then freeze the audience and send through the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import Text, cast, false, func, or_, select, update

from mailer.audit import service as audit
from mailer.contacts.models import Contact, ContactList, Segment, Suppression
from mailer.contacts.validation import FieldError, normalise_email, normalise_language
from mailer.db import db, utcnow
from mailer.dispatch import ledger
from mailer.dispatch.freeze import (
    audience_select,
    correction_select,
    new_message_id,
    reading_languages,
)
from mailer.dispatch.models import (
    ApprovalStatus,
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingStatus,
)
from mailer.dispatch.window import check_window
from mailer.errors import Conflict, Forbidden, Invalid, NotFound
from mailer.http import is_id
from mailer.i18n import value_label
from mailer.releases.languages import grouped_language_summary
from mailer.releases.models import Release
from mailer.settings.service import (
    APPROVAL_DEFAULT_KEY,
    TRACKING_DEFAULT_KEY,
    effective_config,
)
from mailer.tracking import engagement

log = logging.getLogger(__name__)

MAX_TEST_RECIPIENTS = 20
APPROVED_DIGEST = "approved_digest"  # key in Mailing.options: what the approver signed off


class ApprovalRequired(Conflict):
    """A mailing that needs a second person's approval was sent or scheduled without it."""

    code = "approval_required"


class SelfApproval(Forbidden):
    """The creator of a mailing tried to approve it: approval needs another person."""

    code = "self_approval"


# The pause reason staff's own pause records (stored as written; the dashboard tells it apart
# from pauses the pipeline makes, which carry the server's or the error rate's reason).
STAFF_PAUSE_REASON = "Paused by staff."

def get_mailing(mailing_id: int) -> Mailing:
    """One mailing, or NotFound."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        raise NotFound(gettext("No such mailing."))
    return mailing


def _ids(value: object, field: str, errors: dict[str, str]) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(is_id(v) for v in value):
        errors[field] = gettext("must be a list of ids")
        return []
    return sorted(set(value))


def _unknown(model: type[ContactList] | type[Segment], ids: Sequence[int]) -> list[int]:
    if not ids:
        return []
    known = set(db.session.scalars(select(model.id).where(model.id.in_(ids))))
    return sorted(set(ids) - known)


def _languages(value: object, errors: dict[str, str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors["fallback_languages"] = gettext("must be a list of language tags")
        return []
    chain: list[str] = []
    for item in value:
        try:
            tag = normalise_language(item)
        except FieldError as exc:
            errors["fallback_languages"] = str(exc)
            return []
        if tag not in chain:
            chain.append(tag)
    return chain


def _send_at(value: object, errors: dict[str, str]) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        errors["send_at"] = gettext("must be an ISO 8601 time with an offset")
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors["send_at"] = gettext("must be an ISO 8601 time with an offset")
        return None
    if moment.utcoffset() is None:
        errors["send_at"] = gettext("needs a time zone offset, e.g. 2026-12-01T09:00:00+05:00")
        return None
    return moment


def create_mailing(values: dict[str, Any], created_by: str,
                   correction_of: int | None = None) -> Mailing:
    """A draft mailing of a release to lists and segments; 422 names every bad field."""
    errors: dict[str, str] = {}
    release_id = values.get("release_id")
    if not is_id(release_id):
        errors["release_id"] = gettext("required: the id of a release")
    elif db.session.get(Release, release_id) is None:
        errors["release_id"] = gettext("no such release")
    list_ids = _ids(values.get("list_ids"), "list_ids", errors)
    exclude_ids = _ids(values.get("exclude_list_ids"), "exclude_list_ids", errors)
    segment_ids = _ids(values.get("segment_ids"), "segment_ids", errors)
    for field, model, ids in (("list_ids", ContactList, list_ids),
                              ("exclude_list_ids", ContactList, exclude_ids),
                              ("segment_ids", Segment, segment_ids)):
        if field not in errors and (unknown := _unknown(model, ids)):
            errors[field] = gettext("unknown ids: %(ids)s", ids=", ".join(map(str, unknown)))
    if not list_ids and not segment_ids and "list_ids" not in errors and not correction_of:
        errors["list_ids"] = gettext("choose at least one list or segment")
    chain = _languages(values.get("fallback_languages"), errors)
    send_at = _send_at(values.get("send_at"), errors)
    tracking = values.get("tracking")
    requires_approval = values.get("requires_approval")
    if tracking is None or requires_approval is None:  # the instance's defaults, as saved
        config = effective_config(current_app.config)
        tracking = config[TRACKING_DEFAULT_KEY] if tracking is None else tracking
        if requires_approval is None:
            requires_approval = config[APPROVAL_DEFAULT_KEY]
    if not isinstance(tracking, bool):
        errors["tracking"] = gettext("must be true or false")
    if not isinstance(requires_approval, bool):
        errors["requires_approval"] = gettext("must be true or false")
    options: dict[str, Any] = {}
    window = values.get("local_window")
    if window not in (None, [], ""):
        try:
            if not isinstance(window, list) or len(window) != 2:
                raise ValueError(gettext("give two local hours, e.g. [9, 17]"))
            options["local_window"] = list(check_window(*window))
        except ValueError as exc:
            errors["local_window"] = str(exc)
    if errors:
        raise Invalid(gettext("The mailing cannot be created."), fields=errors)
    mailing = Mailing(release_id=release_id, list_ids=list_ids, exclude_list_ids=exclude_ids,
                      segment_ids=segment_ids, fallback_languages=chain, send_at=send_at,
                      tracking=tracking, created_by=created_by, status=MailingStatus.DRAFT,
                      options=options, requires_approval=requires_approval)
    if correction_of is not None:
        mailing.options = {**options, "correction_of": correction_of}
    db.session.add(mailing)
    db.session.flush()
    audit.record("mailing.created", target_type="mailing", target_id=mailing.id,
                 summary=f"Mailing of release {release_id} created"
                 + (f" as a correction of mailing {correction_of}" if correction_of else "")
                 + (", to be approved by a second person" if requires_approval else ""))
    db.session.commit()
    return mailing


def approval_digest(mailing: Mailing) -> str:
    """A fingerprint of what an approver signs off: the release's texts, attachments and
    embargo, and the mailing's audience, languages and schedule. When it changes, the
    approval no longer covers what would be sent."""
    release = db.session.get(Release, mailing.release_id)
    options = mailing.options or {}
    content = {
        "release": None if release is None else {
            "default_language": release.default_language,
            "embargo_at": release.embargo_at.isoformat() if release.embargo_at else None,
            "contact_block": release.contact_block,
            "translations": sorted([t.language, t.subject, t.preheader, t.body]
                                   for t in release.translations),
            "attachments": sorted([a.filename, a.sha256] for a in release.attachments)},
        "list_ids": sorted(mailing.list_ids or []),
        "segment_ids": sorted(mailing.segment_ids or []),
        "exclude_list_ids": sorted(mailing.exclude_list_ids or []),
        "fallback_languages": list(mailing.fallback_languages or []),
        "send_at": mailing.send_at.isoformat() if mailing.send_at else None,
        "tracking": mailing.tracking,
        "local_window": options.get("local_window"),
        "correction_of": options.get("correction_of"),
    }
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def approval_status(mailing: Mailing) -> ApprovalStatus:
    """Whether the mailing waits for approval, has it, or had it before something changed."""
    if not mailing.requires_approval:
        return ApprovalStatus.NOT_REQUIRED
    if mailing.approved_at is None:
        return ApprovalStatus.WAITING
    if mailing.status != MailingStatus.DRAFT:
        return ApprovalStatus.APPROVED  # it went out as approved; later edits do not matter
    if (mailing.options or {}).get(APPROVED_DIGEST) != approval_digest(mailing):
        return ApprovalStatus.OUTDATED
    return ApprovalStatus.APPROVED


def is_creator(mailing: Mailing, email: str) -> bool:
    """True when ``email`` created the mailing (who therefore may not approve it)."""
    return bool(mailing.created_by) and mailing.created_by.casefold() == email.casefold()


def approve_mailing(mailing_id: int, approver_email: str) -> Mailing:
    """Record a second person's approval of a draft: 403 for its creator, 409 when it needs
    none or is already approved."""
    mailing = get_mailing(mailing_id)
    if mailing.status != MailingStatus.DRAFT:
        raise Conflict(gettext("Only a draft can be approved; this mailing is %(status)s.",
                               status=value_label(mailing.status)))
    state = approval_status(mailing)
    if state == ApprovalStatus.NOT_REQUIRED:
        raise Conflict(gettext("This mailing does not need approval."))
    if is_creator(mailing, approver_email):
        raise SelfApproval(gettext("You created this mailing, so you cannot approve it: "
                                   "another editor or admin must."))
    if state == ApprovalStatus.APPROVED:
        raise Conflict(gettext("This mailing is already approved by %(who)s.",
                               who=mailing.approved_by))
    mailing.approved_by = approver_email
    mailing.approved_at = utcnow()
    mailing.options = {**(mailing.options or {}), APPROVED_DIGEST: approval_digest(mailing)}
    audit.record("mailing.approved", target_type="mailing", target_id=mailing.id,
                 summary=f"Mailing {mailing.id} approved by {approver_email}"
                 + (" again, after changes" if state == ApprovalStatus.OUTDATED else ""))
    db.session.commit()
    return mailing


def check_approval(mailing: Mailing) -> None:
    """Raise ApprovalRequired (409) unless the mailing may go out as far as approval goes."""
    state = approval_status(mailing)
    if state == ApprovalStatus.WAITING:
        raise ApprovalRequired(gettext(
            "This mailing needs a second person's approval before it can be sent or "
            "scheduled: another editor or admin must approve it."))
    if state == ApprovalStatus.OUTDATED:
        raise ApprovalRequired(gettext(
            "The release, audience or schedule changed after %(who)s approved this mailing; "
            "it needs approval again before it can be sent or scheduled.",
            who=mailing.approved_by))


def language_check(mailing: Mailing) -> dict[str, Any]:
    """The audience's language coverage (who gets which language, who has none)."""
    release = db.session.get(Release, mailing.release_id)
    if release is None:
        raise NotFound(gettext("The release of this mailing no longer exists."))
    parent = (mailing.options or {}).get("correction_of")
    audience = (correction_select(int(parent)) if parent else audience_select(
        mailing.list_ids or [], mailing.segment_ids or [], mailing.exclude_list_ids or [])
    ).subquery()
    # Named query: the audience grouped by reading languages, so 100,000 journalists are
    # resolved as the few dozen distinct rankings they have (one round trip, no rows in Python).
    languages_text = cast(audience.c.languages, Text)
    mailable = audience.c.suppressed == false()
    groups = db.session.execute(
        select(audience.c.language, languages_text, func.count())
        .where(mailable).group_by(audience.c.language, languages_text)).all()

    def examples(unresolved: list[tuple[str, ...]]) -> list[Any]:
        wanted = set(unresolved)
        primaries = {ranked[0] if ranked else "" for ranked in unresolved}
        rows = db.session.execute(select(audience).where(
            mailable, func.coalesce(audience.c.language, "").in_(primaries)).limit(5000)).all()
        return [row for row in rows
                if reading_languages(row.language, row.languages) in wanted][:50]

    summary = grouped_language_summary(
        ((reading_languages(language, json.loads(text) if text else []), count)
         for language, text, count in groups),
        release, mailing.fallback_languages or [], examples=examples)
    return summary.as_dict()


def send_mailing(mailing_id: int) -> Mailing:
    """Start (or schedule) a draft: 409 unless it is a draft with any approval it needs, 422
    while anyone lacks a language."""
    mailing = get_mailing(mailing_id)
    if mailing.status != MailingStatus.DRAFT:
        raise Conflict(gettext("Only a draft can be sent; this mailing is %(status)s.",
                               status=value_label(mailing.status)))
    check_approval(mailing)
    coverage = language_check(mailing)
    if not coverage["sendable"]:
        fields: dict[str, str] = {}
        if coverage["without_language"]:
            missing = ", ".join(f"{lang}: {n}" for lang, n in coverage["missing_languages"].items())
            fields["languages"] = ngettext(
                "%(num)s recipient reads only languages with neither a translation nor a "
                "fallback (%(missing)s)",
                "%(num)s recipients read only languages with neither a translation nor a "
                "fallback (%(missing)s)",
                coverage["without_language"], missing=missing)
        if coverage["unapproved"]:
            waiting = ", ".join(f"{lang}: {n}" for lang, n in coverage["unapproved"].items())
            fields["approvals"] = gettext("translations awaiting approval (%(waiting)s)",
                                          waiting=waiting)
        raise Invalid(gettext("The mailing cannot be sent yet: %(why)s",
                              why=coverage["description"]),
                      fields=fields)
    now = utcnow()
    if mailing.send_at is not None and mailing.send_at > now:
        mailing.status = MailingStatus.SCHEDULED
    else:
        mailing.status = MailingStatus.SENDING
        mailing.started_at = now
    audit.record("mailing.sent" if mailing.status == MailingStatus.SENDING else
                 "mailing.scheduled", target_type="mailing", target_id=mailing.id,
                 summary=coverage["description"])
    db.session.commit()
    if mailing.status == MailingStatus.SENDING:
        enqueue("dispatch.start_mailing", mailing.id)
    return mailing


def pause_mailing(mailing_id: int) -> Mailing:
    """Stop handing out deliveries; those in flight finish, the rest wait for resume."""
    mailing = get_mailing(mailing_id)
    if mailing.status not in {MailingStatus.SENDING, MailingStatus.SCHEDULED}:
        raise Conflict(gettext("Only a sending or scheduled mailing can be paused; it is "
                               "%(status)s.", status=value_label(mailing.status)))
    mailing.status = MailingStatus.PAUSED
    mailing.pause_reason = STAFF_PAUSE_REASON
    audit.record("mailing.paused", target_type="mailing", target_id=mailing.id)
    db.session.commit()
    ledger.release_claims(mailing.id)
    return mailing


def resume_mailing(mailing_id: int) -> Mailing:
    """Go on from where the mailing stopped; nobody gets a second copy."""
    mailing = get_mailing(mailing_id)
    if mailing.status != MailingStatus.PAUSED:
        raise Conflict(gettext("Only a paused mailing can be resumed; it is %(status)s.",
                               status=value_label(mailing.status)))
    mailing.status = MailingStatus.SENDING
    mailing.pause_reason = ""
    mailing.started_at = mailing.started_at or utcnow()
    audit.record("mailing.resumed", target_type="mailing", target_id=mailing.id)
    db.session.commit()
    enqueue("dispatch.start_mailing", mailing.id)
    return mailing


def cancel_mailing(mailing_id: int) -> Mailing:
    """Stop for good: every delivery not yet started is cancelled."""
    mailing = get_mailing(mailing_id)
    if mailing.status in {MailingStatus.SENT, MailingStatus.CANCELLED}:
        raise Conflict(gettext("The mailing is already %(status)s.",
                               status=value_label(mailing.status)))
    mailing.status = MailingStatus.CANCELLED
    mailing.finished_at = utcnow()
    audit.record("mailing.cancelled", target_type="mailing", target_id=mailing.id)
    db.session.commit()
    db.session.execute(
        update(Delivery)
        .where(Delivery.mailing_id == mailing.id,
               Delivery.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.CLAIMED.value,
                                    DeliveryStatus.DEFERRED.value]))
        .values(status=DeliveryStatus.CANCELLED, claimed_by="")
        .execution_options(synchronize_session=False))
    db.session.commit()
    return mailing


def resend_failed(mailing_id: int) -> Mailing:
    """Queue again the deliveries that failed or wait for a retry (never sent, unknown or
    suppressed ones): "resend to failed and deferred only"."""
    mailing = get_mailing(mailing_id)
    if mailing.status not in {MailingStatus.SENT, MailingStatus.PAUSED, MailingStatus.SENDING}:
        raise Conflict(gettext("Only a mailing that was sent can resend its failures; it is "
                               "%(status)s.", status=value_label(mailing.status)))
    suppressed_contacts = select(Contact.id).where(
        Contact.email_hash.in_(select(Suppression.email_hash)))
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.mailing_id == mailing.id, Delivery.is_test.is_(False),
               Delivery.status.in_([DeliveryStatus.FAILED.value, DeliveryStatus.DEFERRED.value]),
               or_(Delivery.contact_id.is_(None),
                   Delivery.contact_id.not_in(suppressed_contacts)))
        .values(status=DeliveryStatus.QUEUED, next_attempt_at=None, claimed_by="")
        .execution_options(synchronize_session=False))
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if not count:
        db.session.rollback()
        raise Conflict(gettext("Nothing to resend: no delivery failed or waits for a retry."))
    mailing.status = MailingStatus.SENDING
    mailing.pause_reason = ""
    mailing.finished_at = None
    audit.record("mailing.resent_failed", target_type="mailing", target_id=mailing.id,
                 summary=f"{count} failed or deferred deliveries queued again")
    db.session.commit()
    enqueue("dispatch.start_mailing", mailing.id)
    return mailing


def create_correction(mailing_id: int, release_id: object, created_by: str) -> Mailing:
    """A draft mailing of ``release_id`` to exactly those who received mailing ``mailing_id``."""
    parent = get_mailing(mailing_id)
    if parent.status not in {MailingStatus.SENT, MailingStatus.SENDING, MailingStatus.PAUSED,
                             MailingStatus.CANCELLED}:
        raise Conflict(gettext("A correction needs a mailing that went out."))
    received = ledger.status_counts(parent.id).get(DeliveryStatus.SENT.value, 0)
    if not received:
        raise Conflict(gettext(
            "Nobody has received this mailing yet, so there is nobody to correct."))
    # A correction of an approved mailing needs approval too; otherwise the instance default.
    return create_mailing({"release_id": release_id, "tracking": parent.tracking,
                           "fallback_languages": parent.fallback_languages,
                           "requires_approval": parent.requires_approval or None},
                          created_by, correction_of=parent.id)


def send_test(mailing_id: int, emails: object, requested_by: str) -> list[str]:
    """Send the mailing to staff addresses now, marked as tests and never counted."""
    mailing = get_mailing(mailing_id)
    if not isinstance(emails, list) or not emails:
        raise Invalid(gettext("Give at least one address."),
                      fields={"emails": gettext("a list of addresses")})
    if len(emails) > MAX_TEST_RECIPIENTS:
        raise Invalid(gettext("Too many test addresses."),
                      fields={"emails": gettext("at most %(n)s", n=MAX_TEST_RECIPIENTS)})
    addresses: list[str] = []
    for item in emails:
        try:
            addresses.append(normalise_email(item))
        except FieldError as exc:
            raise Invalid(gettext("An address is not valid."),
                          fields={"emails": f"{item!r}: {exc}"}) from exc
    release = db.session.get(Release, mailing.release_id)
    if release is None:
        raise NotFound(gettext("The release of this mailing no longer exists."))
    language = release.default_language
    domain = current_app.config["MAILER_BOUNCE_DOMAIN"]
    ids = []
    for address in addresses:
        delivery = Delivery(mailing_id=mailing.id, contact_id=None, email=address,
                            language=language, language_reason="test send",
                            is_test=True, message_id=new_message_id(mailing.id, domain))
        db.session.add(delivery)
        db.session.flush()
        ids.append(delivery.id)
    audit.record("mailing.test_sent", target_type="mailing", target_id=mailing.id,
                 summary=", ".join(addresses))
    db.session.commit()
    enqueue("dispatch.send_tests", mailing.id, ids)
    return addresses


def enqueue(task: str, *args: object) -> None:
    """Ring a worker (after the commit that gave it something to do)."""
    current_app.extensions["celery"].send_task(task, args=list(args))


def progress(mailing: Mailing) -> dict[str, Any]:
    """Counts by status, per language, rate and ETA: what staff watch."""
    counts = ledger.status_counts(mailing.id)
    total = sum(counts.values())
    done = sum(counts.get(s, 0) for s in ("sent", "failed", "bounced", "unknown", "skipped",
                                          "cancelled"))
    open_ = total - done
    rate = None
    eta = None
    if mailing.started_at is not None and counts.get("sent"):
        elapsed = max((( mailing.finished_at or utcnow()) - mailing.started_at).total_seconds(),
                      1.0)
        rate = counts["sent"] / elapsed
        eta = open_ / rate if rate and open_ else 0
    return {
        "counts": {
            "recipients": total - counts.get("skipped", 0),
            "queued": counts.get("queued", 0) + counts.get("claimed", 0),
            "sending": counts.get("sending", 0),
            "sent": counts.get("sent", 0),
            "deferred": counts.get("deferred", 0),
            "failed": counts.get("failed", 0),
            "bounced": counts.get("bounced", 0),
            "unknown": counts.get("unknown", 0),
            "skipped": counts.get("skipped", 0),
            "cancelled": counts.get("cancelled", 0),
            **engagement.mailing_counts(mailing.id),  # tracking hook: opened, clicked, …
        },
        "languages": ledger.language_counts(mailing.id),
        "rate_per_second": round(rate, 2) if rate else None,
        "eta_seconds": round(eta) if eta is not None else None,
    }


def mailings_query() -> Any:
    """All mailings, newest first."""
    return select(Mailing).order_by(Mailing.id.desc())


def finish_if_done(mailing_id: int) -> bool:
    """Mark a sending mailing ``sent`` once frozen and no delivery is still open."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None or mailing.status != MailingStatus.SENDING or mailing.frozen_at is None:
        return False
    if ledger.open_count(mailing_id):
        return False
    mailing.status = MailingStatus.SENT
    last = db.session.scalar(select(func.max(Delivery.sent_at))
                             .where(Delivery.mailing_id == mailing_id))
    mailing.finished_at = last or utcnow()
    db.session.commit()
    log.info("mailing %s sent", mailing_id)
    return True
