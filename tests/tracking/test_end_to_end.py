"""End to end through the real worker: a mailing arrives at the SMTP sink, the recipient uses
the one-click unsubscribe of the message they got, and the next mailing skips them; the pixel
and the tracked link of a received message show up in the report."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest

from tests.conftest import Stack
from tests.dispatch.test_mailings import (
    Api,
    add_contacts,
    new_list,
    new_release,
    wait_status,
)
from tests.support.processes import ServiceProcess
from tests.support.smtp import SmtpSink
from tests.tracking.support import FORM, ONE_CLICK_BODY, flush_hits

pytestmark = pytest.mark.timeout(240)


def received(sink: SmtpSink, address: str) -> EmailMessage:
    found = [m for m in sink.messages if m.rcpt_tos == [address]][-1]
    message = message_from_bytes(found.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_unsubscribe_from_a_received_message_skips_the_next_mailing(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink) -> None:
    api = Api(stack.app)
    desk = new_list(api)
    add_contacts(stack.app, desk, 3)
    release = new_release(api)
    first = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    api("POST", f"/mailings/{first['id']}/send", expect=202)
    wait_status(api, first["id"], "sent")
    smtp_sink.wait_for(3)

    message = received(smtp_sink, "reporter0@example.com")
    header = str(message["List-Unsubscribe"])
    https = re.search(r"<(http[^>]+)>", header)
    mailto = re.search(r"<(mailto:[^>]+)>", header)
    assert https and mailto and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    client = stack.app.test_client(use_cookies=False)
    # What Gmail does with those two headers: one POST, no cookie, no page.
    response = client.post(urlsplit(https.group(1)).path, data=ONE_CLICK_BODY,
                           content_type=FORM, headers={"User-Agent": "Google-Unsubscribe"})
    assert response.status_code == 200
    assert 'lang="ru"' in response.get_data(as_text=True)  # reporter0 reads Russian

    # The reader of the next message opens it and clicks its link.
    html_part = received(smtp_sink, "reporter1@example.com").get_body(preferencelist=("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    pixel = re.search(r'<img src="([^"]+/t/o/[^"]+)"', html)
    click = re.search(r'href="([^"]+/t/c/[^"]+)"', html)
    assert pixel and click
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
    stack.app.config["MAILER_SCANNER_SECONDS"] = 0  # a reader this fast is not a scanner here
    assert client.get(urlsplit(pixel.group(1)).path, headers=browser).status_code == 200
    landed = client.get(urlsplit(click.group(1)).path, headers=browser)
    assert landed.status_code == 302 and landed.headers["Location"] == "https://example.org/c"
    flush_hits(stack.app)

    second = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    api("POST", f"/mailings/{second['id']}/send", expect=202)
    done = wait_status(api, second["id"], "sent")
    smtp_sink.wait_for(5)
    time.sleep(0.3)
    assert smtp_sink.by_recipient() == {"reporter0@example.com": 1, "reporter1@example.com": 2,
                                        "reporter2@example.com": 2}
    assert done["counts"]["skipped"] == 1
    skipped = api("GET", f"/mailings/{second['id']}/deliveries?status=skipped")["items"]
    assert [d["email"] for d in skipped] == ["reporter0@example.com"]

    report = api("GET", f"/mailings/{first['id']}/report")
    assert report["counts"]["unsubscribed"] == 1
    assert report["counts"]["opened"] == 1 and report["counts"]["clicked"] == 1
    assert report["links"][0]["url"] == "https://example.org/c"
