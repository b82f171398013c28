"""Real services for the test suite: Redis, a throwaway PostgreSQL cluster, headless Chromium.

Use from ``tests/conftest.py`` with::

    from tests.support.services import *  # noqa: F403

That brings in the fixtures ``redis_server``, ``postgres``, ``browser`` and ``page`` plus the
helpers ``free_port``, ``RedisServer`` and ``PostgresCluster``. No pytest hook has to be imported:
the screenshot-on-failure hook registers itself the first time ``page`` is used.

Design notes
------------
* Every server runs as a direct child of the pytest process (no daemonising), started with
  ``PR_SET_PDEATHSIG=SIGKILL``: it dies with pytest even when pytest itself is killed with
  SIGKILL or leaves through ``os._exit`` (pytest-timeout's thread method). An ``atexit`` handler
  is the backstop for a normal interpreter exit; fixture teardown is the normal path.
* A service is started once per pytest process even if its fixture is defined in several places
  (``import *`` into conftest *and* into a test module gives pytest two fixture definitions):
  instances are reference-counted in this module.
* If a binary is missing the fixture fails with a clear message; it skips instead only when the
  environment has ``MAILER_TEST_ALLOW_SKIP=1``. CI must never skip silently.

This module must not import the ``mailer`` package.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = [
    "PostgresCluster",
    "RedisServer",
    "browser",
    "free_port",
    "page",
    "postgres",
    "redis_server",
]

LOOPBACK = "127.0.0.1"
CHROMIUM_PATH = os.environ.get("MAILER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
SCREENSHOT_DIR = Path("test-artifacts") / "screenshots"  # relative to pytest's rootdir


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _unavailable(what: str) -> NoReturn:
    """Skip (MAILER_TEST_ALLOW_SKIP=1) or fail loudly because a service cannot be provided."""
    if os.environ.get("MAILER_TEST_ALLOW_SKIP") == "1":
        pytest.skip(f"{what} (skipped because MAILER_TEST_ALLOW_SKIP=1)")
    pytest.fail(
        f"{what}. Install it (./scripts/test does) or set MAILER_TEST_ALLOW_SKIP=1 to skip "
        "these tests locally.",
        pytrace=False,
    )


try:
    _prctl: Callable[..., int] | None = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec (after any setuid, so it is not reset).
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn(
    argv: list[str], *, log: Path, cwd: Path, as_user: str | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-running child that can never outlive this process."""
    # PDEATHSIG fires when the *thread* that forked the child ends, so only arm it from the
    # main thread (a fault test may call RedisServer.restart() from a short-lived thread).
    in_main = threading.current_thread() is threading.main_thread()
    kwargs: dict[str, Any] = {}
    if as_user is not None:
        kwargs.update(user=as_user, group=as_user, extra_groups=[])
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,  # Ctrl-C in the terminal goes to pytest only
            preexec_fn=_die_with_parent if in_main else None,
            env=_child_env(),
            **kwargs,
        )


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    env.pop("LANGUAGE", None)
    return env


_SERVICE_DIR_PREFIXES = ("mailer-redis-", "mailer-pg-")


