"""The open pixel and the click redirect: what they answer, what they record, scanners, no open
redirects, and contacts who are never tracked."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Flask

from tests.tracking.support import flush_hits, links, make_sent

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def path_of(app: Flask, url: str) -> str:
    return url.removeprefix(app.config["MAILER_PUBLIC_URL"])


def engagement(app: Flask, delivery_id: int) -> dict[str, object]:
    from mailer.tracking.engagement import delivery_fields

    with app.app_context():
        return delivery_fields(delivery_id)


def test_open_pixel_is_a_43_byte_gif_and_counts(app: Flask) -> None:
    sent = make_sent(app)
    url = path_of(app, links(app).open_url(sent.ref()))
    client = app.test_client()
    for _ in range(3):
        response = client.get(url, headers={"User-Agent": BROWSER})
        assert response.status_code == 200
        assert response.mimetype == "image/gif"
        assert len(response.data) == 43 and response.data.startswith(b"GIF89a")
        assert "no-store" in response.headers["Cache-Control"]
    assert engagement(app, sent.delivery_id)["opened_at"] is None  # buffered, not yet written
    assert flush_hits(app) == 3
    found = engagement(app, sent.delivery_id)
    assert found["opens"] == 3 and found["opened_at"] and found["clicked_at"] is None


def test_click_lands_on_exactly_the_signed_address(app: Flask) -> None:
    sent = make_sent(app)
    target = "https://example.org/report?id=7&lang=ru#part-2"
    url = path_of(app, links(app).click_url(sent.ref(), target))
    response = app.test_client().get(url, headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response.headers["Location"] == target
    flush_hits(app)
    found = engagement(app, sent.delivery_id)
    assert found["clicks"] == 1 and found["clicked_at"] and found["opened_at"]

    from mailer.db import db
    from mailer.tracking.models import TrackedLink, TrackingEvent

    with app.app_context():
        link = db.session.query(TrackedLink).one()
        assert (link.mailing_id, link.url) == (sent.mailing_id, target)
        event = db.session.query(TrackingEvent).one()
        assert (event.kind, event.link_id, event.scanner) == ("click", link.id, "")


def test_non_ascii_targets_are_sent_as_uri(app: Flask) -> None:
    sent = make_sent(app)
    target = "https://пример.рф/новости?q=да"
    url = path_of(app, links(app).click_url(sent.ref(), target))
    response = app.test_client().get(url)
    assert response.headers["Location"] == \
        "https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8?q=%D0%B4%D0%B0"


@pytest.mark.parametrize("suffix", [
    "?url=https://evil.example/",
    "?next=//evil.example&redirect=https%3A%2F%2Fevil.example",
    "/https://evil.example",
    "%2F%2Fevil.example",
])
def test_no_parameter_or_path_can_change_the_target(app: Flask, suffix: str) -> None:
    sent = make_sent(app)
    url = path_of(app, links(app).click_url(sent.ref(), "https://example.org/r"))
    response = app.test_client().get(url + suffix)
    if suffix.startswith("?"):
        assert response.headers["Location"] == "https://example.org/r"
    else:
        assert response.status_code == 404
        assert "Location" not in response.headers


@pytest.mark.parametrize("path", [
    "/t/c//evil.example", "/t/c/%2F%2Fevil.example", "/t/c/https://evil.example",
    "/t/c/%68ttps%3A%2F%2Fevil.example", "/t/c/\\\\evil.example", "/t/c/",
])
def test_crafted_paths_land_nowhere(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_tokens_signed_with_another_key_or_for_another_use_are_refused(app: Flask) -> None:
    from mailer.releases.links import Links

    sent = make_sent(app)
    forged = Links(app.config["MAILER_PUBLIC_URL"], "somebody else's key")
    client = app.test_client()
    assert client.get(path_of(app, forged.click_url(sent.ref(), "https://evil.example/"))
                      ).status_code == 404
    assert client.get(path_of(app, forged.open_url(sent.ref()))).status_code == 404
    # A genuine unsubscribe token is not a click token.
    token = links(app).unsubscribe_url(sent.ref()).rpartition("/")[2]
    assert client.get(f"/t/c/{token}").status_code == 404
    assert client.get(f"/t/o/{token}.gif").status_code == 404
    assert flush_hits(app) == 0


@pytest.mark.parametrize("target", ["javascript:alert(1)", "data:text/html,<b>x</b>",
                                    "mailto:press@example.org", "//evil.example/x",
                                    "https:///nohost", "ftp://example.org/file"])
def test_non_http_targets_are_refused_even_when_signed(app: Flask, target: str) -> None:
    sent = make_sent(app)
    response = app.test_client().get(path_of(app, links(app).click_url(sent.ref(), target)))
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_scanners_are_recorded_apart(app: Flask) -> None:
    sent = make_sent(app)
    fresh = make_sent(app, "fresh@example.org", sent_ago=timedelta(seconds=1),
                      list_id=sent.list_id, release_id=sent.release_id)
    client = app.test_client()
    open_url = path_of(app, links(app).open_url(sent.ref()))
    click_url = path_of(app, links(app).click_url(sent.ref(), "https://example.org/r"))
    assert client.head(open_url).status_code == 200  # HEAD: a scanner
    client.get(click_url, headers={"User-Agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"})
    client.get(open_url, headers={"User-Agent": ""})
    client.get(click_url, headers={"User-Agent": "python-requests/2.32"})
    # Within seconds of sending: a security gateway following every link.
    client.get(path_of(app, links(app).click_url(fresh.ref(), "https://example.org/r")),
               headers={"User-Agent": BROWSER})
    client.get(path_of(app, links(app).open_url(fresh.ref())), headers={"User-Agent": BROWSER})
    flush_hits(app)
    found = engagement(app, sent.delivery_id)
    assert found["opens"] == 0 and found["clicks"] == 0 and found["scanner_hits"] == 4
    assert found["opened_at"] is None
    assert engagement(app, fresh.delivery_id)["scanner_hits"] == 2
    from mailer.tracking.reports import mailing_report

    with app.app_context():
        report = mailing_report(sent.mailing_id)
        assert report.counts["opened"] == 0
        assert report.scanners["opens"] == 2 and report.scanners["clicks"] == 2
        assert report.scanners["reason_head"] == 1 and report.scanners["reason_agent"] == 2


def test_preview_tokens_answer_but_record_nothing(app: Flask) -> None:
    from mailer.releases.links import DeliveryRef

    preview = DeliveryRef(0, None)
    client = app.test_client()
    assert client.get(path_of(app, links(app).open_url(preview))).status_code == 200
    response = client.get(path_of(app, links(app).click_url(preview, "https://example.org/")))
    assert response.headers["Location"] == "https://example.org/"
    assert flush_hits(app) == 0


def test_the_writer_thread_flushes_within_moments(app: Flask) -> None:
    from mailer.tracking.hits import hit_buffer

    sent = make_sent(app)
    url = path_of(app, links(app).open_url(sent.ref()))
    client = app.test_client()
    for _ in range(50):
        client.get(url, headers={"User-Agent": BROWSER})
    deadline = time.monotonic() + 5
    while hit_buffer(app).pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert engagement(app, sent.delivery_id)["opens"] == 50


def test_a_failed_write_keeps_the_hits(app: Flask) -> None:
    from mailer.tracking.buffer import Hit, HitBuffer

    written: list[Hit] = []
    fail = [True]

    def write(batch: object) -> None:
        if fail[0]:
            raise RuntimeError("database away")
        assert isinstance(batch, list)
        written.extend(batch)

    buffer = HitBuffer(write, interval=3600)
    for n in range(5):
        buffer._pending.append(Hit("open", n + 1, None, 0.0, "", ""))
    with pytest.raises(RuntimeError):
        buffer.flush()
    assert buffer.pending() == 5
    fail[0] = False
    assert buffer.flush() == 5
    assert [hit.delivery_id for hit in written] == [1, 2, 3, 4, 5]


def test_other_methods_and_paths_fall_through_to_flask(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/t/o/whatever.gif").status_code in {404, 405}
    assert client.get("/t/x/abc").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_contacts_with_tracking_off_get_no_pixel_and_no_rewritten_links(app: Flask) -> None:
    from email import message_from_bytes, policy

    from mailer.dispatch.compose import InstanceSettings, MailingComposer
    from mailer.dispatch.ledger import ClaimedDelivery

    tracked = make_sent(app, "tracked@example.org", "en")
    private = make_sent(app, "private@example.org", "en", release_id=tracked.release_id,
                        list_id=tracked.list_id, contact={"tracking": False})
    with app.app_context():
        composer = MailingComposer(tracked.mailing_id, tracked.release_id,
                                   InstanceSettings.from_config(app.config))
        batch = [ClaimedDelivery(s.delivery_id, s.contact_id, s.email, "en", s.message_id, 0)
                 for s in (tracked, private)]
        composer.prepare(batch)
        messages = {d.email: message_from_bytes(composer.compose(d).data, policy=policy.default)
                    for d in batch}

    def html(email: str) -> str:
        part = messages[email].get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())

    assert "/t/o/" in html("tracked@example.org") and "/t/c/" in html("tracked@example.org")
    assert "/t/o/" not in html("private@example.org")
    assert "/t/c/" not in html("private@example.org")
    assert 'href="https://example.org/r"' in html("private@example.org")
    # Unsubscribing stays possible for everyone.
    for email in messages:
        assert "/u/" in messages[email]["List-Unsubscribe"]


def test_encoded_gif_suffix_variants(app: Flask) -> None:
    sent = make_sent(app)
    token = links(app).open_url(sent.ref()).rpartition("/")[2].removesuffix(".gif")
    client = app.test_client()
    assert client.get(f"/t/o/{token}").status_code == 404  # the suffix is part of the address
    assert client.get(f"/t/o/{quote(token)}.gif").status_code == 200
