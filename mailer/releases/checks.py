"""Warnings about a rendered message, before anyone sends it.

What the preview flags: a message Gmail would clip (its HTML over 102 KB), images without alt
text, links that are not https (judged on the original address, looking through click
tracking), placeholders left in the output or empty for this recipient, and, per translation,
missing, stale or unapproved text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from flask_babel import gettext, lazy_gettext

from mailer.releases.links import CLICK_PATH, Links
from mailer.releases.models import Release
from mailer.rendering import ALLOWED_PLACEHOLDERS, RenderedMessage

GMAIL_CLIP_BYTES = 102 * 1024
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_LEFTOVER = re.compile(r"\{\{|\}\}|\{%|%\}")


@dataclass(frozen=True)
class PreviewWarning:
    """One problem for a person to look at: a short code and a sentence."""

    code: str
    message: str


class _Scan(HTMLParser):
    """Collects the images and link addresses of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values)
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")


def _is_pixel(image: dict[str, str | None]) -> bool:
    return image.get("width") == "1" and image.get("height") == "1"


def message_warnings(message: RenderedMessage, links: Links,
                     placeholder_values: dict[str, str] | None = None) -> list[PreviewWarning]:
    """The problems of one rendered message (``placeholder_values``: the recipient's)."""
    found: list[PreviewWarning] = []

    def warn(code: str, text: str) -> None:
        found.append(PreviewWarning(code, text))

    size = len(message.html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        warn("clipped", gettext("The HTML part is %(size)s KB: Gmail clips messages over "
                                "102 KB behind a “view entire message” link.",
                                size=size // 1024))
    scan = _Scan()
    scan.feed(message.html)
    missing_alt = [image.get("src") or "" for image in scan.images
                   if not _is_pixel(image) and not (image.get("alt") or "").strip()]
    if missing_alt:
        warn("image_alt", gettext("%(count)s image(s) without alt text (screen readers and "
                                  "blocked images show nothing): %(images)s",
                                  count=len(missing_alt), images=", ".join(missing_alt[:3])))
    # Our own links (unsubscribe, web version) are judged once, by MAILER_PUBLIC_URL below.
    originals = [_original(href, links) for href in scan.links]
    insecure = [url for url in originals
                if url.lower().startswith("http://") and not url.startswith(links.base + "/")]
    if insecure:
        shown = ", ".join(dict.fromkeys(insecure[:5]))
        warn("http_link", gettext("%(count)s link(s) without https: %(links)s",
                                  count=len(insecure), links=shown))
    if links.base.lower().startswith("http://"):
        warn("http_public_url", gettext("MAILER_PUBLIC_URL is not https: the unsubscribe, "
                                        "tracking and web-version links of every message are "
                                        "plain http."))
    for part, text in ((lazy_gettext("subject"), message.subject),
                       (lazy_gettext("text"), message.text), ("HTML", message.html)):
        if _LEFTOVER.search(text):
            warn("placeholder", gettext("The %(part)s still contains template braces "
                                        "({{ }} or {%% %%}).", part=str(part)))
            break
    if placeholder_values is not None:
        empty = sorted(name for name, value in placeholder_values.items() if not value)
        if empty:
            shown = ", ".join(f"{{{{ {name} }}}}" for name in empty)
            warn("empty_placeholder", gettext("%(placeholders)s empty for %(recipient)s: the "
                                              "text reads without it.", placeholders=shown,
                                              recipient=message.recipient))
    return found


def _original(href: str, links: Links) -> str:
    """The address a link finally lands on, looking through our click tracking."""
    prefix = f"{links.base}{CLICK_PATH}"
    if href.startswith(prefix):
        found = links.read_click(href[len(prefix):])
        if found is not None:
            return found[1]
    return href


def placeholders_used(*texts: str) -> set[str]:
    """The allowed placeholder names written in ``texts``."""
    return {name for text in texts for name in _PLACEHOLDER.findall(text)
            if name in ALLOWED_PLACEHOLDERS}


def translation_warnings(release: Release, language: str) -> list[PreviewWarning]:
    """Missing, stale or (when required) unapproved text in one language."""
    translation = release.translation(language)
    if translation is None:
        return [PreviewWarning("missing", gettext("No translation in %(language)s.",
                                                  language=language))]
    found: list[PreviewWarning] = []
    if translation.stale:
        found.append(PreviewWarning(
            "stale", gettext("The %(source)s text changed after the %(language)s translation "
                             "was last edited.", source=release.default_language,
                             language=language)))
    if release.approvals_required and not translation.approved:
        found.append(PreviewWarning(
            "unapproved", gettext("The %(language)s translation is not approved; this release "
                                  "needs approval before sending.", language=language)))
    return found
