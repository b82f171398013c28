"""Reports: what staff learn about a mailing, and about one journalist over time.

Owns the report queries. Each is one grouped statement over the delivery ledger left-joined to
``delivery_engagement`` (one row per delivery, kept current by the hit writer), so a report of
100,000 recipients is a handful of index scans, never a loop over recipients:

* ``report_breakdown``: per language and per outlet, recipients, sent, failed, bounced, opened,
  clicked, unsubscribed and complaints by conditional counts;
* ``report_over_time``: human opens and clicks per hour (per day past three days) from the raw
  hits, on the (mailing, kind, at) index;
* ``report_links``: clicks, distinct clickers and scanner clicks per target;
* ``report_recipients``: the per-recipient table, filtered, in id order, paged or streamed;
* ``contact_timeline``: a journalist's deliveries on the ``contact_id`` index, newest first.

Test sends are never counted. Opened means a human open or a click (a reader with images off
who clicks has read it); scanner hits are reported apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from mailer.contacts.models import Contact
from mailer.csv_safe import csv_rows
from mailer.db import db
from mailer.dispatch import ledger
from mailer.dispatch.models import Delivery, DeliveryStatus, Mailing
from mailer.errors import Invalid, NotFound
from mailer.releases.models import Release, Translation
from mailer.tracking import engagement
from mailer.tracking.models import DeliveryEngagement, HitKind, TrackedLink, TrackingEvent

E = DeliveryEngagement
MAX_OUTLETS = 20
MAX_LINKS = 100
MAX_BUCKETS = 240
TIMELINE_LIMIT = 500
ENGAGEMENT_FILTERS = ("opened", "not_opened", "clicked", "bounced", "unsubscribed",
                      "complained", "scanner")


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class MailingReport:
    """One mailing's report, as the API returns it and the page draws it."""

    mailing: dict[str, Any]
    counts: dict[str, int]
    rates: dict[str, float | None]
    languages: list[dict[str, Any]]
    outlets: list[dict[str, Any]]
    over_time: dict[str, Any]
    links: list[dict[str, Any]]
    scanners: dict[str, int]
    bounces: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of ``GET /api/v1/mailings/{id}/report``."""
        return {"mailing": self.mailing, "counts": self.counts, "rates": self.rates,
                "languages": self.languages, "outlets": self.outlets,
                "over_time": self.over_time, "links": self.links, "scanners": self.scanners,
                "bounces": self.bounces}


def _breakdown_columns() -> list[ColumnElement[Any]]:
    status = Delivery.status
    return [
        func.count(case((status != DeliveryStatus.SKIPPED, 1))).label("recipients"),
        func.count(case((status == DeliveryStatus.SENT, 1))).label("sent"),
        func.count(case((status == DeliveryStatus.FAILED, 1))).label("failed"),
        func.count(case((status == DeliveryStatus.BOUNCED, 1))).label("bounced"),
        func.count(case(((E.opens > 0) | (E.clicks > 0), 1))).label("opened"),
        func.count(case((E.clicks > 0, 1))).label("clicked"),
        func.count(E.unsubscribed_at).label("unsubscribed"),
        func.count(E.complained_at).label("complaints"),
    ]


def _breakdown(mailing_id: int, key: Any, limit: int | None = None,
               with_contacts: bool = False) -> list[dict[str, Any]]:
    """Named query ``report_breakdown``: the figures per value of ``key``."""
    query = (select(key.label("key"), *_breakdown_columns())
             .select_from(Delivery)
             .outerjoin(E, E.delivery_id == Delivery.id)
             .where(Delivery.mailing_id == mailing_id, Delivery.is_test.is_(False))
             .group_by(key)
             .order_by(func.count(Delivery.id).desc(), key))
    if with_contacts:  # the outlet is the contact's, not the ledger's
        query = query.outerjoin(Contact, Contact.id == Delivery.contact_id)
    if limit:
        query = query.limit(limit)
    rows = []
    for row in db.session.execute(query):
        values = row._asdict()
        values["opened_rate"] = _rate(values["opened"], values["sent"] + values["bounced"])
        values["clicked_rate"] = _rate(values["clicked"], values["sent"] + values["bounced"])
        rows.append(values)
    return rows


def _bucket_expression(unit: str) -> ColumnElement[Any]:
    at = TrackingEvent.at
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, func.timezone("UTC", at))
    return func.strftime("%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00", at)


def _as_utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def over_time(mailing_id: int) -> dict[str, Any]:
    """Named query ``report_over_time``: human opens and clicks per hour or day, gaps filled."""
    human = and_(TrackingEvent.mailing_id == mailing_id, TrackingEvent.scanner == "")
    first, last = db.session.execute(select(func.min(TrackingEvent.at),
                                            func.max(TrackingEvent.at)).where(human)).one()
    if first is None or last is None:
        return {"unit": "hour", "points": []}
    unit = "hour" if last - first <= timedelta(days=3) else "day"
    bucket = _bucket_expression(unit)
    counts: dict[datetime, dict[str, int]] = {}
    for at, kind, count in db.session.execute(
            select(bucket, TrackingEvent.kind, func.count()).where(human)
            .group_by(bucket, TrackingEvent.kind)):
        counts.setdefault(_as_utc(at), {})[str(kind)] = int(count)
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    start = min(counts)
    points: list[dict[str, Any]] = []
    moment = start
    while moment <= max(counts) and len(points) < MAX_BUCKETS:
        found = counts.get(moment, {})
        points.append({"at": moment.isoformat(), "opens": found.get(HitKind.OPEN, 0),
                       "clicks": found.get(HitKind.CLICK, 0)})
        moment += step
    return {"unit": unit, "points": points}


def links(mailing_id: int) -> list[dict[str, Any]]:
    """Named query ``report_links``: per target, human clicks, distinct clickers, scanner hits."""
    human = TrackingEvent.scanner == ""
    rows = db.session.execute(
        select(TrackedLink.url,
               func.count(case((human, 1))).label("clicks"),
               func.count(func.distinct(case((human, TrackingEvent.delivery_id)))).label(
                   "unique_clicks"),
               func.count(case((~human, 1))).label("scanner_clicks"))
        .join(TrackingEvent, TrackingEvent.link_id == TrackedLink.id)
        .where(TrackedLink.mailing_id == mailing_id)
        .group_by(TrackedLink.id, TrackedLink.url)
        .order_by(func.count(case((human, 1))).desc(), TrackedLink.url)
        .limit(MAX_LINKS))
    return [row._asdict() for row in rows]


def scanner_hits(mailing_id: int) -> dict[str, int]:
    """Scanner hits of a mailing by kind and reason."""
    rows = db.session.execute(
        select(TrackingEvent.kind, TrackingEvent.scanner, func.count())
        .where(TrackingEvent.mailing_id == mailing_id, TrackingEvent.scanner != "")
        .group_by(TrackingEvent.kind, TrackingEvent.scanner))
    found = {"opens": 0, "clicks": 0}
    for kind, reason, count in rows:
        found["opens" if kind == HitKind.OPEN else "clicks"] += int(count)
        found[f"reason_{reason}"] = found.get(f"reason_{reason}", 0) + int(count)
    return found


def mailing_report(mailing_id: int) -> MailingReport:
    """The whole report of one mailing; NotFound when there is no such mailing."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        raise NotFound(gettext("No such mailing."))
    release = db.session.get(Release, mailing.release_id)
    statuses = ledger.status_counts(mailing_id)
    tracked = engagement.mailing_counts(mailing_id)
    total = sum(statuses.values())
    counts = {
        "recipients": total - statuses.get("skipped", 0),
        "sent": statuses.get("sent", 0),
        "failed": statuses.get("failed", 0),
        "bounced": statuses.get("bounced", 0),
        "skipped": statuses.get("skipped", 0),
        "waiting": sum(statuses.get(s, 0) for s in ("queued", "claimed", "sending", "deferred")),
        "opened": tracked["opened"],
        "clicked": tracked["clicked"],
        "unsubscribed": tracked["unsubscribed"],
        "complaints": tracked["complaints"],
    }
    reached = counts["sent"] + counts["bounced"]
    bounce_rows = db.session.execute(
        select(E.bounce_kind, func.count()).where(E.mailing_id == mailing_id, E.bounce_kind != "")
        .group_by(E.bounce_kind))
    return MailingReport(
        mailing={"id": mailing.id, "status": mailing.status, "release_id": mailing.release_id,
                 "title": release.title if release else "", "tracking": mailing.tracking,
                 "started_at": _time(mailing.started_at),
                 "finished_at": _time(mailing.finished_at)},
        counts=counts,
        rates={"opened": _rate(counts["opened"], reached),
               "clicked": _rate(counts["clicked"], reached),
               "bounced": _rate(counts["bounced"], reached),
               "unsubscribed": _rate(counts["unsubscribed"], reached)},
        languages=_breakdown(mailing_id, Delivery.language),
        outlets=_breakdown(mailing_id, func.coalesce(Contact.outlet, ""), MAX_OUTLETS,
                           with_contacts=True),
        over_time=over_time(mailing_id),
        links=links(mailing_id),
        scanners=scanner_hits(mailing_id),
        bounces={str(kind): int(n) for kind, n in bounce_rows},
    )


