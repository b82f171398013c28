"""`mailer bounces ingest --imap`: unseen messages of a mailbox, flagged seen once taken in.

The server is a few lines of IMAP4rev1 on a loopback port, enough for what imaplib asks."""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.support.services import free_port
from tests.tracking import bounce_samples as samples
from tests.tracking.support import make_sent


class Mailbox:
    def __init__(self, messages: list[bytes]) -> None:
        self.messages = dict(enumerate(messages, start=1))
        self.seen: set[int] = set()
        self.logins: list[tuple[str, str]] = []


def handler_for(box: Mailbox) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("* OK fake IMAP4rev1 ready")
            for raw in self.rfile:
                tag, _, rest = raw.decode().strip().partition(" ")
                command, _, args = rest.partition(" ")
                command = command.upper()
                if command == "CAPABILITY":
                    self.reply("* CAPABILITY IMAP4rev1")
                elif command == "LOGIN":
                    user, password = (part.strip('"') for part in args.split(" ", 1))
                    box.logins.append((user, password))
                elif command == "SELECT":
                    self.reply(f"* {len(box.messages)} EXISTS")
                elif command == "UID" and args.upper().startswith("SEARCH"):
                    unseen = " ".join(str(u) for u in box.messages if u not in box.seen)
                    self.reply(f"* SEARCH {unseen}".rstrip())
                elif command == "UID" and args.upper().startswith("FETCH"):
                    uid = int(args.split()[1])
                    data = box.messages[uid]
                    self.wfile.write(f"* {uid} FETCH (UID {uid} BODY[] {{{len(data)}}}\r\n"
                                     .encode() + data + b")\r\n")
                elif command == "UID" and args.upper().startswith("STORE"):
                    box.seen.add(int(args.split()[1]))
                elif command == "LOGOUT":
                    self.reply("* BYE")
                    self.reply(f"{tag} OK LOGOUT completed")
                    return
                self.reply(f"{tag} OK {command} completed")

    return Handler


@pytest.fixture
def imap() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox([])
    port = free_port()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), handler_for(box))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box, port
    server.shutdown()
    server.server_close()


def test_ingest_from_imap(app: Flask, imap: tuple[Mailbox, int]) -> None:
    from mailer.dispatch.verp import verp_address

    box, port = imap
    sent = make_sent(app)
    verp = verp_address(sent.delivery_id, app.config["SECRET_KEY"],
                        app.config["MAILER_BOUNCE_DOMAIN"])
    box.messages = {1: samples.gmail_dsn(verp, sent.email, sent.message_id),
                    2: samples.out_of_office(verp, sent.email, sent.message_id)}
    runner = app.test_cli_runner()
    url = f"imap://bounces%40example.org:p%40ss@127.0.0.1:{port}/INBOX"
    result = runner.invoke(args=["bounces", "ingest", "--imap", url])
    assert result.exit_code == 0, result.output
    assert re.search(rf"imap uid 1: hard 5\.1\.1 {re.escape(sent.email)} delivery", result.output)
    assert "imap uid 2: auto_reply" in result.output
    assert box.logins == [("bounces@example.org", "p@ss")]
    assert box.seen == {1, 2}
    again = runner.invoke(args=["bounces", "ingest", "--imap", url])
    assert "done: no messages" in again.output
