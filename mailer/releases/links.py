"""Every URL put in an email, built in one place: web version, unsubscribe, open and click.

Public URLs carry signed tokens (keyed by the app secret, one key per kind), never bare row
ids, so they cannot be forged or walked. No Flask import: the worker builds the same links from
the same two settings (``MAILER_PUBLIC_URL`` and the secret), and the preview builds them
exactly as dispatch will. The tracking views read tokens back with ``read_*``.

Per-recipient tokens (unsubscribe, open pixel, click) are built for every message of a mailing,
so they are compact: ``<payload>.<mac>``, both base64url, where the payload is a version byte,
the delivery and contact ids as minimal big-endian integers (and, for a click, the target
address in UTF-8), and the mac the first 16 bytes of an HMAC-SHA256 of the payload under a key
derived for that kind. One HMAC per token, no JSON, no zlib attempt. Tokens written before this
format (itsdangerous ``URLSafeSerializer``: JSON, maybe zlib, a 27-character SHA-1 signature)
are still read. The web version keeps the itsdangerous form: it is one address per translation,
built once per mailing.

Tokens are not time-limited: an unsubscribe link must work years later (RFC 8058 asks it to
keep working), and the web version is a permanent address.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

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

TOKEN_VERSION = 1
MAC_BYTES = 16
_MAC_CHARS = 22  # base64url of 16 bytes, unpadded; itsdangerous's SHA-1 signatures have 27
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


@dataclass(frozen=True)
class DeliveryRef:
    """What a per-recipient link names: the delivery (0 for previews and tests) and contact."""

    delivery_id: int
    contact_id: int | None


class _KeyCachingSigner(Signer):
    """itsdangerous's Signer, deriving each key once rather than on every sign and verify.

    The derivation is an HMAC of its own; the web version verifies a token per request, so
    caching it halves its signature cost. Same keys, same tokens.
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


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE, b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    data = text.encode("ascii").translate(_FROM_URLSAFE)
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True)


