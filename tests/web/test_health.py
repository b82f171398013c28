"""GET /healthz reports the database and the broker."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from mailer import create_app
from tests.conftest import app_config
from tests.support.services import RedisServer, free_port


def test_healthy(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthy_on_redis(app: Flask, redis_server: RedisServer, tmp_path: Path) -> None:
    redis_app = create_app(app_config(tmp_path / "i", app.config["SQLALCHEMY_DATABASE_URI"],
                                      MAILER_BROKER_URL=redis_server.url))
    assert redis_app.test_client().get("/healthz").get_json()["broker"] == "ok"


def test_broker_down_is_503(app: Flask, tmp_path: Path) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    broken = create_app(app_config(tmp_path / "i", app.config["SQLALCHEMY_DATABASE_URI"],
                                   MAILER_BROKER_URL=down))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "ok", "broker": "error"}


def test_database_down_is_503(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    broken = create_app(app_config(tmp_path / "i", url))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "error"
    assert "Traceback" not in response.get_data(as_text=True)
