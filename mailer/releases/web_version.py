"""The hosted web version of a translation: who may see it, and when.

Its address carries a signed token naming the release and language (`links.py`); a forged or
altered token, a deleted release or translation all look the same: not found. Until the
embargo lifts the page says only that the release is not published yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from mailer.db import db, utcnow
from mailer.errors import NotFound
from mailer.releases.links import links_for
from mailer.releases.messages import render_web_version
from mailer.releases.models import Release


@dataclass(frozen=True)
class WebVersion:
    """What the public page shows: the HTML, or nothing yet (``published`` False)."""

    published: bool
    html: str = ""
    language: str = ""


def web_version(token: str, config: Mapping[str, Any]) -> WebVersion:
    """The web version a token names; NotFound for anything not genuine or not there."""
    found = links_for(config).read_web_version(token)
    if found is None:
        raise NotFound(gettext("No such page."))
    release_id, language = found
    release = db.session.get(Release, release_id)
    if release is None or release.translation(language) is None:
        raise NotFound(gettext("No such page."))
    if release.embargo_at is not None and release.embargo_at > utcnow():
        return WebVersion(published=False, language=language)
    return WebVersion(published=True, html=render_web_version(release, language, config),
                      language=language)
