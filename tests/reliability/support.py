"""What every fault test shares: real workers to start and kill, a mailing to send, the
invariant every mailing must end in, a TCP proxy to cut the database off, and memory peaks.

The invariant (`check_invariant`), checked after every fault once the fault is gone:

* the mailing finishes by itself (status ``sent``): nobody runs the sweep or resumes it by hand;
* every delivery ends in exactly one final state; nothing is left queued, claimed, sending or
  deferred;
* the sink's log holds exactly one copy for each ``sent`` delivery, none for a ``failed`` or
  ``bounced`` one, and at most one for an ``unknown`` one (it may have arrived; it is never
  resent); nothing for anyone outside the mailing;
* every copy carries its delivery's Message-ID, fixed at the freeze and reused on retries.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import Stack
from tests.dispatch.test_mailings import Api, add_contacts, new_list, new_release
from tests.support.processes import BIN, ServiceProcess
from tests.support.smtp import SmtpSink, free_port

FINAL_STATES = frozenset({"sent", "failed", "bounced", "unknown", "skipped", "cancelled"})
FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability" / \
    "figures.jsonl"
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)

# A worker that notices a dead peer quickly: claims older than 2 s go back to the queue and a
# send silent for 2 s + the SMTP timeout becomes unknown, at the next sweep (every 10 s).
FAST_RECOVERY = {"MAILER_CLAIM_TIMEOUT_SECONDS": "2", "MAILER_SMTP_TIMEOUT_SECONDS": "2"}


# --------------------------------------------------------------------------- workers


class Workers:
    """Starts real `mailer worker -B` processes (worker plus beat, so the sweep runs by
    itself) for a stack, and kills them; every process is gone when the test ends."""

    def __init__(self, stack: Stack, tmp_path: Path, env: Mapping[str, str] | None = None
                 ) -> None:
        self.stack = stack
        self.tmp_path = tmp_path
        self.env = {**stack.env, **(env or {})}
        self.started = 0
        self.kills = 0
        self.live: list[ServiceProcess] = []

    def start(self, *, beat: bool = True, env: Mapping[str, str] | None = None,
              command: list[str] | None = None, ready: float = 60) -> ServiceProcess:
        """One more worker; returns when it consumes."""
        self.started += 1
        n = self.started
        args = [*(command or [str(BIN / "mailer"), "worker"]),
                "--pool", "threads", "--concurrency", "2", "--without-mingle",
                "--without-gossip", "--loglevel", "INFO",
                "--hostname", f"fault-{self.stack.kind}-{n}@%h"]
        if beat:
            # A schedule file per incarnation: a SIGKILL may leave the last one half-written.
            args += ["--beat", "--schedule", str(self.tmp_path / f"beat-schedule-{n}")]
        worker = ServiceProcess(args, {**self.env, **(env or {})},
                                self.tmp_path / f"worker-{n}.log")
        self.live.append(worker)
        worker.wait_for_output(r"ready\.", timeout=ready)
        return worker

    def kill(self, worker: ServiceProcess) -> None:
        """SIGKILL the worker's whole process group (worker, its threads, its beat)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)
        worker.stop()
        self.kills += 1
        if worker in self.live:
            self.live.remove(worker)

    def close(self) -> None:
        """Stop what is still running, at once: the test has checked what it needed."""
        for worker in self.live:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.process.pid, signal.SIGKILL)
            worker.stop()
        self.live.clear()


# --------------------------------------------------------------------------- mailings


@dataclass
class Audience:
    """A list of journalists and a release to send them, ready for mailings."""

    api: Api
    list_id: int
    release_id: int
    addresses: list[str]


def make_audience(stack: Stack, count: int, *, start: int = 0, api: Api | None = None,
                  name: str = "Central Asia desk") -> Audience:
    """``count`` journalists on a new list (half read Russian, half English) and a release."""
    api = api or Api(stack.app)
    list_id = new_list(api, name)
    addresses: list[str] = []
    for first in range(start, start + count, 20_000):  # PostgreSQL takes 65,535 parameters
        addresses += add_contacts(stack.app, list_id, min(20_000, start + count - first),
                                  start=first)
    return Audience(api, list_id, new_release(api), addresses)


def send_mailing(audience: Audience) -> int:
    """Create a mailing of the audience and send it through the API; its id."""
    mailing = audience.api("POST", "/mailings", {"release_id": audience.release_id,
                                                  "list_ids": [audience.list_id]}, expect=201)
    audience.api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    return int(mailing["id"])


def mailing_status(app: Flask, mailing_id: int) -> str:
    from mailer.db import db
    from mailer.dispatch.models import Mailing

    with app.app_context():
        return str(db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id)))


