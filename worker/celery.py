"""The Celery app for ``celery -A worker``: built from the Flask app and the environment."""

from __future__ import annotations

from celery import Celery

from mailer import create_app

flask_app = create_app()
app: Celery = flask_app.extensions["celery"]
