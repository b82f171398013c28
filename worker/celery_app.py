"""The Celery app, wired to the Flask app so every task runs inside an app context.

With ``MAILER_BROKER_URL`` unset the broker is kombu's filesystem transport in the instance
folder: real serialised messages, real acks, no server. With ``redis://…`` it is Redis.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import Celery, Task
from flask import Flask
from kombu import Exchange, Queue

DISPATCH_QUEUE = "dispatch"
TRACKING_QUEUE = "tracking"
HOUSEKEEPING_QUEUE = "housekeeping"
QUEUES = (DISPATCH_QUEUE, TRACKING_QUEUE, HOUSEKEEPING_QUEUE)


def broker_transport_options(broker_url: str, instance_path: Path) -> dict[str, Any]:
    """Transport options per broker kind."""
    if broker_url.startswith("filesystem://"):
        folder = instance_path / "broker"
        queue_dir, processed_dir = folder / "queue", folder / "processed"
        control_dir = folder / "control"  # the exchange → queue table, per instance
        for directory in (queue_dir, processed_dir, control_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return {
            "control_folder": str(control_dir),
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(processed_dir),
            "store_processed": False,
            "polling_interval": 0.2,
        }
    if broker_url.startswith(("redis://", "rediss://")):
        # A task not acked within the visibility timeout is redelivered; keep it well above
        # the longest task, and retries' countdowns well below it (Celery's Redis caveats).
        return {"visibility_timeout": 3600, "socket_timeout": 10, "socket_connect_timeout": 5,
                "retry_on_timeout": True}
    return {}


def broker_transport(broker_url: str) -> str | None:
    """kombu's transports with their crash-on-fault paths mended (see each module)."""
    if broker_url.startswith("filesystem://"):
        # kombu's filesystem transport can hand out a message file before it is written.
        return "worker.filesystem_broker:Transport"
    if broker_url.startswith(("redis://", "rediss://")):
        # kombu's Redis transport can stop the worker when Redis goes away mid-task.
        return "worker.redis_broker:Transport"
    return None


def celery_config(app: Flask) -> dict[str, Any]:
    """Celery settings derived from the Flask config."""
    broker_url = app.config["MAILER_BROKER_URL"]
    return {
        "broker_url": broker_url,
        "broker_transport": broker_transport(broker_url),
        "broker_transport_options": broker_transport_options(broker_url,
                                                             Path(app.instance_path)),
        "broker_connection_retry_on_startup": True,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        # Each queue its own direct exchange and key: a message lands in exactly one queue.
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name)
                        for name in QUEUES],
        "task_default_queue": HOUSEKEEPING_QUEUE,
        "task_routes": {
            "dispatch.*": {"queue": DISPATCH_QUEUE},
            "tracking.*": {"queue": TRACKING_QUEUE},
            "housekeeping.*": {"queue": HOUSEKEEPING_QUEUE},
        },
        "beat_schedule": {
            "dispatch-sweep": {
                "task": "dispatch.sweep",
                "schedule": timedelta(seconds=10),
            },
            "purge-outbox": {
                "task": "housekeeping.purge_outbox",
                "schedule": timedelta(hours=6),
            },
        },
        "timezone": "UTC",
        "enable_utc": True,
    }


def init_celery(app: Flask) -> Celery:
    """Create the Celery app for ``app``, make it the default, and register the tasks."""

    class FlaskTask(Task):
        """Runs every task inside the Flask app's context (database session, config)."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery: Celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object(celery_config(app))
    celery.set_default()
    app.extensions["celery"] = celery

    import worker.tasks  # noqa: F401  (registers the shared tasks with this app)

    return celery
