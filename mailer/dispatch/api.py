"""REST API of mailings (shared/API.md, "Mailings"): create, approve, send, test, control,
progress."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailer.auth.policy import signed_in_staff
from mailer.dispatch import service
from mailer.dispatch.models import Delivery, DeliveryStatus, Mailing
from mailer.errors import Invalid
from mailer.http import json_body, paged
from mailer.tracking import engagement

bp = Blueprint("mailings_api", __name__, url_prefix="/api/v1/mailings")


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def mailing_json(mailing: Mailing) -> dict[str, Any]:
    """A mailing with its progress, as API.md shapes it (plus extras)."""
    return {
        "id": mailing.id,
        "release_id": mailing.release_id,
        "status": mailing.status,
        "list_ids": mailing.list_ids,
        "segment_ids": mailing.segment_ids,
        "exclude_list_ids": mailing.exclude_list_ids,
        "fallback_languages": mailing.fallback_languages,
        "send_at": _time(mailing.send_at),
        "tracking": mailing.tracking,
        "local_window": (mailing.options or {}).get("local_window"),
        "correction_of": (mailing.options or {}).get("correction_of"),
        "pause_reason": mailing.pause_reason or None,
        "created_by": mailing.created_by,
        "created_at": _time(mailing.created_at),
        "requires_approval": mailing.requires_approval,
        "approval": service.approval_status(mailing).value,
        "approved_by": mailing.approved_by or None,
        "approved_at": _time(mailing.approved_at),
        "started_at": _time(mailing.started_at),
        "finished_at": _time(mailing.finished_at),
        **service.progress(mailing),
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """One recipient's delivery (API.md's fields plus the ledger's detail)."""
    failed = delivery.status in {DeliveryStatus.FAILED, DeliveryStatus.BOUNCED,
                                 DeliveryStatus.DEFERRED, DeliveryStatus.UNKNOWN}
    return {
        "id": delivery.id,
        "contact_id": delivery.contact_id,
        "email": delivery.email,
        "language": delivery.language,
        "language_reason": delivery.language_reason,
        "status": "queued" if delivery.status == DeliveryStatus.CLAIMED else delivery.status,
        "skip_reason": delivery.skip_reason or None,
        "attempts": delivery.attempts,
        "next_attempt_at": _time(delivery.next_attempt_at),
        "sent_at": _time(delivery.sent_at),
        **engagement.delivery_fields(delivery.id),  # tracking hook: opened_at, clicked_at, bounce
        "error": (f"{delivery.smtp_code or ''} {delivery.smtp_reply}".strip() or None)
        if failed else None,
        "message_id": delivery.message_id,
    }


@bp.post("")
def create() -> ResponseReturnValue:
    """A draft mailing."""
    mailing = service.create_mailing(json_body(), created_by=signed_in_staff().email)
    return mailing_json(mailing), 201


@bp.get("")
def index() -> ResponseReturnValue:
    """All mailings, newest first."""
    return paged(service.mailings_query(), mailing_json)


@bp.get("/<int:mailing_id>")
def show(mailing_id: int) -> ResponseReturnValue:
    """One mailing with counts by status and language."""
    return mailing_json(service.get_mailing(mailing_id))


@bp.get("/<int:mailing_id>/languages")
def languages(mailing_id: int) -> ResponseReturnValue:
    """Who would get which language, who falls back, and who has none."""
    return service.language_check(service.get_mailing(mailing_id))


@bp.post("/<int:mailing_id>/approve")
def approve(mailing_id: int) -> ResponseReturnValue:
    """A second person's approval of a draft that needs it (never its creator's)."""
    return mailing_json(service.approve_mailing(mailing_id, signed_in_staff().email))


@bp.post("/<int:mailing_id>/send")
def send(mailing_id: int) -> ResponseReturnValue:
    """Send now or at ``send_at``: 202 with the mailing."""
    return mailing_json(service.send_mailing(mailing_id)), 202


@bp.post("/<int:mailing_id>/test")
def test(mailing_id: int) -> ResponseReturnValue:
    """Send to staff addresses, marked as tests."""
    addresses = service.send_test(mailing_id, json_body().get("emails"),
                                  requested_by=signed_in_staff().email)
    return {"queued": addresses}, 202


@bp.post("/<int:mailing_id>/pause")
def pause(mailing_id: int) -> ResponseReturnValue:
    """Pause sending."""
    return mailing_json(service.pause_mailing(mailing_id))


@bp.post("/<int:mailing_id>/resume")
def resume(mailing_id: int) -> ResponseReturnValue:
    """Resume sending where it stopped."""
    return mailing_json(service.resume_mailing(mailing_id))


@bp.post("/<int:mailing_id>/cancel")
def cancel(mailing_id: int) -> ResponseReturnValue:
    """Cancel for good."""
    return mailing_json(service.cancel_mailing(mailing_id))


@bp.post("/<int:mailing_id>/resend-failed")
def resend_failed(mailing_id: int) -> ResponseReturnValue:
    """Queue failed and deferred deliveries again (202)."""
    return mailing_json(service.resend_failed(mailing_id)), 202


@bp.post("/<int:mailing_id>/correction")
def correction(mailing_id: int) -> ResponseReturnValue:
    """A draft mailing of ``{release_id}`` to exactly those who received this one."""
    mailing = service.create_correction(mailing_id, json_body().get("release_id"),
                                        created_by=signed_in_staff().email)
    return mailing_json(mailing), 201


STATUS_FILTERS = {s.value for s in DeliveryStatus} - {DeliveryStatus.CLAIMED.value}


@bp.get("/<int:mailing_id>/deliveries")
def deliveries(mailing_id: int) -> ResponseReturnValue:
    """Per-recipient deliveries, optionally by ``status``."""
    service.get_mailing(mailing_id)
    query = select(Delivery).where(Delivery.mailing_id == mailing_id,
                                   Delivery.is_test.is_(False)).order_by(Delivery.id)
    status = request.args.get("status")
    if status:
        if status not in STATUS_FILTERS:
            raise Invalid("Unknown status.", fields={"status": "one of " + ", ".join(
                sorted(STATUS_FILTERS))})
        wanted = [status, DeliveryStatus.CLAIMED.value] if status == "queued" else [status]
        query = query.where(Delivery.status.in_(wanted))
    return paged(query, delivery_json)
