"""Public pages for recipients: unsubscribe (RFC 8058 one-click and the page) and preferences.

The open pixel and click redirect are not Flask views: `mailer.tracking.hits` serves them in
front of the app for speed, and this blueprint installs it when it is registered.
"""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from mailer.auth.policy import public
from mailer.releases.links import links_for
from mailer.settings.service import effective_config
from mailer.tracking import centre, hits
from mailer.tracking.pages import render_page
from mailer.tracking.unsubscribe import (
    Method,
    Recipient,
    Scope,
    recipient_for,
    save_preferences,
    unsubscribe,
)

bp = Blueprint("unsubscribe", __name__)

PAGE_CSP = ("default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")


def sender_mailbox() -> str:
    """The From mailbox in force (saved settings over MAILER_FROM): the page names its owner."""
    return str(effective_config(current_app.config)["MAILER_FROM"])


def _page(recipient: Recipient, token: str, done: str = "", saved: bool = False
          ) -> ResponseReturnValue:
    page = centre.page_for(recipient, action=url_for("unsubscribe.page", token=token),
                           css_url=url_for("static", filename="public.css"),
                           mail_from=sender_mailbox(), done=done, saved=saved)
    response = make_response(render_page("unsubscribe.html", page))
    response.headers["Content-Language"] = page.language.lang
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/u/<token>")
@public
def page(token: str) -> ResponseReturnValue:
    """The unsubscribe page in the recipient's language; looking changes nothing."""
    return _page(recipient_for(token, links_for(current_app.config)), token)


@bp.post("/u/<token>")
@public
def post(token: str) -> ResponseReturnValue:
    """RFC 8058 one-click (``List-Unsubscribe=One-Click``), the page's button, or preferences.

    Exempt from CSRF (a mail provider posts it with no cookie): the signed token is the
    credential. Always 200 with the page, never a redirect.
    """
    recipient = recipient_for(token, links_for(current_app.config))
    if request.form.get("action") == "preferences":
        save_preferences(recipient, centre.chosen_ids(request.form.getlist("list")),
                         request.form.getlist("language"))
        return _page(recipient, token, saved=True)
    scope = Scope.LIST if request.form.get("scope") == Scope.LIST else Scope.ALL
    method = Method.PAGE if "scope" in request.form else Method.ONE_CLICK
    outcome = unsubscribe(recipient, scope, method)
    return _page(recipient, token, done="" if recipient.delivery.is_test else outcome.scope)


def _install(state: BlueprintSetupState) -> None:
    """Serve the tracking endpoints in front of the app; exempt the one-click POST from CSRF
    (the only CSRF-exempt POST outside /api/)."""
    # A Flask app here (a blueprint is only ever registered on one).
    hits.install(state.app)  # type: ignore[arg-type]
    state.app.extensions["csrf"].exempt(post)


bp.record_once(_install)
