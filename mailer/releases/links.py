"""Every URL put in an email, built in one place: web version, unsubscribe, open and click.

Public URLs carry signed tokens (itsdangerous, keyed by the app secret, one salt per kind),
never bare row ids, so they cannot be forged or walked. No Flask import: the worker builds the
same links from the same two settings (``MAILER_PUBLIC_URL`` and the secret), and the preview
builds them exactly as dispatch will. The tracking views read tokens back with ``read_*``.

Tokens are not time-limited: an unsubscribe link must work years later (RFC 8058 asks it to
keep working), and the web version is a permanent address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, Signer, URLSafeSerializer, want_bytes

WEB_VERSION = "release-web-version"
UNSUBSCRIBE = "unsubscribe"
OPEN = "tracking-open"
CLICK = "tracking-click"

# Path of each public route, relative to MAILER_PUBLIC_URL; the views mount these.
WEB_VERSION_PATH = "/r/"
UNSUBSCRIBE_PATH = "/u/"
OPEN_PATH = "/t/o/"
CLICK_PATH = "/t/c/"


@dataclass(frozen=True)
class DeliveryRef:
    """What a per-recipient link names: the delivery (0 for previews and tests) and contact."""

    delivery_id: int
    contact_id: int | None


class _KeyCachingSigner(Signer):
    """itsdangerous's Signer, deriving each key once rather than on every sign and verify.

    The derivation is an HMAC of its own; the open pixel and click redirect verify a token per
    request, so caching it halves their signature cost. Same keys, same tokens.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = want_bytes(secret_key) if secret_key is not None else self.secret_keys[-1]
        found = self._derived.get(key)
        if found is None:
            found = self._derived[key] = super().derive_key(key)
        return found


class Links:
    """Builds and reads the signed public URLs of one instance."""

    def __init__(self, public_url: str, secret_key: str) -> None:
        self.base = public_url.rstrip("/")
        self.secret_key = secret_key
        self._serializers: dict[str, URLSafeSerializer] = {}

    def _serializer(self, salt: str) -> URLSafeSerializer:
        found = self._serializers.get(salt)
        if found is None:
            found = self._serializers[salt] = URLSafeSerializer(
                self.secret_key, salt=salt, signer=_KeyCachingSigner)
        return found

    def _sign(self, salt: str, payload: Any) -> str:
        return str(self._serializer(salt).dumps(payload))

    def _load(self, salt: str, token: str) -> Any:
        try:
            return self._serializer(salt).loads(token)
        except (BadSignature, ValueError, UnicodeError):
            return None

    # --- the hosted web version of one translation ---

    def web_version_token(self, release_id: int, language: str) -> str:
        """The token naming one translation of one release."""
        return self._sign(WEB_VERSION, [release_id, language])

    def web_version_url(self, release_id: int, language: str) -> str:
        """The "view in browser" address of one translation."""
        return f"{self.base}{WEB_VERSION_PATH}{self.web_version_token(release_id, language)}"

    def read_web_version(self, token: str) -> tuple[int, str] | None:
        """(release id, language) of a genuine token, else None."""
        data = self._load(WEB_VERSION, token)
        if (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int)
                and isinstance(data[1], str)):
            return data[0], data[1]
        return None

    # --- per-recipient links ---

    def _ref_token(self, salt: str, ref: DeliveryRef, *extra: Any) -> str:
        return self._sign(salt, [ref.delivery_id, ref.contact_id, *extra])

    def _read_ref(self, salt: str, token: str, extra: int = 0) -> list[Any] | None:
        data = self._load(salt, token)
        if (isinstance(data, list) and len(data) == 2 + extra and isinstance(data[0], int)
                and (data[1] is None or isinstance(data[1], int))):
            return data
        return None

    def unsubscribe_url(self, ref: DeliveryRef) -> str:
        """The one-click unsubscribe address (RFC 8058 POST target and visible link)."""
        return f"{self.base}{UNSUBSCRIBE_PATH}{self._ref_token(UNSUBSCRIBE, ref)}"

    def read_unsubscribe(self, token: str) -> DeliveryRef | None:
        """The delivery an unsubscribe token names, if genuine."""
        data = self._read_ref(UNSUBSCRIBE, token)
        return DeliveryRef(data[0], data[1]) if data else None

    def open_url(self, ref: DeliveryRef) -> str:
        """The address of the open-tracking image."""
        return f"{self.base}{OPEN_PATH}{self._ref_token(OPEN, ref)}.gif"

    def read_open(self, token: str) -> DeliveryRef | None:
        """The delivery an open token names (with or without its ``.gif``), if genuine."""
        data = self._read_ref(OPEN, token.removesuffix(".gif"))
        return DeliveryRef(data[0], data[1]) if data else None

    def click_url(self, ref: DeliveryRef, target: str) -> str:
        """A tracked link that lands on exactly ``target`` (signed, so no open redirect)."""
        return f"{self.base}{CLICK_PATH}{self._ref_token(CLICK, ref, target)}"

    def read_click(self, token: str) -> tuple[DeliveryRef, str] | None:
        """(delivery, original address) of a genuine click token, else None."""
        data = self._read_ref(CLICK, token, extra=1)
        if data is None or not isinstance(data[2], str):
            return None
        return DeliveryRef(data[0], data[1]), data[2]

    def unsubscribe_mailto(self, bounce_domain: str, ref: DeliveryRef) -> str:
        """The ``mailto:`` form of List-Unsubscribe, naming the delivery in its subject."""
        token = quote(self._ref_token(UNSUBSCRIBE, ref), safe="")
        return f"mailto:unsubscribe@{bounce_domain}?subject=unsubscribe%20{token}"


def links_for(config: Any) -> Links:
    """The Links of an app's config (a Flask ``app.config`` or any mapping)."""
    return Links(config["MAILER_PUBLIC_URL"], config["SECRET_KEY"])
