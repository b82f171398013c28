"""The public pages of releases: the hosted web version ("view in your browser")."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template
from flask.typing import ResponseReturnValue

from mailer.auth.policy import public
from mailer.releases.web_version import web_version

bp = Blueprint("release_web", __name__)

# The page is staff-written content in our layout: no scripts, nothing but images and styles.
WEB_VERSION_CSP = ("default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
                   "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
                   "sandbox allow-popups allow-popups-to-escape-sandbox "
                   "allow-top-navigation-by-user-activation")


@bp.get("/r/<token>")
@public
def show(token: str) -> ResponseReturnValue:
    """One translation as a web page, once its embargo has lifted; 404 before, or if forged."""
    page = web_version(token, current_app.config)
    if not page.published:
        response = make_response(render_template("web/releases/not_published.html"), 404)
        response.headers["Cache-Control"] = "no-store"
    else:
        response = make_response(page.html)
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        response.headers["Content-Language"] = page.language
        response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Content-Security-Policy"] = WEB_VERSION_CSP
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
