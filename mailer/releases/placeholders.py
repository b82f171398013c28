"""Placeholder checking for what staff type, delegated to the rendering engine's validator.

One function, so the release rules collect the engine's verdict per field (every broken field
in one 422) instead of stopping at the first `TemplateRejected`.
"""

from __future__ import annotations

from mailer.rendering.placeholders import TemplateRejected, validate_placeholders


def problem_in(text: str) -> str | None:
    """Why the renderer would refuse ``text`` (unknown placeholder, any tag), or None."""
    if "{" not in text:
        return None
    try:
        validate_placeholders(text, "text")
    except TemplateRejected as exc:
        return exc.fields.get("text", exc.message)
    return None
