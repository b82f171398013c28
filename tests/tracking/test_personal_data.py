"""A journalist's right of access and erasure over their deliveries, hits and bounces: the data
download shows them all, and erasing leaves the reports' figures but no address in clear."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from tests.conftest import bearer
from tests.tracking import bounce_samples as samples
from tests.tracking.support import Sent, flush_hits, links, make_sent

EMAIL = "Anna.Erase@example.kz"
OTHER = "other@example.kz"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"
TABLES = ("deliveries", "bounces", "delivery_engagement", "tracking_events")


def _path(app: Flask, url: str) -> str:
    return url.removeprefix(app.config["MAILER_PUBLIC_URL"])


def _ingest(app: Flask, raw: bytes) -> dict[str, Any]:
    from mailer.tracking.bounces import ingest, secrets_from_config

    with app.app_context():
        return ingest(raw, secrets_from_config(app.config)).as_dict()


def _add_delivery(app: Flask, **fields: Any) -> int:
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    with app.app_context():
        row = Delivery(**fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def populate(app: Flask) -> dict[str, Any]:
    """The journalist's history: a mailing they opened, clicked and hard-bounced (beside
    another recipient), a refused one, one still queued, one under an old contact id, a test
    send, a bounce naming them that matched nothing, and their preference-centre choices."""
    from sqlalchemy import update

    from mailer.contacts.validation import email_hash
    from mailer.db import db
    from mailer.dispatch.models import Delivery
    from mailer.dispatch.verp import verp_address
    from mailer.tracking import preferences
    from mailer.tracking.bounces import record_smtp_rejection
    from mailer.tracking.models import BounceScore

    sent = make_sent(app, EMAIL, "ru")
    common = {"list_id": sent.list_id, "release_id": sent.release_id}
    other = make_sent(app, OTHER, "ru", **common)
    refused = make_sent(app, EMAIL, "ru", status="failed", **common)
    queued = make_sent(app, EMAIL, "ru", status="queued", **common)
    old = make_sent(app, "old@example.kz", "ru", **common)
    with app.app_context():
        db.session.execute(update(Delivery).where(Delivery.id == other.delivery_id)
                           .values(mailing_id=sent.mailing_id))
        # A delivery from before the contact was deleted and created again: the old id.
        db.session.execute(update(Delivery).where(Delivery.id == old.delivery_id)
                           .values(contact_id=987654, email=EMAIL))
        db.session.execute(update(Delivery).where(Delivery.id == refused.delivery_id)
                           .values(smtp_code=550,
                                   smtp_reply=f"5.1.1 <{EMAIL.lower()}>: mailbox unavailable"))
        preferences.set_choices(sent.contact_id, [], ["ru", "kk"])
        db.session.add(BounceScore(email_hash=email_hash(EMAIL), score=1.0, bounces=1))
        db.session.commit()
        record_smtp_rejection(refused.delivery_id, 550,
                              f"5.1.1 <{EMAIL.lower()}>: mailbox unavailable")
    test_send = _add_delivery(app, mailing_id=sent.mailing_id, contact_id=None, email=EMAIL,
                              is_test=True, status="sent", smtp_reply=f"250 OK <{EMAIL}>")
    client = app.test_client()
    for target in (sent, other):
        client.get(_path(app, links(app).open_url(target.ref())), headers={"User-Agent": BROWSER})
    client.get(_path(app, links(app).open_url(sent.ref())), headers={"User-Agent": BROWSER})
    client.get(_path(app, links(app).click_url(sent.ref(), "https://example.org/r?id=7")),
               headers={"User-Agent": BROWSER})
    assert flush_hits(app) == 4
    verp = verp_address(sent.delivery_id, app.config["SECRET_KEY"],
                        app.config["MAILER_BOUNCE_DOMAIN"])
    assert _ingest(app, samples.postfix_dsn(verp, EMAIL, sent.message_id))["matched"] is True
    # Names the address in another case and matches no delivery.
    stray = _ingest(app, samples.postfix_dsn("someone@else.example", EMAIL.upper(),
                                             "<not-ours@else.example>"))
    assert stray["matched"] is False
    return {"sent": sent, "other": other, "refused": refused, "queued": queued, "old": old,
            "test_send": test_send}


def _data(app: Flask, staff: dict[str, Any], contact_id: int) -> dict[str, Any]:
    response = app.test_client().get(f"/api/v1/contacts/{contact_id}/data",
                                     headers=bearer(staff["viewer"]["token"]))
    assert response.status_code == 200
    data: dict[str, Any] = response.get_json()
    return data


def _documented_schema() -> dict[str, Any]:
    from mailer.web.openapi import document

    doc = copy.deepcopy(document())
    operation = doc["paths"]["/api/v1/contacts/{contact_id}/data"]["get"]
    schema: dict[str, Any] = operation["responses"]["200"]["content"]["application/json"][
        "schema"]
    return {**schema, "components": doc["components"]}  # so "#/components/…" resolves


def test_access_shows_deliveries_events_bounces_and_preferences(
        app: Flask, staff: dict[str, Any]) -> None:
    made = populate(app)
    sent: Sent = made["sent"]
    data = _data(app, staff, sent.contact_id)
    Draft202012Validator(_documented_schema()).validate(data)
    assert set(data) == {"contact", "lists", "suppression", "preferences", "deliveries",
                         "events", "bounces", "exported_at"}
    assert data["suppression"]["reason"] == "hard_bounce"

    prefs = data["preferences"]
    assert prefs["languages"] == ["ru", "kk"]
    assert [item["id"] for item in prefs["opted_out_lists"]] == [sent.list_id]
    assert prefs["opted_out_lists"][0]["opted_out_at"].endswith("+00:00")

    deliveries = data["deliveries"]
    # Newest first; the test send is not theirs to see, the old contact id's row is.
    assert [d["id"] for d in deliveries] == [made["old"].delivery_id, made["queued"].delivery_id,
                                             made["refused"].delivery_id, sent.delivery_id]
    first = deliveries[-1]
    assert (first["mailing_id"], first["title"], first["language"], first["status"]) == \
        (sent.mailing_id, "Conference", "ru", "bounced")
    assert first["email"] == EMAIL and first["sent_at"].endswith("+00:00")
    engaged = first["engagement"]
    assert (engaged["opens"], engaged["clicks"]) == (2, 1)
    assert engaged["first_opened_at"] and engaged["last_clicked_at"]
    assert engaged["bounce"]["kind"] == "hard" and EMAIL in engaged["bounce"]["diagnostic"]
    refused = deliveries[-2]
    assert refused["status"] == "failed" and refused["smtp_code"] == 550
    assert EMAIL.lower() in refused["smtp_reply"]
    assert deliveries[1]["status"] == "queued" and deliveries[1]["engagement"] is None

    events = data["events"]
    assert {e["delivery_id"] for e in events} == {sent.delivery_id}  # not the other reader's
    assert sorted(e["kind"] for e in events) == ["click", "open", "open"]
    assert all(e["user_agent"] == BROWSER and e["scanner"] is None for e in events)
    [click] = [e for e in events if e["kind"] == "click"]
    assert click["url"] == "https://example.org/r?id=7"
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)

    bounces = data["bounces"]
    assert len(bounces) == 3
    assert {(b["source"], b["delivery_id"]) for b in bounces} == {
        ("api", sent.delivery_id), ("smtp", made["refused"].delivery_id), ("api", None)}
    assert sorted(b["email"] for b in bounces) == sorted([EMAIL, EMAIL, EMAIL.upper()])
    assert all(b["kind"] == "hard" and b["status"] and b["received_at"] for b in bounces)
    assert all(b["diagnostic"] for b in bounces)

    # The other recipient's data shows none of hers.
    other = _data(app, staff, made["other"].contact_id)
    assert [d["id"] for d in other["deliveries"]] == [made["other"].delivery_id]
    assert other["bounces"] == [] and len(other["events"]) == 1
    assert other["preferences"] == {"languages": [], "languages_updated_at": None,
                                    "opted_out_lists": []}


def _dump(app: Flask) -> dict[str, str]:
    """Every row of the four tables, as text."""
    from sqlalchemy import text

    from mailer.db import db

    with app.app_context():
        return {table: "\n".join(" | ".join(str(value) for value in row) for row in
                                 db.session.execute(text(f"SELECT * FROM {table}")))  # noqa: S608
                for table in TABLES}


def _figures(app: Flask, mailing_ids: list[int]) -> dict[int, Any]:
    from mailer.dispatch import ledger
    from mailer.tracking.reports import mailing_report

    with app.app_context():
        return {mailing_id: (ledger.status_counts(mailing_id),
                             ledger.status_counts(mailing_id, tests=True),
                             ledger.language_counts(mailing_id),
                             mailing_report(mailing_id).counts,
                             mailing_report(mailing_id).bounces,
                             mailing_report(mailing_id).links)
                for mailing_id in mailing_ids}


def test_erasure_clears_the_address_everywhere_and_keeps_the_figures(
        app: Flask, staff: dict[str, Any]) -> None:
    from sqlalchemy import select

    from mailer.db import db
    from mailer.dispatch.models import Delivery
    from mailer.tracking.models import (
        Bounce,
        BounceScore,
        ContactPreference,
        DeliveryEngagement,
        ListOptOut,
        TrackingEvent,
    )

    made = populate(app)
    sent: Sent = made["sent"]
    finished = [sent.mailing_id, made["refused"].mailing_id, made["old"].mailing_id]
    before = _figures(app, finished)
    dump = _dump(app)
    assert EMAIL.lower() in dump["deliveries"].lower()  # the test sees what it looks for
    assert EMAIL.lower() in dump["bounces"].lower()
    assert EMAIL.lower() in dump["delivery_engagement"].lower()
    with app.app_context():
        scores = db.session.scalars(select(BounceScore)).all()

    client = app.test_client()
    for role in ("viewer", "editor"):
        assert client.post(f"/api/v1/contacts/{sent.contact_id}/erase",
                           headers=bearer(staff[role]["token"])).status_code == 403
    assert _dump(app) == dump  # a refused erasure changes nothing
    assert client.post(f"/api/v1/contacts/{sent.contact_id}/erase",
                       headers=bearer(staff["admin"]["token"])).status_code == 204

    after = _dump(app)
    local = EMAIL.split("@")[0].lower()
    for table in TABLES:
        assert local not in after[table].lower(), table
    assert _figures(app, finished) == before
    theirs = [made[name].delivery_id for name in ("sent", "refused", "queued", "old")]
    with app.app_context():
        rows = {row.id: row for row in db.session.scalars(
            select(Delivery).where(Delivery.id.in_([*theirs, made["test_send"]])))}
        assert all((row.email, row.contact_id, row.smtp_reply) == ("", None, "")
                   for row in rows.values())
        assert rows[sent.delivery_id].status == "bounced"
        assert (rows[made["refused"].delivery_id].status,
                rows[made["refused"].delivery_id].smtp_code) == ("failed", 550)
        assert rows[sent.delivery_id].sent_at is not None
        # Waiting to be sent, it is skipped as the send-time check would skip it.
        assert (rows[made["queued"].delivery_id].status,
                rows[made["queued"].delivery_id].skip_reason) == ("skipped", "suppressed")
        engagement = db.session.get(DeliveryEngagement, sent.delivery_id)
        assert engagement is not None
        assert (engagement.opens, engagement.clicks, engagement.bounce_kind,
                engagement.bounce_diagnostic) == (2, 1, "hard", "")
        assert {e.user_agent for e in db.session.scalars(
            select(TrackingEvent).where(TrackingEvent.delivery_id == sent.delivery_id))} == {""}
        # The other reader keeps everything.
        other = db.session.get(Delivery, made["other"].delivery_id)
        assert other is not None and other.email == OTHER
        assert {e.user_agent for e in db.session.scalars(
            select(TrackingEvent).where(TrackingEvent.delivery_id == other.id))} == {BROWSER}
        bounces = db.session.scalars(select(Bounce)).all()
        assert len(bounces) == 3
        assert all((b.email, b.diagnostic, b.subject) == ("", "", "") for b in bounces)
        assert all(b.kind == "hard" and b.status and b.received_at for b in bounces)
        assert db.session.scalars(select(ListOptOut)).all() == []
        assert db.session.scalars(select(ContactPreference)).all() == []
        # Keyed by the address's hash only: left as it was.
        assert [(s.email_hash, s.bounces) for s in db.session.scalars(select(BounceScore))] \
            == [(s.email_hash, s.bounces) for s in scores] != []

    # Their old mail opened after the erasure still counts, and keeps nothing about the reader.
    client.get(_path(app, links(app).open_url(sent.ref())), headers={"User-Agent": BROWSER})
    assert flush_hits(app) == 1
    with app.app_context():
        engagement = db.session.get(DeliveryEngagement, sent.delivery_id)
        assert engagement is not None and engagement.opens == 3
        assert {e.user_agent for e in db.session.scalars(
            select(TrackingEvent).where(TrackingEvent.delivery_id == sent.delivery_id))} == {""}


@pytest.mark.parametrize("spelling", ["ERASE.ME@пример.испытание",
                                      "erase.me@xn--e1afmkfd.xn--80akhbyknj4f"])
def test_an_internationalised_address_is_found_in_either_spelling(
        app: Flask, staff: dict[str, Any], spelling: str) -> None:
    from sqlalchemy import select

    from mailer.db import db
    from mailer.dispatch.models import Delivery
    from mailer.tracking.models import Bounce

    sent = make_sent(app, "Erase.Me@пример.испытание")
    with app.app_context():
        # A report naming the Unicode or the punycode spelling, matched to no delivery.
        db.session.add(Bounce(source="imap", kind="hard", email=spelling, status="5.1.1",
                              diagnostic=f"550 <{spelling}> unknown", digest="x" * 64))
        db.session.commit()
    data = _data(app, staff, sent.contact_id)
    assert [b["email"] for b in data["bounces"]] == [spelling]
    assert app.test_client().post(f"/api/v1/contacts/{sent.contact_id}/erase",
                                  headers=bearer(staff["admin"]["token"])).status_code == 204
    with app.app_context():
        assert db.session.execute(select(Bounce.email, Bounce.diagnostic)).one() == ("", "")
        assert db.session.scalars(select(Delivery.email)).one() == ""
