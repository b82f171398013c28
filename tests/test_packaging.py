"""A non-editable install carries the templates, static files, migrations and demo data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_templates_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("mailer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in ROOT.joinpath("templates").rglob("*"):
        if template.is_file():
            relative = template.relative_to(ROOT).as_posix()
            assert f"mailer/{relative}" in names, relative
    assert "mailer/static/app.css" in names
    assert "mailer/migrations/env.py" in names
    assert "mailer/migrations/alembic.ini" in names
    assert any(n.startswith("mailer/migrations/versions/0001_") for n in names)
    assert "worker/celery.py" in names
    demo = sorted(ROOT.joinpath("mailer", "demo", "release").glob("*.md"))
    assert len(demo) >= 6
    for release_file in demo:
        relative = release_file.relative_to(ROOT).as_posix()
        assert relative in names, relative
    assert "mailer/demo/load.py" in names
    assert "mailer/web/openapi.yaml" in names
    assert "mailer/translations/ru/LC_MESSAGES/messages.mo" in names
    assert "mailer/rendering/locales/ru/LC_MESSAGES/messages.mo" in names
