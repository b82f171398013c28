"""The audit log: who exported, erased, signed in; admins only; append-only."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import bearer, login


def actions(app: Flask) -> list[tuple[str, str, str]]:
    from mailer.audit.models import AuditEvent
    from mailer.db import db

    with app.app_context():
        return [(e.action, e.actor_email, e.target_id) for e in db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.id))]


def test_exports_erasures_and_sign_ins_are_recorded(app: Flask, staff: dict[str, Any]) -> None:
    client = app.test_client()
    admin = bearer(staff["admin"]["token"])
    created = client.post("/api/v1/contacts", headers=admin, json={
        "email": "=cmd@example.com", "first_name": "Anna"}).get_json()
    assert client.get("/api/v1/contacts/export", headers=admin).status_code == 200
    assert client.post(f"/api/v1/contacts/{created['id']}/erase",
                       headers=admin).status_code in {200, 204}
    browser = app.test_client()
    login(browser, "admin@example.com")
    recorded = actions(app)
    assert ("contacts.exported", "admin@example.com", "") in recorded
    assert ("contact.erased", "admin@example.com", str(created["id"])) in recorded
    assert ("auth.login", "admin@example.com", "") in recorded
    assert not any("cmd@example.com" in str(row) for row in recorded if row[0] == "contact.erased")

    page = browser.get("/audit/?action=contact")
    assert page.status_code == 200
    assert "contact.erased" in page.get_data(as_text=True)
    csv = browser.get("/audit/export.csv").get_data(as_text=True)
    assert csv.startswith("\ufefftime,actor,action")
    assert "contacts.exported" in csv


def test_only_admins_see_the_audit_log(app: Flask, staff: dict[str, Any]) -> None:
    for role, status in (("viewer", 403), ("editor", 403), ("admin", 200)):
        client = app.test_client()
        login(client, f"{role}@example.com")
        assert client.get("/audit/").status_code == status, role
        assert client.get("/audit/export.csv").status_code == status, role


def test_the_log_cannot_be_changed_on_postgresql(app: Flask, staff: dict[str, Any]) -> None:
    from mailer.db import db

    login(app.test_client(), "admin@example.com")
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger is PostgreSQL's")
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("UPDATE audit_events SET actor_email = 'someone@example.com'"))
        db.session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
