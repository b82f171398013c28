"""Where bounce messages come from for ``mailer bounces ingest``: an mbox file, a Maildir,
standard input (an MTA pipe), or an IMAP mailbox. Each yields raw messages, one at a time."""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from mailer.errors import Invalid


@dataclass(frozen=True)
class RawMessage:
    """One message's bytes and where it came from (for the report)."""

    label: str
    data: bytes


def from_mbox(path: Path) -> Iterator[RawMessage]:
    """Every message of an mbox file."""
    box = mailbox.mbox(str(path), create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            yield RawMessage(f"{path.name}#{number}", box.get_bytes(key))
    finally:
        box.close()


def from_maildir(path: Path) -> Iterator[RawMessage]:
    """Every message of a Maildir (new and cur), oldest name first."""
    if not (path / "new").is_dir() and not (path / "cur").is_dir():
        raise Invalid("Not a Maildir.", fields={"maildir": f"{path} has no new/ or cur/"})
    box = mailbox.Maildir(str(path), factory=None, create=False)
    for key in sorted(box.iterkeys()):
        yield RawMessage(key, box.get_bytes(key))


def from_stream(stream: BinaryIO) -> Iterator[RawMessage]:
    """One message from a stream (standard input, as an MTA pipes it)."""
    yield RawMessage("stdin", stream.read())


@dataclass(frozen=True)
class ImapSource:
    """``imap[s]://user:password@host[:port]/MAILBOX``: unseen messages, marked seen once read."""

    host: str
    port: int
    user: str
    password: str
    folder: str
    tls: bool

    @classmethod
    def parse(cls, url: str) -> ImapSource:
        """Read an IMAP URL; 422 when it is not one."""
        parts = urlsplit(url)
        if parts.scheme not in {"imap", "imaps"} or not parts.hostname:
            raise Invalid("Not an IMAP URL.",
                          fields={"imap": "imaps://user:password@host/INBOX"})
        tls = parts.scheme == "imaps"
        return cls(host=parts.hostname, port=parts.port or (993 if tls else 143),
                   user=unquote(parts.username or ""), password=unquote(parts.password or ""),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX", tls=tls)

    def messages(self) -> Iterator[RawMessage]:
        """Unseen messages of the folder; each is flagged \\Seen after it is yielded."""
        client: imaplib.IMAP4 = (imaplib.IMAP4_SSL(self.host, self.port) if self.tls
                                 else imaplib.IMAP4(self.host, self.port))
        try:
            client.login(self.user, self.password)
            client.select(self.folder)
            _, found = client.uid("SEARCH", "UNSEEN")
            for uid in (found[0] or b"").decode("ascii").split():
                _, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((item[1] for item in data
                            if isinstance(item, tuple) and len(item) > 1), b"")
                yield RawMessage(f"imap uid {uid}", bytes(raw))
                client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()
