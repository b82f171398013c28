"""`mailer run`, the whole service in one process, driven through Chromium and over SMTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.processes import BIN, ServiceProcess, running, wait_for_http
from tests.support.services import free_port
from tests.support.smtp import SmtpSink

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@dataclass
class RunningService:
    url: str
    process: ServiceProcess
    admin_email: str
    admin_password: str


def start_service(tmp_path: Path, env: dict[str, str],
                  extra: tuple[str, ...] = ()) -> Iterator[RunningService]:
    port = free_port()
    env = {"MAILER_INSTANCE": str(tmp_path / "instance"),
           "MAILER_PUBLIC_URL": f"http://127.0.0.1:{port}", **env}
    args = [str(BIN / "mailer"), "run", "--host", "127.0.0.1", "--port", str(port), *extra]
    with running(args, env, tmp_path / "run.log") as process:
        credentials = process.wait_for_output(r"first admin: (\S+)\s+password: (\S+)", 60)
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        yield RunningService(f"http://127.0.0.1:{port}", process, credentials.group(1),
                             credentials.group(2))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    """`mailer run` with no configuration at all: SQLite, embedded broker, outbox."""
    yield from start_service(tmp_path, {})


def sign_in(page: Page, service: RunningService) -> None:
    page.goto(service.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("Email").fill(service.admin_email)
    page.get_by_label("Password").fill(service.admin_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_sign_in_send_a_test_email_and_read_it_in_the_outbox(
        page: Page, service: RunningService) -> None:
    output = service.process.output()
    assert "an in-process worker on the embedded broker" in output
    assert "email transport: outbox:" in output

    page.goto(service.url + "/login")
    shot(page, "login")
    sign_in(page, service)
    shot(page, "dashboard")

    page.get_by_label("Send a test email to").fill("desk@example.com")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_role("status")).to_contain_text("Test email to desk@example.com queued")

    page.get_by_role("link", name="Outbox", exact=True).click()
    link = page.get_by_role("link", name="Test message from Press Office")
    for _ in range(50):  # the in-process worker sends within moments
        if link.count():
            break
        page.wait_for_timeout(200)
        page.reload()
    shot(page, "outbox")
    link.first.click()
    expect(page.get_by_role("heading", name="Test message from Press Office")).to_be_visible()
    expect(page.locator("pre.message-text")).to_contain_text("This is a test message.")
    frame = page.frame_locator("iframe.message-frame")
    expect(frame.locator("p").first).to_have_text("This is a test message.")
    shot(page, "outbox-message")


@pytest.mark.browser
def test_create_an_api_token_in_the_browser(page: Page, service: RunningService) -> None:
    import json
    import urllib.request

    sign_in(page, service)
    page.get_by_role("link", name="Account").click()
    page.get_by_label("Token name").fill("newsroom script")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("mlr_")
    request = urllib.request.Request(service.url + "/api/v1/me",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["email"] == service.admin_email
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401


@pytest.mark.browser
def test_sign_out(page: Page, service: RunningService) -> None:
    sign_in(page, service)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(service.url + "/outbox/")
    expect(page).to_have_url(re.compile(r"/login\?next=/outbox/$"))


def test_run_with_an_smtp_relay_delivers_there(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    import json
    import urllib.request

    from tests.support.processes import run_command

    env = {"MAILER_SMTP_URL": smtp_sink.url}
    for service in start_service(tmp_path, env):
        token = run_command([str(BIN / "mailer"), "users", "token", service.admin_email],
                            {"MAILER_INSTANCE": str(tmp_path / "instance")}).stdout.strip()
        request = urllib.request.Request(
            service.url + "/api/v1/test-email", method="POST",
            data=json.dumps({"email": "relay@example.com"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
        (received,) = smtp_sink.wait_for(1, timeout=20)
        assert received.rcpt_tos == ["relay@example.com"]
        assert f"email transport: {smtp_sink.url}" in service.process.output()
