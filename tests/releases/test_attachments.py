"""Attachments: type by content, safe names, the size limit, and nothing left on refusal."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from mailer.releases.attachments import sanitise_filename, sniff_content_type
from tests.releases.conftest import Api

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 20
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100


def files_of(app: Flask) -> list[Path]:
    """Every file (and leftover temporary file) under the attachments folder."""
    root = Path(app.instance_path) / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(api: Api, release_id: int, data: bytes, name: str,
           content_type: str = "application/pdf") -> Any:
    """POST one file as multipart, the way curl -F does."""
    return api("POST", f"/releases/{release_id}/attachments",
               data={"file": (io.BytesIO(data), name, content_type)},
               content_type="multipart/form-data")


@pytest.fixture
def release_id(make_release: Callable[..., dict[str, Any]]) -> int:
    """A release to attach files to."""
    return int(make_release()["id"])


@pytest.mark.parametrize(("data", "expected"), [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"),
    (WEBP, "image/webp"), (EXE, None), (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
    (b"<html><script>alert(1)</script>", None), (b"PK\x03\x04", None), (b"", None),
    (b"RIFF\x00\x00\x00\x00WAVE", None),
])
def test_sniffing(data: bytes, expected: str | None) -> None:
    assert sniff_content_type(data[:16]) == expected


@pytest.mark.parametrize(("name", "content_type", "expected"), [
    ("report.pdf", "application/pdf", "report.pdf"),
    ("../../etc/passwd", "application/pdf", "passwd.pdf"),
    ("..\\..\\windows\\system32\\evil.pdf", "application/pdf", "evil.pdf"),
    ("/absolute/path/Доклад 2016.PDF", "application/pdf", "Доклад 2016.pdf"),
    ("..", "application/pdf", "attachment.pdf"),
    ("", "image/png", "attachment.png"),
    (".hidden.png", "image/png", "hidden.png"),
    ("photo.jpg", "image/png", "photo.png"),
    ("photo.JPEG", "image/jpeg", "photo.jpeg"),
    ("setup.exe", "application/pdf", "setup.exe.pdf"),
    ("line\r\nbreak.pdf", "application/pdf", "linebreak.pdf"),
    ("a\x00b.pdf", "application/pdf", "ab.pdf"),
    ("invoice\u202efdp.exe", "application/pdf", "invoicefdp.exe.pdf"),
    ('quote"semi;colon<tag>.pdf', "application/pdf", "quote_semi_colon_tag_.pdf"),
    ("x" * 300 + ".pdf", "application/pdf", "x" * 146 + ".pdf"),
])
def test_sanitised_names(name: str, content_type: str, expected: str) -> None:
    assert sanitise_filename(name, content_type) == expected


def test_upload_list_download_delete(app: Flask, api: Api, release_id: int) -> None:
    response = upload(api, release_id, PDF, "Press kit.pdf")
    assert response.status_code == 201
    attachment = response.get_json()
    assert attachment["filename"] == "Press kit.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert attachment["size"] == len(PDF)
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    [stored] = files_of(app)
    assert stored.parent.name == str(release_id)
    assert stored.parent.parent == Path(app.instance_path) / "attachments"
    assert stored.read_bytes() == PDF
    assert "Press" not in stored.name  # a random name, nothing from the client

    listing = api("GET", f"/releases/{release_id}/attachments").get_json()
    assert listing["items"] == [attachment]
    assert api("GET", f"/releases/{release_id}").get_json()["attachments"] == [attachment]

    download = api("GET", attachment["url"].removeprefix("/api/v1"))
    assert download.status_code == 200
    assert download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]

    assert api("DELETE", f"/releases/{release_id}/attachments/{attachment['id']}") \
        .status_code == 204
    assert files_of(app) == []
    assert api("GET", f"/releases/{release_id}/attachments/{attachment['id']}") \
        .status_code == 404


def test_the_client_content_type_is_not_trusted(app: Flask, api: Api, release_id: int) -> None:
    response = upload(api, release_id, EXE, "brochure.pdf", "application/pdf")
    assert response.status_code == 422
    assert "file" in response.get_json()["error"]["fields"]
    assert files_of(app) == []
    png = upload(api, release_id, PNG, "chart.pdf", "application/pdf").get_json()
    assert (png["content_type"], png["filename"]) == ("image/png", "chart.png")


def test_path_traversal_names_are_sanitised(app: Flask, api: Api, release_id: int) -> None:
    response = upload(api, release_id, PDF, "../../etc/passwd")
    assert response.status_code == 201
    assert response.get_json()["filename"] == "passwd.pdf"
    [stored] = files_of(app)
    assert stored.parent == Path(app.instance_path) / "attachments" / str(release_id)
    assert not (Path(app.instance_path).parent / "etc").exists()


def test_oversize_is_refused_and_nothing_is_written(app: Flask, api: Api,
                                                    release_id: int) -> None:
    app.config["MAILER_ATTACHMENT_MAX_BYTES"] = 1000
    response = upload(api, release_id, PDF + b"\x00" * 1000, "big.pdf")
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["fields"]["file"] == "must be at most 1000 bytes"
    assert files_of(app) == []
    assert not (Path(app.instance_path) / "attachments" / str(release_id)).exists()
    exactly = upload(api, release_id, PDF + b"\x00" * (1000 - len(PDF)), "fits.pdf")
    assert exactly.status_code == 201
    assert api("GET", f"/releases/{release_id}/attachments").get_json()["total"] == 1


def test_refusals(app: Flask, api: Api, release_id: int) -> None:
    empty = upload(api, release_id, b"", "empty.pdf")
    assert empty.status_code == 422
    missing = api("POST", f"/releases/{release_id}/attachments", data={},
                  content_type="multipart/form-data")
    assert missing.status_code == 422
    assert missing.get_json()["error"]["fields"] == {"file": "required"}
    assert upload(api, 999, PDF, "x.pdf").status_code == 404
    assert files_of(app) == []


def test_deleting_the_release_removes_its_files(app: Flask, api: Api, release_id: int) -> None:
    upload(api, release_id, GIF, "a.gif")
    upload(api, release_id, WEBP, "b.webp")
    assert len(files_of(app)) == 2
    assert api("DELETE", f"/releases/{release_id}").status_code == 204
    assert files_of(app) == []


def test_attachment_of_another_release_is_not_found(api: Api, release_id: int,
                                                    make_release: Callable[..., Any]) -> None:
    other = make_release()["id"]
    attachment = upload(api, release_id, JPEG, "a.jpg").get_json()
    assert api("GET", f"/releases/{other}/attachments/{attachment['id']}").status_code == 404
    assert api("DELETE", f"/releases/{other}/attachments/{attachment['id']}").status_code == 404
