"""Factory functions for journalist tests: rows made through the services, ids returned."""

from __future__ import annotations

from typing import Any

from flask import Flask


def make_contact(app: Flask, email: str = "desk@example.com", **fields: Any) -> int:
    """Create a contact through the service; returns its id."""
    from mailer.contacts import service

    with app.app_context():
        return service.create_contact({"email": email, **fields}).id


def make_list(app: Flask, name: str = "Central Asia", members: tuple[int, ...] = ()) -> int:
    """Create a list (optionally with members); returns its id."""
    from mailer.contacts import lists

    with app.app_context():
        row = lists.create_list({"name": name})
        if members:
            lists.add_members(row.id, list(members))
        return row.id


def make_segment(app: Flask, name: str = "Segment", **filters: Any) -> int:
    """Save a segment with these filters; returns its id."""
    from mailer.contacts import segments

    with app.app_context():
        return segments.create_segment({"name": name, "filters": filters}).id


def suppress(app: Flask, email: str, reason: str = "manual") -> None:
    """Put an address on the suppression list."""
    from mailer.contacts import suppressions

    with app.app_context():
        suppressions.suppress(email, reason)
