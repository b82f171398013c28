"""Compiling a release translation: everything that is the same for every recipient, done once.

`compile_release` validates the placeholders, parses the Markdown, sanitises the HTML, writes
the plain text, renders the localised layout around both and inlines its CSS, leaving a slot
token wherever a recipient's value goes. The result is a `CompiledRelease`: skeletons that
`mailer.rendering.render.render_message` fills per recipient with plain string joins.

A few layout variants exist (with or without the "view in browser" link and the open pixel);
each is built on first use and kept, so a mailing compiles each variant it needs once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape
from typing import Any

import css_inline
from markupsafe import Markup

from mailer.rendering import markdown
from mailer.rendering.chrome import (
    Chrome,
    chrome_for,
    date_locale,
    format_moment,
    layout_environment,
)
from mailer.rendering.content import ReleaseContent
from mailer.rendering.headers import encode_unstructured, one_line
from mailer.rendering.mime import TransferEncoding, choose_encoding
from mailer.rendering.placeholders import (
    ALLOWED_PLACEHOLDERS,
    TemplateRejected,
    substitute,
    validate_fields,
)
from mailer.rendering.sanitise import sanitise_html
from mailer.rendering.slots import Skeleton, SlotTokens

_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
_LINK_HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")', re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")
_TAG = re.compile(r"<[^>]*>")

LAYOUT_SLOTS = ("organisation", "recipient_email", "unsubscribe_url", "web_version_url",
                "open_pixel_url", "embargo_date")
"""Slots the layout itself adds, beside the placeholders and the body's links (``link0``…)."""


@dataclass(frozen=True, slots=True)
class Link:
    """A link of the body: its original address, and that address escaped for HTML."""

    url: str
    html: str


@dataclass(frozen=True, slots=True)
class LayoutVariant:
    """One compiled layout: HTML and text skeletons and the transfer encoding of each part."""

    html: Skeleton
    text: Skeleton
    html_encoding: TransferEncoding
    text_encoding: TransferEncoding


class CompiledRelease:
    """A translation compiled for sending: immutable after construction, except its caches."""

    __slots__ = ("_body_html", "_body_text", "_contact", "_embargo_text", "_header_cache",
                 "_layout", "_preheader", "_title", "_tokens", "_variants", "chrome",
                 "content", "links", "subject")

    def __init__(self, *, content: ReleaseContent, layout: str, chrome: Chrome,
                 tokens: SlotTokens, subject: Skeleton, preheader: str, title: str,
                 body_html: str, body_text: str, links: tuple[Link, ...]) -> None:
        self.content = content
        self.chrome = chrome
        self.subject = subject
        self.links = links
        self._layout = layout
        self._tokens = tokens
        self._preheader = preheader
        self._title = title
        self._body_html = body_html
        self._body_text = body_text
        self._contact = [line.strip() for line in content.contact.strip().splitlines()]
        self._variants: dict[tuple[bool, bool], LayoutVariant] = {}
        self._embargo_text: dict[tuple[str, str], str] = {}
        self._header_cache: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<CompiledRelease {self.chrome.language} layout={self._layout!r}>"

    @property
    def language(self) -> str:
        """The translation's language tag (``Content-Language``)."""
        return self.chrome.language

    def variant(self, *, web_version: bool, open_pixel: bool) -> LayoutVariant:
        """The layout with or without the "view in browser" link and the open pixel."""
        key = (web_version, open_pixel)
        found = self._variants.get(key)
        if found is None:
            found = self._variants[key] = self._build_variant(web_version, open_pixel)
        return found

    def embargo_text(self, timezone: str, recipient_language: str) -> str:
        """The embargo time as the recipient reads it (their zone, the chrome's language)."""
        embargo = self.content.embargo
        if embargo is None:
            return ""
        key = (timezone, recipient_language)
        text = self._embargo_text.get(key)
        if text is None:
            locale = date_locale(self.chrome.locale, recipient_language)
            text = self._embargo_text[key] = format_moment(embargo, timezone, locale)
        return text

    def subject_header(self, subject: str) -> str:
        """The encoded ``Subject:`` line(s), cached: most mailings have one subject per language."""
        line = self._header_cache.get(subject)
        if line is None:
            line = encode_unstructured("Subject", subject)
            if len(self._header_cache) < 4096:
                self._header_cache[subject] = line
        return line

    def _build_variant(self, web_version: bool, open_pixel: bool) -> LayoutVariant:
        token = self._tokens.token
        chrome = self.chrome
        context: dict[str, Any] = {
            "lang": chrome.language, "dir": chrome.direction, "align": chrome.align,
            "chrome_dir": chrome.chrome_direction,
            "end": chrome.end, "title": self._title, "preheader": self._preheader,
            "body_html": Markup(self._body_html),  # noqa: S704 - sanitised by nh3 above
            "body_text": self._body_text, "contact_lines": self._contact,
            "embargo_date": token("embargo_date") if self.content.embargo else "",
            "organisation": token("organisation"), "recipient_email": token("recipient_email"),
            "unsubscribe_url": token("unsubscribe_url"),
            "web_version_url": token("web_version_url") if web_version else "",
            "open_pixel_url": token("open_pixel_url") if open_pixel else "",
        }
        env = layout_environment(chrome.locale)
        html = env.get_template(f"{self._layout}/body.html").render(context)
        html = _inliner.inline(html).rstrip("\n") + "\n"
        text = env.get_template(f"{self._layout}/body.txt").render(context)
        text = _BLANK_LINES.sub("\n\n", text).strip("\n") + "\n"
        html_skeleton = self._tokens.skeleton(html)
        text_skeleton = self._tokens.skeleton(text)
        for skeleton in (html_skeleton, text_skeleton):
            if any(self._tokens.contains(piece) for piece in skeleton.literals):
                raise RuntimeError("a slot token was altered while compiling the layout")
        return LayoutVariant(
            html=html_skeleton, text=text_skeleton,
            html_encoding=choose_encoding(html_skeleton.literal_text()),
            text_encoding=choose_encoding(text_skeleton.literal_text()))