def status_counts(app: Flask, mailing_id: int) -> Counter[str]:
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    with app.app_context():
        return Counter(db.session.scalars(select(Delivery.status).where(
            Delivery.mailing_id == mailing_id, Delivery.is_test.is_(False))).all())


@dataclass(frozen=True)
class Row:
    id: int
    email: str
    status: str
    message_id: str
    attempts: int


def delivery_rows(app: Flask, mailing_id: int) -> list[Row]:
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    with app.app_context():
        rows = db.session.execute(
            select(Delivery.id, Delivery.email, Delivery.status, Delivery.message_id,
                   Delivery.attempts)
            .where(Delivery.mailing_id == mailing_id, Delivery.is_test.is_(False))
            .order_by(Delivery.id)).all()
        return [Row(*row) for row in rows]


def wait_until(check: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --------------------------------------------------------------------------- the invariant


@dataclass
class Figures:
    """What a mailing under a fault ended with, for the assertions and for docs/reliability.md."""

    recipients: int = 0
    states: dict[str, int] = field(default_factory=dict)
    copies: int = 0
    duplicates: int = 0
    unknown_delivered: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def check_invariant(stack: Stack, sink: SmtpSink, mailing_id: int, *, recipients: int,
                    timeout: float = 120, started: float | None = None,
                    settle: float = 0.5) -> Figures:
    """Wait (without helping) for the mailing to finish, then check every delivery against
    the sink's log; returns the figures. See the module docstring for what is checked."""
    began = started if started is not None else time.monotonic()
    try:
        wait_until(lambda: mailing_status(stack.app, mailing_id) == "sent", timeout,
                   f"mailing {mailing_id} to finish by itself")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; deliveries: {dict(status_counts(stack.app, mailing_id))}"
                             ) from None
    seconds = time.monotonic() - began
    time.sleep(settle)  # a copy still on the wire would show up now
    rows = delivery_rows(stack.app, mailing_id)
    emails = [row.email for row in rows]
    assert len(emails) == len(set(emails)) == recipients, (len(emails), len(set(emails)))
    states = Counter(row.status for row in rows)
    assert set(states) <= FINAL_STATES, f"left open: {dict(states)}"

    received = sink.messages
    copies = Counter(address.casefold() for m in received for address in m.rcpt_tos)
    ids: dict[str, set[bytes]] = {}
    for message in received:
        found = _MESSAGE_ID.search(message.data)
        for address in message.rcpt_tos:
            ids.setdefault(address.casefold(), set()).add(found.group(1) if found else b"")
    wrong: list[str] = []
    unknown_delivered = 0
    for row in rows:
        n = copies.get(row.email.casefold(), 0)
        if row.status == "sent" and n != 1:
            wrong.append(f"{row.email} sent, {n} copies")
        elif row.status == "unknown":
            unknown_delivered += n
            if n > 1:
                wrong.append(f"{row.email} unknown, {n} copies")
        elif row.status != "sent" and n:
            wrong.append(f"{row.email} {row.status}, {n} copies")
        if n and ids.get(row.email.casefold()) != {row.message_id.encode()}:
            wrong.append(f"{row.email}: Message-ID {ids.get(row.email.casefold())} is not "
                         f"{row.message_id}")
    strangers = set(copies) - {email.casefold() for email in emails}
    assert not strangers, f"mail for addresses outside the mailing: {sorted(strangers)[:5]}"
    assert not wrong, f"{len(wrong)} deliveries disagree with the sink: {wrong[:10]}"
    return Figures(recipients=recipients, states=dict(sorted(states.items())),
                   copies=sum(copies.values()),
                   duplicates=sum(n - 1 for n in copies.values() if n > 1),
                   unknown_delivered=unknown_delivered, seconds=round(seconds, 1))


def record(name: str, figures: Figures, **extra: Any) -> None:
    """Keep the figures of a run (test-artifacts/reliability/figures.jsonl) and print them."""
    figures.extra.update(extra)
    line = json.dumps({"test": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                       **asdict(figures)}, ensure_ascii=False)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    print(line)  # shown with -s, or with the output of a failing test


# --------------------------------------------------------------------------- memory


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


# --------------------------------------------------------------------------- a TCP proxy


class TcpProxy:
    """A loopback TCP proxy that can be cut: open connections are torn down and new ones
    refused (nothing listens) until `restore()`. Stands between workers and PostgreSQL."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            listener.close()
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def restore(self) -> None:
        """Listen again on the same port."""
        self.start()

    def url(self, database_url: str) -> str:
        """``database_url`` pointed through the proxy."""
        return re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{self.port}/", database_url)


@contextlib.contextmanager
def proxy_to(host: str, port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy((host, port))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.cut()
