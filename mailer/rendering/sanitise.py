"""The HTML sanitiser: what of the HTML made from a release body may reach an inbox.

An allow-list for nh3 (ammonia) fit for press releases: text structure, emphasis, lists,
quotes, tables, code, links and images. Links and images keep only absolute ``https``, ``http``
and ``mailto`` addresses; every link gets ``rel="noopener noreferrer"``; scripts, styles,
event handlers, forms, frames and comments go. Only ``text-align`` survives in ``style``
(Markdown table alignment); the layout's stylesheet is inlined afterwards.
"""

from __future__ import annotations

from html import unescape

import nh3

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "del", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "mark", "ol",
    "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "*": frozenset({"lang", "dir", "title"}),
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "ol": frozenset({"start"}),
    "th": frozenset({"style", "colspan", "rowspan", "scope"}),
    "td": frozenset({"style", "colspan", "rowspan"}),
}
URL_SCHEMES = frozenset({"https", "http", "mailto"})
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object",
                                "embed", "svg", "math", "textarea", "select"})

_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CLEAN_CONTENT_TAGS),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",  # a relative link means nothing in an inbox
    link_rel="noopener noreferrer",
    filter_style_properties={"text-align"},
    strip_comments=True,
)


def sanitise_html(html: str) -> str:
    """``html`` reduced to the allowed tags, attributes and URL schemes."""
    return _cleaner.clean(html)


def html_to_text(html: str) -> str:
    """The text content of an HTML fragment, tags dropped, script and style contents removed."""
    stripped = nh3.clean(html, tags=set(), clean_content_tags=set(CLEAN_CONTENT_TAGS))
    return unescape(stripped)