def _make_service_dir(prefix: str) -> Path:
    """A fresh temp dir marked with our pid; dirs left by killed pytest runs are removed."""
    stale = [
        d
        for p in _SERVICE_DIR_PREFIXES
        for d in glob.glob(os.path.join(tempfile.gettempdir(), f"{p}*"))
    ]
    for old in stale:
        try:
            owner = int(Path(old, ".owner").read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)  # its pytest is gone
        except (OSError, ValueError):
            pass  # not ours, or still in use
    path = Path(tempfile.mkdtemp(prefix=prefix))
    (path / ".owner").write_text(str(os.getpid()))
    return path


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _stop_process(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    except ProcessLookupError:
        pass


# One instance of each service per process, reference-counted (see module docstring).
_T = TypeVar("_T")
_live: dict[str, tuple[Any, int]] = {}
_live_lock = threading.Lock()


def _acquire(key: str, factory: Callable[[], _T]) -> _T:
    with _live_lock:
        if key in _live:
            obj, count = _live[key]
            _live[key] = (obj, count + 1)
            return cast(_T, obj)
    obj = factory()
    with _live_lock:
        _live[key] = (obj, 1)
    return obj


def _release(key: str, close: Callable[[Any], None]) -> None:
    with _live_lock:
        if key not in _live:  # already closed by the atexit backstop
            return
        obj, count = _live.pop(key)
        if count > 1:
            _live[key] = (obj, count - 1)
            return
    close(obj)


@atexit.register
def _close_everything_at_exit() -> None:
    with _live_lock:
        items = list(_live.values())
        _live.clear()
    for obj, _ in items:
        closer = getattr(obj, "_close", None)
        if closer is not None:
            closer()


# --------------------------------------------------------------------------- Redis


class RedisServer:
    """A real ``redis-server`` on a loopback port; no persistence; data dir in a temp dir."""

    host = LOOPBACK

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = _make_service_dir("mailer-redis-")
        self.log = self.dir / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10) -> None:
        """Start (again) on the same port. No-op if already running."""
        if self.running:
            return
        argv = [
            self.binary,
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.dir),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--loglevel", "warning",
        ]  # fmt: skip
        self._proc = _spawn(argv, log=self.log, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self._proc.returncode} on port {self.port}:\n"
                    + _tail(self.log)
                )
            try:
                if self.command("PING") == "PONG":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING:\n{_tail(self.log)}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop the server (SIGTERM; no data is saved). Connections see it go away."""
        _stop_process(self._proc, signal.SIGTERM)
        self._proc = None

    def kill(self) -> None:
        """Crash the server (SIGKILL), for fault tests."""
        _stop_process(self._proc, signal.SIGKILL)
        self._proc = None

    def restart(self) -> None:
        """Stop and start again on the same port: all keys are gone afterwards."""
        self.stop()
        self.start()

    def flushall(self) -> None:
        self.command("FLUSHALL")

    def command(self, *args: str, timeout: float = 5) -> str:
        """Send one command and return the reply line for simple replies (``+OK`` → ``OK``).

        Raises ``RuntimeError`` for an error reply. Bulk and array replies are returned raw;
        use :meth:`client` for anything more than PING/FLUSHALL/CONFIG SET.
        """
        payload = f"*{len(args)}\r\n".encode()
        for arg in args:
            data = arg.encode()
            payload += b"$%d\r\n%s\r\n" % (len(data), data)
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(payload)
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("redis closed the connection")
                reply += chunk
        text = reply.decode(errors="replace").rstrip("\r\n")
        if text.startswith("-"):
            raise RuntimeError(f"redis error: {text[1:]}")
        return text[1:] if text[:1] in "+:" else text

    def client(self, **kwargs: Any) -> Any:
        """A ``redis.Redis`` client for this server (needs the redis package)."""
        import redis

        return redis.Redis.from_url(self.url, **kwargs)

    def _close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"<RedisServer {self.url} running={self.running}>"


def _start_redis() -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(binary)
    try:
        server.start()
    except BaseException:
        server._close()
        raise
    return server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis for the whole session. Use ``.flushall()`` between tests if needed; a
    test that calls ``.stop()`` must ``.start()`` it again (try/finally) for the tests after it.
    """
    server = _acquire("redis", _start_redis)
    try:
        yield server
    finally:
        _release("redis", RedisServer._close)