def compile_release(content: ReleaseContent, layout: str = "release") -> CompiledRelease:
    """Compile one translation for sending; raises `TemplateRejected` for bad placeholders."""
    validate_fields({"subject": content.subject, "preheader": content.preheader,
                     "body": content.body})
    if not one_line(content.subject):
        raise TemplateRejected("The subject is empty.", fields={"subject": "must not be empty"})
    tokens = SlotTokens()
    names = {name: tokens.token(name) for name in ALLOWED_PLACEHOLDERS}
    subject = one_line(substitute(content.subject, "subject", names))
    preheader = one_line(substitute(content.preheader, "preheader", names))
    body_source = substitute(content.body, "body", names)

    document = markdown.parse(body_source)
    if any(tokens.contains(address) for address in markdown.link_addresses(document)):
        reason = "placeholders can only be used in text, not in link or image addresses"
        raise TemplateRejected(f"The body has {reason}.", fields={"body": reason})
    body_html = sanitise_html(markdown.to_html(document))
    if any(tokens.contains(tag) for tag in _TAG.findall(body_html)):
        reason = "placeholders can only be used in text, not inside HTML tags"
        raise TemplateRejected(f"The body has {reason}.", fields={"body": reason})
    body_html, links = _tokenise_links(body_html, tokens)
    body_text = markdown.to_text(document)
    title = one_line(content.title) or one_line(markdown.first_heading(document)) or subject

    return CompiledRelease(
        content=content, layout=layout, chrome=chrome_for(content.language), tokens=tokens,
        subject=tokens.skeleton(subject), preheader=preheader, title=title,
        body_html=body_html, body_text=body_text, links=links)


def _tokenise_links(html: str, tokens: SlotTokens) -> tuple[str, tuple[Link, ...]]:
    """Put a slot in place of every http(s) link address, to be rewritten per recipient."""
    links: list[Link] = []

    def replace(match: re.Match[str]) -> str:
        url = unescape(match.group(2))
        if not url.lower().startswith(("https://", "http://")):
            return match.group(0)  # mailto: and friends are never rewritten
        slot = tokens.token(f"link{len(links)}")
        links.append(Link(url=url, html=escape(url)))
        return match.group(1) + slot + match.group(3)

    return _LINK_HREF.sub(replace, html), tuple(links)