def _uint(value: int) -> bytes:
    """A non-negative integer as minimal big-endian bytes (zero is no bytes)."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _ids(ref: DeliveryRef) -> bytes:
    """Version byte, one byte of lengths, then the delivery id and the contact id + 1 (0: none)."""
    contact = 0 if ref.contact_id is None else ref.contact_id + 1
    if ref.delivery_id < 0 or contact < 0:
        raise ValueError("link ids are never negative")
    delivery, contact_bytes = _uint(ref.delivery_id), _uint(contact)
    if len(delivery) > 8 or len(contact_bytes) > 8:
        raise ValueError("link ids fit in 64 bits")
    return bytes((TOKEN_VERSION, len(delivery) << 4 | len(contact_bytes))) + delivery \
        + contact_bytes


def _read_ids(payload: bytes) -> tuple[DeliveryRef, bytes] | None:
    """The ref at the start of ``payload`` and what follows it, or None if malformed."""
    if len(payload) < 2 or payload[0] != TOKEN_VERSION:
        return None
    delivery_length, contact_length = payload[1] >> 4, payload[1] & 0x0F
    if delivery_length > 8 or contact_length > 8:
        return None
    end = 2 + delivery_length + contact_length
    if len(payload) < end:
        return None
    delivery = int.from_bytes(payload[2:2 + delivery_length], "big")
    contact = int.from_bytes(payload[2 + delivery_length:end], "big")
    return DeliveryRef(delivery, contact - 1 if contact else None), payload[end:]


class Links:
    """Builds and reads the signed public URLs of one instance."""

    def __init__(self, public_url: str, secret_key: str) -> None:
        self.base = public_url.rstrip("/")
        self.secret_key = secret_key
        self._serializers: dict[str, URLSafeSerializer] = {}
        self._macs: dict[str, Any] = {}
        self._web_versions: dict[tuple[int, str], str] = {}

    # --- compact per-recipient tokens ---

    def _mac(self, kind: str, payload: bytes) -> bytes:
        keyed = self._macs.get(kind)
        if keyed is None:
            key = hmac.new(want_bytes(self.secret_key), b"mailer.links.v1:" + kind.encode(),
                           hashlib.sha256).digest()
            keyed = self._macs[kind] = hmac.new(key, digestmod=hashlib.sha256)
        mac = keyed.copy()  # the key's inner and outer pads are hashed once, not per token
        mac.update(payload)
        return mac.digest()[:MAC_BYTES]

    def _token(self, kind: str, payload: bytes) -> str:
        return f"{_b64(payload)}.{_b64(self._mac(kind, payload))}"

    def _payload(self, kind: str, token: str) -> bytes | None:
        """The verified payload of a compact token of ``kind``, else None."""
        body, dot, mac = token.partition(".")
        if not dot or len(mac) != _MAC_CHARS:
            return None
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except (binascii.Error, ValueError, UnicodeError):
            return None
        if not hmac.compare_digest(signature, self._mac(kind, payload)):
            return None
        return payload

    def _read_compact(self, kind: str, token: str) -> tuple[DeliveryRef, bytes] | None:
        payload = self._payload(kind, token)
        return _read_ids(payload) if payload is not None else None

    # --- itsdangerous tokens: the web version, and per-recipient links of older messages ---

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

    def _read_legacy(self, salt: str, token: str, extra: int = 0) -> list[Any] | None:
        data = self._load(salt, token)
        if (isinstance(data, list) and len(data) == 2 + extra and isinstance(data[0], int)
                and (data[1] is None or isinstance(data[1], int))):
            return data
        return None

    def _read_ref(self, kind: str, token: str) -> DeliveryRef | None:
        found = self._read_compact(kind, token)
        if found is not None:
            ref, rest = found
            return None if rest else ref
        data = self._read_legacy(kind, token)
        return DeliveryRef(data[0], data[1]) if data else None

    # --- the hosted web version of one translation ---

    def web_version_token(self, release_id: int, language: str) -> str:
        """The token naming one translation of one release."""
        return self._sign(WEB_VERSION, [release_id, language])

    def web_version_url(self, release_id: int, language: str) -> str:
        """The "view in browser" address of one translation (the same for every recipient)."""
        key = (release_id, language)
        url = self._web_versions.get(key)
        if url is None:
            url = f"{self.base}{WEB_VERSION_PATH}{self.web_version_token(release_id, language)}"
            if len(self._web_versions) < 1024:
                self._web_versions[key] = url
        return url

    def read_web_version(self, token: str) -> tuple[int, str] | None:
        """(release id, language) of a genuine token, else None."""
        data = self._load(WEB_VERSION, token)
        if (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int)
                and isinstance(data[1], str)):
            return data[0], data[1]
        return None

    # --- per-recipient links ---

    def unsubscribe_token(self, ref: DeliveryRef) -> str:
        """The token naming the delivery an unsubscribe link or mail is for."""
        return self._token(UNSUBSCRIBE, _ids(ref))

    def unsubscribe_url(self, ref: DeliveryRef, token: str | None = None) -> str:
        """The one-click unsubscribe address (RFC 8058 POST target and visible link)."""
        return f"{self.base}{UNSUBSCRIBE_PATH}{token or self.unsubscribe_token(ref)}"

    def read_unsubscribe(self, token: str) -> DeliveryRef | None:
        """The delivery an unsubscribe token names, if genuine."""
        return self._read_ref(UNSUBSCRIBE, token)

    def open_url(self, ref: DeliveryRef) -> str:
        """The address of the open-tracking image."""
        return f"{self.base}{OPEN_PATH}{self._token(OPEN, _ids(ref))}.gif"

    def read_open(self, token: str) -> DeliveryRef | None:
        """The delivery an open token names (with or without its ``.gif``), if genuine."""
        return self._read_ref(OPEN, token.removesuffix(".gif"))

    def click_url(self, ref: DeliveryRef, target: str) -> str:
        """A tracked link that lands on exactly ``target`` (signed, so no open redirect)."""
        return f"{self.base}{CLICK_PATH}{self._click_token(_ids(ref), target)}"

    def click_urls(self, ref: DeliveryRef, targets: tuple[str, ...]) -> list[str]:
        """The tracked links of one recipient for several targets, the ids packed once."""
        ids = _ids(ref)
        prefix = f"{self.base}{CLICK_PATH}"
        return [prefix + self._click_token(ids, target) for target in targets]

    def _click_token(self, ids: bytes, target: str) -> str:
        return self._token(CLICK, ids + target.encode("utf-8", "surrogatepass"))

    def read_click(self, token: str) -> tuple[DeliveryRef, str] | None:
        """(delivery, original address) of a genuine click token, else None."""
        found = self._read_compact(CLICK, token)
        if found is not None:
            ref, rest = found
            try:
                return ref, rest.decode("utf-8", "surrogatepass")
            except UnicodeError:
                return None
        data = self._read_legacy(CLICK, token, extra=1)
        if data is None or not isinstance(data[2], str):
            return None
        return DeliveryRef(data[0], data[1]), data[2]

    def unsubscribe_mailto(self, bounce_domain: str, ref: DeliveryRef,
                           token: str | None = None) -> str:
        """The ``mailto:`` form of List-Unsubscribe, naming the delivery in its subject.

        The token's alphabet (base64url and ``.``) needs no percent-encoding in a URI.
        """
        token = token or self.unsubscribe_token(ref)
        return f"mailto:unsubscribe@{bounce_domain}?subject=unsubscribe%20{token}"


def links_for(config: Any) -> Links:
    """The Links of an app's config (a Flask ``app.config`` or any mapping)."""
    return Links(config["MAILER_PUBLIC_URL"], config["SECRET_KEY"])
