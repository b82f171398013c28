"""The rendering engine: one translation of a press release plus one recipient -> the exact bytes
of an RFC 5322 message.

No Flask import anywhere in this package: it runs in Celery workers. Compile once per
(release, language) per mailing, render per recipient::

    compiled = compile_release(content)              # validate, Markdown, sanitise, layout, CSS
    message = render_message(compiled, recipient, context)
    transport.send(message.envelope())               # VERP sender, one recipient, the bytes

Modules, one job each: `content` (the input values), `placeholders` (what staff may write),
`markdown` and `sanitise` (the body), `catalogs` and `chrome` (localised layout words, dates,
direction), `slots` (per-recipient holes), `compile`, `render`, `headers` and `mime` (the
wire format), `frontmatter` (release files), `paths`.
"""

from mailer.rendering.compile import CompiledRelease, compile_release
from mailer.rendering.content import LinkRewriter, MessageContext, Recipient, ReleaseContent
from mailer.rendering.frontmatter import parse_release_markdown
from mailer.rendering.headers import InvalidAddress
from mailer.rendering.placeholders import (
    ALLOWED_PLACEHOLDERS,
    TemplateRejected,
    validate_placeholders,
)
from mailer.rendering.render import RenderedMessage, render_message

__all__ = [
    "ALLOWED_PLACEHOLDERS",
    "CompiledRelease",
    "InvalidAddress",
    "LinkRewriter",
    "MessageContext",
    "Recipient",
    "ReleaseContent",
    "RenderedMessage",
    "TemplateRejected",
    "compile_release",
    "parse_release_markdown",
    "render_message",
    "validate_placeholders",
]
