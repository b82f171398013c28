"""Release files: Markdown with a YAML front matter, as in the sample fixtures and demo data.

    ---
    language: ru
    subject: "…"
    preheader: "…"
    embargo: "2016-05-31T09:00:00+05:00"   # optional, with an offset
    title: "…"                              # optional: else the first heading
    contact: |                              # optional press contact block
      …
    ---
    # Markdown body…
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml

from mailer.rendering import markdown
from mailer.rendering.content import ReleaseContent

_KNOWN = frozenset({"language", "subject", "preheader", "embargo", "title", "contact"})


def parse_release_markdown(text: str) -> ReleaseContent:
    """A `ReleaseContent` from a front-matter Markdown file; ValueError when malformed."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        raise ValueError("a release file starts with a '---' line and YAML front matter")
    head, separator, body = text[4:].partition("\n---\n")
    if not separator:
        raise ValueError("the front matter has no closing '---' line")
    meta: Any = yaml.safe_load(head) or {}
    if not isinstance(meta, dict):
        raise ValueError("the front matter must be a mapping of field names to values")
    unknown = set(meta) - _KNOWN
    if unknown:
        raise ValueError(f"unknown front matter field(s): {', '.join(sorted(map(str, unknown)))}")
    for required in ("language", "subject"):
        if not isinstance(meta.get(required), str) or not meta[required].strip():
            raise ValueError(f"the front matter needs a non-empty {required!r}")
    body = body.lstrip("\n")
    title = str(meta.get("title") or "") or markdown.first_heading(markdown.parse(body))
    return ReleaseContent(
        language=meta["language"].strip(),
        subject=str(meta["subject"]),
        preheader=str(meta.get("preheader") or ""),
        body=body,
        title=title,
        embargo=_moment(meta.get("embargo")),
        contact=str(meta.get("contact") or "").strip(),
    )


def _moment(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.utcoffset() is None:
        raise ValueError("the embargo needs a UTC offset, e.g. 2016-05-31T09:00:00+05:00")
    return moment
