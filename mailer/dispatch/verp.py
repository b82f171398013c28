"""VERP envelope senders: ``bounce+<delivery>-<signature>@<bounce domain>``.

The address names the delivery, so a bounce maps back to it, and carries a short HMAC, so
nobody can forge a bounce that suppresses an address they do not own. Kept short: a local part
is at most 64 octets.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PREFIX = "bounce+"
SIGNATURE_LENGTH = 12
_LOCAL = re.compile(r"^bounce\+(\d{1,19})-([0-9a-f]{12})$")


def _signature(delivery_id: int, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"verp:{delivery_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:SIGNATURE_LENGTH]


def verp_address(delivery_id: int, secret: str, domain: str) -> str:
    """The envelope sender for one delivery."""
    return f"{PREFIX}{delivery_id}-{_signature(delivery_id, secret)}@{domain}"


def read_verp(address: str, secret: str) -> int | None:
    """The delivery id a VERP address names, or None if it is not one of ours or is forged."""
    local = address.strip().strip("<>").rpartition("@")[0].lower()
    match = _LOCAL.match(local)
    if match is None:
        return None
    delivery_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _signature(delivery_id, secret)):
        return None
    return delivery_id
