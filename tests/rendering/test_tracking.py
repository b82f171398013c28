"""Click and open tracking: which links are rewritten, and when the open pixel is there."""

from __future__ import annotations

import re

import pytest

from mailer.rendering import CompiledRelease, Recipient, compile_release, render_message
from tests.rendering.support import context, parse, parts, sample, with_changes

BODY = """# News

Read [the report](https://example.org/report?id=7&lang=ru), see <http://example.net/plain>,
write to [the press office](mailto:press@example.org) or
[the report again](https://example.org/report?id=7&lang=ru).
"""
HREF = re.compile(r'<a [^>]*href="([^"]*)"')


@pytest.fixture(scope="module")
def compiled() -> CompiledRelease:
    return compile_release(with_changes(sample("en"), body=BODY))


def test_body_links_go_through_the_rewriter_and_nothing_else(compiled: CompiledRelease) -> None:
    seen: list[tuple[str, int]] = []

    def rewrite(url: str, index: int) -> str:
        seen.append((url, index))
        return f"https://press.example.org/c/T/{index}?u={len(url)}&x=1"

    message = render_message(compiled, Recipient(email="a@example.org"),
                             context(rewrite_link=rewrite))
    assert seen == [("https://example.org/report?id=7&lang=ru", 0),
                    ("http://example.net/plain", 1),
                    ("https://example.org/report?id=7&lang=ru", 2)]
    _, html = parts(parse(message.as_bytes()))
    hrefs = HREF.findall(html)
    assert "https://press.example.org/c/T/0?u=39&amp;x=1" in hrefs
    assert "https://press.example.org/c/T/1?u=24&amp;x=1" in hrefs
    assert "https://press.example.org/c/T/2?u=39&amp;x=1" in hrefs
    assert "mailto:press@example.org" in hrefs  # mailto is never rewritten
    assert "https://press.example.org/unsubscribe/u1.sig" in hrefs  # nor the unsubscribe link
    assert "https://press.example.org/releases/3/ru?k=w3b" in hrefs  # nor the web version
    assert not any("example.org/report" in href for href in hrefs)
    # The plain-text part keeps the original addresses.
    assert "the report (https://example.org/report?id=7&lang=ru)" in message.text
    assert "http://example.net/plain" in message.text
    assert "press.example.org/c/" not in message.text


def test_open_pixel_only_when_tracking(compiled: CompiledRelease) -> None:
    pixel = "https://press.example.org/o/u1.gif"
    tracked = render_message(compiled, Recipient(email="a@example.org"), context())
    assert f'<img src="{pixel}" width="1" height="1" alt=""' in tracked.html
    assert "c/tok3n/0" in tracked.html

    untracked = render_message(compiled, Recipient(email="a@example.org", tracking=False),
                               context())
    assert pixel not in untracked.html and "/o/" not in untracked.html
    assert "c/tok3n" not in untracked.html  # no click tracking either
    assert 'href="https://example.org/report?id=7&amp;lang=ru"' in untracked.html

    no_pixel = render_message(compiled, Recipient(email="a@example.org"),
                              context(open_pixel_url=None, rewrite_link=None))
    assert "/o/" not in no_pixel.html
    assert 'href="https://example.org/report?id=7&amp;lang=ru"' in no_pixel.html


def test_web_version_link_is_optional(compiled: CompiledRelease) -> None:
    message = render_message(compiled, Recipient(email="a@example.org"),
                             context(web_version_url=None))
    assert "View in your browser" not in message.html
    assert "View in your browser" not in message.text
    message = render_message(compiled, Recipient(email="a@example.org"), context())
    assert ">View in your browser</a>" in message.html
    assert "View in your browser: https://press.example.org/releases/3/ru?k=w3b" in message.text


def test_rewritten_urls_are_escaped(compiled: CompiledRelease) -> None:
    message = render_message(compiled, Recipient(email="a@example.org"),
                             context(rewrite_link=lambda url, i: f'https://t.example/"><script>{i}'))
    assert "<script>" not in message.html
    assert 'href="https://t.example/&quot;&gt;&lt;script&gt;0"' in message.html


def test_variants_are_compiled_once(compiled: CompiledRelease) -> None:
    first = compiled.variant(web_version=True, open_pixel=True)
    render_message(compiled, Recipient(email="a@example.org"), context())
    assert compiled.variant(web_version=True, open_pixel=True) is first
