"""Telling link scanners from people: security gateways, previewers and bots fetch images and
follow links on their own, often within seconds of delivery.

A hit is a scanner's when it is a HEAD request, has no user agent or a known automated one, or
comes within ``MAILER_SCANNER_SECONDS`` of the message leaving (decided when the hit is written,
where the send time is known). Scanner hits are kept and reported apart, never counted as opens
or clicks. What cannot be told apart: Apple Mail Privacy Protection fetches every image through
a proxy that looks like a person, so open rates stay an upper bound.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta

HEAD = "head"
NO_AGENT = "no-agent"
AGENT = "agent"
EARLY = "early"

# Agents of mail security gateways, link previewers and HTTP libraries. Image proxies that
# fetch when a person opens (Gmail's GoogleImageProxy, Yahoo's) are deliberately not here.
_SCANNER_AGENT = re.compile(
    r"barracuda|mimecast|proofpoint|ppops|symantec|messagelabs|trend ?micro|forcepoint|"
    r"ironport|fireeye|sophos|zscaler|mcafee|avanan|check ?point|safelinks|urldefense|"
    r"bitdefender|kaspersky|cloudmark|vade|hornetsecurity|"
    r"\bbot\b|bot/|bot;|crawler|spider|slurp|headlesschrome|phantomjs|scrapy|"
    r"curl/|wget/|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|"
    r"\bjava/|okhttp|libwww|apache-httpclient|node-fetch|axios/|"
    r"facebookexternalhit|skypeuripreview|whatsapp|telegram|discord|"
    r"microsoft office existence discovery|ms-office|msoffice",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)
def request_verdict(method: str, user_agent: str) -> str:
    """Why a request looks automated from the request alone ("" when it looks human)."""
    if method == "HEAD":
        return HEAD
    if not user_agent.strip():
        return NO_AGENT
    if _SCANNER_AGENT.search(user_agent):
        return AGENT
    return ""


def too_early(at: datetime, left_at: datetime | None, window: timedelta) -> bool:
    """True when a hit comes before the message left plus ``window`` (or before it left)."""
    return left_at is None or at < left_at + window
