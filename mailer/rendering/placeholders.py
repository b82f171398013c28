"""Staff placeholders: the short list of recipient fields a subject, preheader or body may use.

What staff type is data, not a template. It is lexed with Jinja2's `ImmutableSandboxedEnvironment`
(`StrictUndefined`) and accepted only when every ``{{ … }}`` holds exactly one allowed name;
any ``{% %}``, ``{# #}``, filter, attribute, call, literal or unknown name raises
`TemplateRejected` (HTTP 422) and is never executed. Accepted text is then rendered by the same
sandbox with slot tokens in place of the names, so the per-recipient values can be put in later
by plain substitution (see `mailer.rendering.slots`).
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mailer.errors import Invalid

ALLOWED_PLACEHOLDERS: tuple[str, ...] = ("first_name", "last_name", "full_name", "outlet", "email")
"""The names staff may write as ``{{ name }}``: the recipient's first and last name, both
together (``full_name``), their outlet and their email address. An empty value renders as
nothing."""

_ALLOWED_TEXT = ", ".join(f"{{{{ {name} }}}}" for name in ALLOWED_PLACEHOLDERS)
_OPENERS = {
    "block_begin": "{% … %} statements",
    "raw_begin": "{% raw %} blocks",
    "comment_begin": "{# … #} comments",
    "linestatement_begin": "line statements",
    "linecomment_begin": "line comments",
}

_sandbox = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, cache_size=0
)


class TemplateRejected(Invalid):
    """Text that uses template syntax beyond the allowed placeholders; ``fields`` says where."""

    code = "template_rejected"


def _reason(text: str) -> str | None:
    """Why ``text`` is not acceptable placeholder text, or None when it is."""
    try:
        tokens = list(_sandbox.lex(text))
    except TemplateError as exc:
        return f"template syntax error: {exc.message or exc}; allowed: {_ALLOWED_TEXT}"
    expression: list[tuple[str, str]] | None = None
    for _, kind, value in tokens:
        if kind in _OPENERS:
            return (f"{_OPENERS[kind]} are not allowed; "
                    f"use only the placeholders {_ALLOWED_TEXT}")
        if kind == "variable_begin":
            expression = []
        elif kind == "variable_end":
            if expression is None:  # pragma: no cover - the lexer never yields this alone
                return "unexpected }}"
            problem = _check_expression(expression)
            if problem:
                return problem
            expression = None
        elif expression is not None and kind != "whitespace":
            expression.append((kind, value))
    if expression is not None:
        return "unclosed {{ (write the placeholder as {{ first_name }})"
    return None


def _check_expression(expression: list[tuple[str, str]]) -> str | None:
    shown = "{{ " + "".join(value for _, value in expression) + " }}"
    if len(expression) == 1 and expression[0][0] == "name":
        name = expression[0][1]
        if name in ALLOWED_PLACEHOLDERS:
            return None
        return f"unknown placeholder {shown}; allowed: {_ALLOWED_TEXT}"
    if not expression:
        return f"empty placeholder {{{{ }}}}; allowed: {_ALLOWED_TEXT}"
    return (f"only plain placeholders are allowed, not {shown} "
            f"(no filters, attributes, calls or literals); allowed: {_ALLOWED_TEXT}")


def validate_placeholders(text: str, field: str) -> None:
    """Raise `TemplateRejected` naming ``field`` unless ``text`` uses only allowed placeholders."""
    reason = _reason(text)
    if reason is not None:
        raise TemplateRejected(f"The {field} uses template syntax that is not allowed: {reason}",
                               fields={field: reason})


def validate_fields(fields: Mapping[str, str]) -> None:
    """Check several fields at once; one `TemplateRejected` lists every field in error."""
    reasons = {name: reason for name, text in fields.items()
               if (reason := _reason(text)) is not None}
    if reasons:
        names = ", ".join(reasons)
        raise TemplateRejected(f"Template syntax that is not allowed in: {names}.", fields=reasons)


def substitute(text: str, field: str, tokens: Mapping[str, str]) -> str:
    """``text`` (already validated) with each placeholder replaced by ``tokens[name]``."""
    validate_placeholders(text, field)
    if "{" not in text:
        return text
    try:
        template = _sandbox.from_string(text)
        return template.render(**tokens)
    except TemplateError as exc:  # StrictUndefined and sandbox violations end up here
        reason = f"could not be rendered: {exc.message or exc}"
        raise TemplateRejected(f"The {field} {reason}", fields={field: reason}) from exc


def placeholder_values(first_name: str, last_name: str, outlet: str, email: str
                       ) -> dict[str, str]:
    """The value of every allowed placeholder for one recipient (already cleaned)."""
    full_name = f"{first_name} {last_name}".strip()
    return {"first_name": first_name, "last_name": last_name, "full_name": full_name,
            "outlet": outlet, "email": email}