@dataclass(frozen=True)
class RecipientFilter:
    """The per-recipient table's filters (all optional)."""

    status: str = ""
    language: str = ""
    outlet: str = ""
    engagement: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> RecipientFilter:
        """Read and check the query string; 422 names the bad filter."""
        found = cls(status=args.get("status", "").strip(),
                    language=args.get("language", "").strip(),
                    outlet=args.get("outlet", "").strip(),
                    engagement=args.get("engagement", "").strip(),
                    q=args.get("q", "").strip()[:200])
        statuses = {s.value for s in DeliveryStatus}
        if found.status and found.status not in statuses:
            raise Invalid(gettext("Unknown status."), fields={"status": gettext(
                "one of %(allowed)s", allowed=", ".join(sorted(statuses)))})
        if found.engagement and found.engagement not in ENGAGEMENT_FILTERS:
            raise Invalid(gettext("Unknown engagement filter."),
                          fields={"engagement": gettext(
                              "one of %(allowed)s", allowed=", ".join(ENGAGEMENT_FILTERS))})
        return found

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on deliveries ⟕ engagement ⟕ contacts."""
        parts: list[ColumnElement[bool]] = []
        if self.status:
            parts.append(Delivery.status == self.status)
        if self.language:
            parts.append(Delivery.language == self.language)
        if self.outlet:
            parts.append(Contact.outlet == self.outlet)
        if self.q:
            parts.append(func.lower(Delivery.email).contains(self.q.lower(), autoescape=True))
        opened = or_(E.opens > 0, E.clicks > 0)
        by_engagement: dict[str, ColumnElement[bool]] = {
            "opened": opened,
            "not_opened": or_(E.delivery_id.is_(None), ~opened),
            "clicked": E.clicks > 0,
            "bounced": E.bounce_kind != "",
            "unsubscribed": E.unsubscribed_at.is_not(None),
            "complained": E.complained_at.is_not(None),
            "scanner": (E.scanner_opens + E.scanner_clicks) > 0,
        }
        if self.engagement in by_engagement:
            parts.append(by_engagement[self.engagement])
        return parts


def _recipients_query(mailing_id: int, spec: RecipientFilter) -> Select[Any]:
    """Named query ``report_recipients``: one row per delivery with its engagement."""
    query = (select(Delivery.id, Delivery.contact_id, Delivery.email, Delivery.language,
                   Delivery.status, Delivery.skip_reason, Delivery.sent_at, Delivery.smtp_code,
                   Delivery.smtp_reply, Contact.first_name, Contact.last_name, Contact.outlet,
                   E.opens, E.first_opened_at, E.clicks, E.first_clicked_at, E.scanner_opens,
                   E.scanner_clicks, E.unsubscribed_at, E.complained_at, E.bounce_kind,
                   E.bounce_status, E.bounce_diagnostic)
            .select_from(Delivery)
            .outerjoin(E, E.delivery_id == Delivery.id)
            .outerjoin(Contact, Contact.id == Delivery.contact_id)
            .where(Delivery.mailing_id == mailing_id, Delivery.is_test.is_(False),
                   *spec.conditions())
            .order_by(Delivery.id))
    return cast(Select[Any], query)


def _recipient_row(row: Any) -> dict[str, Any]:
    name = " ".join(part for part in (row.first_name, row.last_name) if part)
    return {
        "delivery_id": row.id, "contact_id": row.contact_id, "email": row.email, "name": name,
        "outlet": row.outlet or "", "language": row.language,
        "status": "queued" if row.status == DeliveryStatus.CLAIMED else row.status,
        "skip_reason": row.skip_reason or None, "sent_at": _time(row.sent_at),
        "opened_at": _time(row.first_opened_at or row.first_clicked_at),
        "opens": row.opens or 0, "clicked_at": _time(row.first_clicked_at),
        "clicks": row.clicks or 0,
        "scanner_hits": (row.scanner_opens or 0) + (row.scanner_clicks or 0),
        "unsubscribed_at": _time(row.unsubscribed_at),
        "complained_at": _time(row.complained_at),
        "bounce": ({"kind": row.bounce_kind, "status": row.bounce_status or None,
                    "diagnostic": row.bounce_diagnostic or None} if row.bounce_kind else None),
        "error": (f"{row.smtp_code or ''} {row.smtp_reply}".strip() or None)
        if row.status == DeliveryStatus.FAILED else None,
    }


@dataclass(frozen=True)
class RecipientPage:
    """One page of the per-recipient table."""

    items: list[dict[str, Any]]
    total: int


def recipients(mailing_id: int, spec: RecipientFilter, page: int = 1,
               per_page: int = 50) -> RecipientPage:
    """A page of the per-recipient table."""
    if db.session.get(Mailing, mailing_id) is None:
        raise NotFound(gettext("No such mailing."))
    query = _recipients_query(mailing_id, spec)
    total = db.session.scalar(select(func.count()).select_from(
        query.order_by(None).subquery())) or 0
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page))
    return RecipientPage([_recipient_row(row) for row in rows], int(total))


CSV_HEADER = ("email", "name", "outlet", "language", "status", "skip_reason", "sent_at",
              "opened_at", "opens", "clicked_at", "clicks", "scanner_hits", "bounce_kind",
              "bounce_status", "bounce_diagnostic", "unsubscribed_at", "complained_at", "error")


def recipients_csv(mailing_id: int, spec: RecipientFilter) -> Iterator[str]:
    """The per-recipient table as spreadsheet-safe CSV, streamed in pages of 1,000 rows."""
    if db.session.get(Mailing, mailing_id) is None:
        raise NotFound(gettext("No such mailing."))
    query = _recipients_query(mailing_id, spec).execution_options(yield_per=1000)

    def rows() -> Iterator[list[object]]:
        for row in db.session.execute(query):
            item = _recipient_row(row)
            bounce = item["bounce"] or {}
            yield [item["email"], item["name"], item["outlet"], item["language"],
                   item["status"], item["skip_reason"], item["sent_at"], item["opened_at"],
                   item["opens"], item["clicked_at"], item["clicks"], item["scanner_hits"],
                   bounce.get("kind"), bounce.get("status"), bounce.get("diagnostic"),
                   item["unsubscribed_at"], item["complained_at"], item["error"]]

    return csv_rows(CSV_HEADER, rows())


def contact_timeline(contact_id: int) -> list[dict[str, Any]]:
    """Named query ``contact_timeline``: every release sent to a journalist and what happened."""
    if db.session.get(Contact, contact_id) is None:
        raise NotFound(gettext("No such journalist."))
    rows = db.session.execute(
        select(Delivery.id, Delivery.mailing_id, Delivery.language, Delivery.status,
               Delivery.skip_reason, Delivery.sent_at, Delivery.smtp_code, Delivery.smtp_reply,
               Mailing.release_id, Mailing.created_at, Release.title, Translation.subject,
               E.opens, E.first_opened_at, E.clicks, E.first_clicked_at, E.unsubscribed_at,
               E.unsubscribe_scope, E.complained_at, E.bounce_kind, E.bounce_status,
               E.bounce_diagnostic, E.bounced_at)
        .join(Mailing, Mailing.id == Delivery.mailing_id)
        .outerjoin(Release, Release.id == Mailing.release_id)
        .outerjoin(Translation, and_(Translation.release_id == Mailing.release_id,
                                     Translation.language == Delivery.language))
        .outerjoin(E, E.delivery_id == Delivery.id)
        .where(Delivery.contact_id == contact_id, Delivery.is_test.is_(False))
        .order_by(Delivery.id.desc())
        .limit(TIMELINE_LIMIT))
    return [_timeline_item(row) for row in rows]


def _timeline_item(row: Any) -> dict[str, Any]:
    happened: list[dict[str, Any]] = []
    if row.status in {DeliveryStatus.SENT, DeliveryStatus.BOUNCED}:
        happened.append({"what": "sent", "at": _time(row.sent_at)})
    elif row.status == DeliveryStatus.SKIPPED:
        happened.append({"what": "skipped", "reason": row.skip_reason})
    elif row.status == DeliveryStatus.FAILED:
        happened.append({"what": "failed", "reason": f"{row.smtp_code or ''} "
                                                     f"{row.smtp_reply}".strip()})
    else:
        happened.append({"what": str(row.status)})
    if row.first_opened_at or row.first_clicked_at:
        happened.append({"what": "opened", "at": _time(row.first_opened_at
                                                       or row.first_clicked_at),
                         "count": row.opens or 0})
    if row.first_clicked_at:
        happened.append({"what": "clicked", "at": _time(row.first_clicked_at),
                         "count": row.clicks or 0})
    if row.bounce_kind:
        happened.append({"what": "bounced", "at": _time(row.bounced_at),
                         "kind": row.bounce_kind, "status": row.bounce_status or None,
                         "diagnostic": row.bounce_diagnostic or None})
    if row.complained_at:
        happened.append({"what": "complained", "at": _time(row.complained_at)})
    if row.unsubscribed_at:
        happened.append({"what": "unsubscribed", "at": _time(row.unsubscribed_at),
                         "scope": row.unsubscribe_scope or "all"})
    return {"delivery_id": row.id, "mailing_id": row.mailing_id, "release_id": row.release_id,
            "title": row.title or "", "subject": row.subject or "", "language": row.language,
            "status": "queued" if row.status == DeliveryStatus.CLAIMED else row.status,
            "sent_at": _time(row.sent_at), "happened": happened,
            "summary": [item["what"] for item in happened]}

