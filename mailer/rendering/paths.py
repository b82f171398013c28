"""Where the rendering engine finds its trusted files: the email layouts and the chrome catalogs.

Mirrors ``mailer.templates_dir()`` without importing Flask, so Celery workers can use it: an
installed package carries ``mailer/templates`` (copied in by setup.py's build hook), a source
checkout reads the top-level ``templates/`` folder in place.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
"""Gettext catalogs of the layout chrome: ``<locale>/LC_MESSAGES/messages.{po,mo}``."""


def templates_dir() -> Path:
    """The templates folder: inside the installed package, or at the top of a source checkout."""
    installed = PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "templates"


def email_templates_dir() -> Path:
    """The folder of trusted email layouts, one sub-folder per kind (``release``, ``test``)."""
    return templates_dir() / "email"