# --------------------------------------------------------------------------- PostgreSQL


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_postgres_bindir() -> Path | None:
    """The bin dir holding ``initdb`` and ``postgres``: $MAILER_TEST_PG_BINDIR, then
    ``pg_config --bindir``, then the highest /usr/lib/postgresql/*/bin, then $PATH."""
    candidates: list[Path] = []
    if os.environ.get("MAILER_TEST_PG_BINDIR"):
        candidates.append(Path(os.environ["MAILER_TEST_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            candidates.append(Path(out))
        except (subprocess.SubprocessError, OSError):
            pass
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates.extend(Path(d) for d in dirs)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for cand in candidates:
        if (cand / "initdb").is_file() and (cand / "postgres").is_file():
            return cand
    return None


class PostgresCluster:
    """A throwaway PostgreSQL cluster (trust auth, superuser ``postgres``, fsync off)."""

    host = LOOPBACK
    user = "postgres"

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        # Not under pytest's tmp dir: that is 0700 root and the postgres user must reach it.
        self.dir = _make_service_dir("mailer-pg-")
        self.datadir = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._run_as = "postgres" if os.geteuid() == 0 else None
        self.server_version_num = 0

    # -- URLs
    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL, e.g. ``postgresql+psycopg://postgres@127.0.0.1:PORT/dbname``."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq/psycopg conninfo URL for ``psycopg.connect``."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    # -- lifecycle
    def init_and_start(self, timeout: float = 30) -> None:
        if self._run_as is not None:
            shutil.chown(self.dir, self._run_as, self._run_as)
        self.dir.chmod(0o700)
        initdb = [
            str(self.bindir / "initdb"),
            "-D", str(self.datadir),
            "-U", self.user,
            "-A", "trust",
            "-E", "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        ]  # fmt: skip
        kwargs: dict[str, Any] = {}
        if self._run_as is not None:
            kwargs.update(user=self._run_as, group=self._run_as, extra_groups=[])
        result = subprocess.run(
            initdb,
            capture_output=True,
            text=True,
            cwd=self.dir,
            env=_child_env(),
            timeout=120,
            check=False,
            **kwargs,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        self.start(timeout)

    def start(self, timeout: float = 30) -> None:
        """Start the postmaster (a direct child; same as ``pg_ctl start -w``). No-op if up."""
        if self.running:
            return
        argv = [
            str(self.bindir / "postgres"),
            "-D", str(self.datadir),
            "-p", str(self.port),
            "-k", str(self.dir),
            "-c", f"listen_addresses={self.host}",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=200",
        ]  # fmt: skip
        self._proc = _spawn(argv, log=self.log, cwd=self.dir, as_user=self._run_as)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with {self._proc.returncode}:\n{_tail(self.log)}"
                )
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2, autocommit=True) as conn:
                    self.server_version_num = conn.info.server_version
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"postgres not ready after {timeout}s:\n{_tail(self.log)}"
                    ) from None
                time.sleep(0.02)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Immediate shutdown: SIGQUIT to the postmaster, which is ``pg_ctl stop -m immediate``."""
        _stop_process(self._proc, signal.SIGQUIT)
        self._proc = None

    def _close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- SQL helpers (always against the ``postgres`` database, autocommit)
    def execute(self, sql: Any, params: Any = None) -> list[tuple[Any, ...]] | None:
        """Run one statement in the ``postgres`` db; return its rows, or None if it has none.

        ``sql`` may be a string or a ``psycopg.sql.Composable``.
        """
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description is not None else None

    def _terminate(self, name: str) -> None:
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE (optionally as a copy of ``template``); returns ``url(name)``.

        Sessions still connected to the template are terminated first, because PostgreSQL
        refuses to copy a database that has other users.
        """
        from psycopg import sql

        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            self._terminate(template)
            stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
        self.execute(stmt)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS, disconnecting its sessions first."""
        from psycopg import sql

        stmt = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        if self.server_version_num >= 130000:
            stmt = sql.SQL("{} WITH (FORCE)").format(stmt)
        else:
            self._terminate(name)
        self.execute(stmt)

    def __repr__(self) -> str:
        return f"<PostgresCluster {self.dsn()} running={self.running}>"


def _start_postgres() -> PostgresCluster:
    bindir = find_postgres_bindir()
    if bindir is None:
        _unavailable(
            "PostgreSQL server binaries (initdb, postgres) not found (apt-get install postgresql)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("the psycopg package is not installed in this environment")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root but there is no 'postgres' OS user to run initdb")
    cluster = PostgresCluster(bindir)
    try:
        cluster.init_and_start()
    except BaseException:
        cluster._close()
        raise
    return cluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for the whole session; removed at the end."""
    cluster = _acquire("postgres", _start_postgres)
    try:
        yield cluster
    finally:
        _release("postgres", PostgresCluster._close)


# --------------------------------------------------------------------------- Chromium


class _BrowserSession:
    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self.browser: Browser = self._pw.chromium.launch(
                executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
            )
        except BaseException:
            self._pw.stop()
            raise

    def _close(self) -> None:
        from playwright.sync_api import Error as PlaywrightError

        try:
            self.browser.close()
        except PlaywrightError:
            pass
        finally:
            self._pw.stop()


def _start_browser() -> _BrowserSession:
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        _unavailable(f"Chromium not found at {CHROMIUM_PATH} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed in this environment")
    return _BrowserSession()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven through Playwright's sync API."""
    session = _acquire("browser", _start_browser)
    try:
        yield session.browser
    finally:
        _release("browser", _BrowserSession._close)


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_PLUGIN_NAME = "mailer-test-reports"


class _ReportPlugin:
    """Keeps each phase's report on the item, so fixtures can see whether the test failed."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        item.stash.setdefault(_REPORTS, {})[report.when] = report
        return report


def _failed(node: pytest.Item) -> bool:
    reports = node.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh context (1280x800, en-US) and page; screenshot to
    ``test-artifacts/screenshots/<test name>.png`` if the test failed."""
    from playwright.sync_api import Error as PlaywrightError

    manager = request.config.pluginmanager
    if manager.get_plugin(_PLUGIN_NAME) is None:
        # Registered here rather than as a module-level hook so it also works when this module
        # is only star-imported into a test module (test modules cannot define hooks).
        manager.register(_ReportPlugin(), _PLUGIN_NAME)

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    try:
        pg = context.new_page()
        yield pg
        if isinstance(request.node, pytest.Item) and _failed(request.node):
            name = re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", request.node.name)[:200]
            target = request.config.rootpath / SCREENSHOT_DIR / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                pg.screenshot(path=str(target), full_page=True, timeout=10_000)
            except PlaywrightError as exc:
                request.node.add_report_section("teardown", "screenshot", f"failed: {exc}")
            else:
                request.node.add_report_section("teardown", "screenshot", str(target))
    finally:
        with contextlib.suppress(PlaywrightError):
            context.close()
