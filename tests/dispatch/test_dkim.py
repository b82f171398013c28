"""DKIM: with a key configured, every message is signed, List-Unsubscribe included."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import dkim
import pytest
from flask import Flask

from mailer.rendering.dkim import DkimKey, sign
from tests.conftest import bearer


def make_key(folder: Path) -> tuple[Path, bytes]:
    """A fresh RSA key (PEM file) and its public half as a DKIM DNS record."""
    private = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def dns(record: bytes, name: str) -> Any:
    def lookup(queried: bytes, timeout: int = 5) -> bytes | None:
        return record if queried == name.encode() else None

    return lookup


def test_signature_verifies_and_covers_list_unsubscribe(tmp_path: Path) -> None:
    private, record = make_key(tmp_path)
    key = DkimKey.load(private, "example.org", "press")
    message = (b"From: Press <press@example.org>\r\nTo: a@example.com\r\nSubject: Hi\r\n"
               b"Date: Mon, 30 Nov 2026 21:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n"
               b"List-Unsubscribe: <https://press.example.org/u/t>\r\n"
               b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nBody\r\n")
    signed = sign(message, key)
    assert signed.startswith(b"DKIM-Signature:")
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    assert "list-unsubscribe:list-unsubscribe-post" in header.replace("\r\n", "").replace(" ", "")
    assert dkim.verify(signed, dnsfunc=dns(record, "press._domainkey.example.org."))
    tampered = signed.replace(b"https://press.example.org/u/t", b"https://evil.example/u/t")
    assert not dkim.verify(tampered, dnsfunc=dns(record, "press._domainkey.example.org."))


def test_a_pem_is_required(tmp_path: Path) -> None:
    bad = tmp_path / "key.txt"
    bad.write_text("not a key")
    with pytest.raises(ValueError, match="PEM"):
        DkimKey.load(bad, "example.org", "press")


def test_dispatch_signs_every_message_when_configured(app: Flask, staff: dict[str, Any],
                                                      tmp_path: Path) -> None:
    from mailer.dispatch.compose import InstanceSettings, MailingComposer
    from mailer.dispatch.ledger import ClaimedDelivery

    private, record = make_key(tmp_path)
    client = app.test_client()
    release = client.post("/api/v1/releases", headers=bearer(staff["editor"]["token"]), json={
        "title": "Conference", "default_language": "en",
        "translations": {"en": {"subject": "Conference",
                                "body": "# News\n\nDear {{ first_name }}."}},
    }).get_json()
    app.config.update(MAILER_DKIM_KEY=str(private), MAILER_DKIM_SELECTOR="press")
    with app.app_context():
        settings = InstanceSettings.from_config(app.config)
        assert settings.dkim is not None and settings.dkim.domain == "example.org"
        composer = MailingComposer(1, release["id"], settings)
        composer.prepare([])
        envelope = composer.compose(ClaimedDelivery(7, None, "desk@example.com", "en",
                                                    "<m7@example.org>", 0))
    assert envelope.data.startswith(b"DKIM-Signature:")
    assert dkim.verify(envelope.data, dnsfunc=dns(record, "press._domainkey.example.org."))
