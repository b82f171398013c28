"""The test services themselves: real Redis, a throwaway PostgreSQL cluster, headless Chromium."""

from __future__ import annotations

import http.server
import socket
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import Page

from tests.support.services import *  # noqa: F403
from tests.support.services import PostgresCluster, RedisServer, free_port


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 < port < 65536
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.redis
def test_redis_answers_ping(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert redis_server.command("PING") == "PONG"
    client = redis_server.client()
    try:
        assert client.ping() is True
    finally:
        client.close()


@pytest.mark.redis
def test_redis_restart_keeps_port_and_drops_data(redis_server: RedisServer) -> None:
    port = redis_server.port
    redis_server.command("SET", "mailer:test:key", "before")
    assert redis_server.command("EXISTS", "mailer:test:key") == "1"

    redis_server.restart()

    assert redis_server.port == port
    assert redis_server.command("PING") == "PONG"
    assert redis_server.command("EXISTS", "mailer:test:key") == "0"


@pytest.mark.redis
def test_redis_stop_then_start(redis_server: RedisServer) -> None:
    redis_server.stop()
    try:
        with pytest.raises(OSError):
            redis_server.command("PING", timeout=1)
    finally:
        redis_server.start()
    assert redis_server.command("PING") == "PONG"


@pytest.mark.redis
def test_redis_flushall(redis_server: RedisServer) -> None:
    redis_server.command("SET", "k", "v")
    redis_server.flushall()
    assert redis_server.command("DBSIZE") == "0"


@pytest.mark.postgres
def test_postgres_create_query_drop(postgres: PostgresCluster) -> None:
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    assert url == f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/{name}"
    assert postgres.url(name) == url
    try:
        with psycopg.connect(postgres.dsn(name)) as conn:
            conn.execute("CREATE TABLE greeting (text text)")
            conn.execute("INSERT INTO greeting VALUES (%s)", ("Привет, мир",))
            row = conn.execute("SELECT text, current_setting('server_encoding') FROM greeting")
            assert row.fetchone() == ("Привет, мир", "UTF8")
        # an open connection must not prevent the drop
        lingering = psycopg.connect(postgres.dsn(name))
    finally:
        postgres.drop_database(name)
    lingering.close()
    rows = postgres.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    assert rows == []


@pytest.mark.postgres
def test_postgres_template_copy(postgres: PostgresCluster) -> None:
    template = f"tpl_{uuid.uuid4().hex[:12]}"
    copy = f"copy_{uuid.uuid4().hex[:12]}"
    postgres.create_database(template)
    try:
        # a session left connected to the template (as a pool would) must not block the copy
        with psycopg.connect(postgres.dsn(template), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (n int)")
            conn.execute("INSERT INTO t VALUES (42)")
            postgres.create_database(copy, template=template)
        with psycopg.connect(postgres.dsn(copy)) as conn:
            assert conn.execute("SELECT n FROM t").fetchall() == [(42,)]
    finally:
        postgres.drop_database(copy)
        postgres.drop_database(template)


@pytest.mark.postgres
def test_postgres_execute(postgres: PostgresCluster) -> None:
    assert postgres.execute("SELECT 1 + 1") == [(2,)]
    assert postgres.execute("SET application_name = 'x'") is None
    assert postgres.execute("SHOW fsync") == [("off",)]


@pytest.fixture
def http_site() -> Iterator[str]:
    html = "<!doctype html><html><head><meta charset=utf-8><title>Пресс-релиз</title></head>"
    html += "<body><h1 id=h>Hello</h1></body></html>"
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_chromium_data_url(page: Page) -> None:
    page.goto("data:text/html;charset=utf-8,<title>Data%20title</title><p>x</p>")
    assert page.title() == "Data title"
    assert page.viewport_size == {"width": 1280, "height": 800}
    assert page.evaluate("navigator.language") == "en-US"


@pytest.mark.browser
def test_chromium_loopback_http(page: Page, http_site: str) -> None:
    response = page.goto(http_site)
    assert response is not None
    assert response.status == 200
    assert page.title() == "Пресс-релиз"
    assert page.text_content("#h") == "Hello"
