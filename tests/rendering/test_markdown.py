"""Release bodies: Markdown to sanitised HTML, and a real plain-text part from the same tokens."""

from __future__ import annotations

import pytest

from mailer.rendering import Recipient, compile_release, render_message
from mailer.rendering import markdown as md
from mailer.rendering.sanitise import sanitise_html
from tests.rendering.support import context, sample, with_changes


def body_html(source: str) -> str:
    return sanitise_html(md.to_html(md.parse(source)))


def rendered(body: str, **changes: object) -> tuple[str, str]:
    compiled = compile_release(with_changes(sample("en"), body=body, **changes))
    message = render_message(compiled, Recipient(email="a@example.org", tracking=False),
                             context())
    return message.text, message.html


@pytest.mark.parametrize(("source", "gone"), [
    ("<script>alert('x')</script>\n\nText", ["<script", "alert("]),
    ('<img src="https://example.org/a.png" onerror="alert(1)">', ["onerror", "alert("]),
    ("[click](javascript:alert(1))", ['href="javascript']),  # left as literal text
    ('<a href="javascript:alert(1)">click</a>', ["javascript:"]),
    ('<a href="JaVaScRiPt:alert(1)">click</a>', ["javascript", "JaVaScRiPt"]),
    ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', ["data:"]),
    ('<a href="vbscript:msgbox(1)">x</a>', ["vbscript"]),
    ('<a href="/relative/path">x</a>', ["/relative"]),
    ('<iframe src="https://evil.example"></iframe>', ["<iframe", "evil.example"]),
    ('<p style="position:fixed;background:url(https://evil.example)">x</p>', ["evil", "fixed"]),
    ("<form action='https://evil.example'><input name=p></form>", ["<form", "<input"]),
    ("<style>body{display:none}</style>", ["<style", "display:none"]),
    ('<div onclick="steal()">x</div>', ["onclick", "steal"]),
    ("<!-- secret comment -->", ["secret"]),
    ('<svg onload="alert(1)"><circle/></svg>', ["<svg", "onload"]),
])
def test_sanitiser_removes_dangerous_markup(source: str, gone: list[str]) -> None:
    html = body_html(source)
    for fragment in gone:
        assert fragment not in html


def test_sanitiser_keeps_press_release_markup() -> None:
    source = """# Title

## Section

Text with **bold**, *italic*, `code` and a [link](https://example.org/a?b=1&c=2).

> A quote

1. one
2. two

| Name | Count |
|:-----|------:|
| a    | 1     |

![Logo](https://example.org/logo.png "The logo")

<abbr title="Organization for Security and Co-operation in Europe">OSCE</abbr>
"""
    html = body_html(source)
    for fragment in ("<h1>Title</h1>", "<h2>Section</h2>", "<strong>bold</strong>",
                     "<em>italic</em>", "<code>code</code>", "<blockquote>", "<ol>",
                     '<th style="text-align:right">Count</th>',
                     '<td style="text-align:left">a</td>',
                     '<img src="https://example.org/logo.png" alt="Logo" title="The logo">',
                     '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">'
                     'link</a>',
                     "<abbr title="):
        assert fragment in html


def test_links_open_safely_and_only_allowed_schemes_survive() -> None:
    html = body_html("[a](https://a.example) [b](http://b.example) [c](mailto:c@example.org) "
                     "[d](ftp://d.example) [e](tel:+4850)")
    assert html.count('rel="noopener noreferrer"') == 5
    assert 'href="https://a.example"' in html and 'href="http://b.example"' in html
    assert 'href="mailto:c@example.org"' in html
    assert "ftp:" not in html and "tel:" not in html


def test_plain_text_is_written_from_the_markdown_not_stripped_html() -> None:
    text, _ = rendered("""# The Title

Intro with **bold**, _italic_, `code`, [a link](https://example.org/x?a=1&b=2),
<https://auto.example> and [someone@example.org](mailto:someone@example.org).

## Programme

- First item
- Second item with [docs](https://docs.example)
  - nested

1. one
2. two

> Quoted words

| City | Date |
|------|------|
| Dushanbe | 31 May |

&copy; 2016 &amp; beyond
""")
    expected = """The Title
=========

Intro with bold, italic, code, a link (https://example.org/x?a=1&b=2),
https://auto.example and someone@example.org.

Programme
---------

- First item
- Second item with docs (https://docs.example)
  - nested

1. one
2. two

> Quoted words

City | Date
-----------
Dushanbe | 31 May

© 2016 & beyond
"""
    assert expected in text
    assert "**" not in text and "<" not in text.replace("<https", "")


def test_raw_html_in_the_body_becomes_text_in_the_plain_part() -> None:
    text, html = rendered("<div>Raw <b>HTML</b> block<script>bad()</script></div>\n\nLine<br>break")
    assert "Raw HTML block" in text and "bad()" not in text and "bad()" not in html
    assert "Line\nbreak" in text


def test_contact_block_title_and_organisation_are_escaped() -> None:
    text, html = rendered("Body", contact="Jane <script>alert(1)</script>\n+1 555 0100",
                          title="<img src=x onerror=alert(1)>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Jane &lt;script&gt;alert(1)&lt;/script&gt;<br>+1 555 0100" in html
    assert "Press contact\nJane <script>alert(1)</script>\n+1 555 0100" in text
    compiled = compile_release(with_changes(sample("en"), body="Body"))
    message = render_message(compiled, Recipient(email="a@example.org"),
                             context(organisation="<b>Evil</b> & Co"))
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in message.html
    assert "press list of <b>Evil</b> & Co." in message.text
