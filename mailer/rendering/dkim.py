"""DKIM signing (RFC 6376) of finished messages, when a key is configured.

The signature covers the headers a receiver and a list-unsubscribe click depend on, including
``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058 asks for both to be signed), so a
one-click unsubscribe cannot be pointed elsewhere in transit. No Flask: workers sign as they
send.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dkim

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"content-language", b"list-unsubscribe", b"list-unsubscribe-post", b"list-id",
    b"feedback-id", b"reply-to",
)


@dataclass(frozen=True)
class DkimKey:
    """A signing domain, its selector, and the private key in PEM."""

    domain: str
    selector: str
    private_key: bytes

    @classmethod
    def load(cls, path: str | Path, domain: str, selector: str) -> DkimKey:
        """Read a PEM private key (RSA or Ed25519) from ``path``."""
        pem = Path(path).read_bytes()
        if b"PRIVATE KEY" not in pem:
            raise ValueError(f"{path} is not a PEM private key")
        return cls(domain=domain, selector=selector, private_key=pem)


def sign(data: bytes, key: DkimKey) -> bytes:
    """``data`` with a ``DKIM-Signature`` header prepended (relaxed/relaxed, SHA-256)."""
    header = dkim.sign(data, key.selector.encode("ascii"), key.domain.encode("idna"),
                       key.private_key, canonicalize=(b"relaxed", b"relaxed"),
                       include_headers=list(SIGNED_HEADERS), linesep=b"\r\n")
    return bytes(header) + data
