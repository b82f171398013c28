"""Which blueprints make up the app: one list to add a feature's pages and API to.

Web blueprints are CSRF-protected. API blueprints authenticate with bearer tokens only, never
with the session cookie, so a forged cross-site request carries no credentials and CSRF tokens
do not apply there (the access policy refuses cookies under /api/).
"""

from __future__ import annotations

WEB_BLUEPRINTS = [
    "mailer.auth.views",
    "mailer.auth.account",
    "mailer.auth.users",
    "mailer.outbox.views",
    "mailer.contacts.importing.views",
    "mailer.contacts.views",
    "mailer.contacts.lists_views",
    "mailer.contacts.segments_views",
    "mailer.contacts.suppressions_views",
    "mailer.releases.views",
    "mailer.releases.public",
    "mailer.dispatch.views",
    "mailer.tracking.views",
    "mailer.tracking.report_views",
    "mailer.audit.views",
    "mailer.settings.views",
    "mailer.web.views",
    "mailer.web.health",
]

API_BLUEPRINTS = [
    "mailer.auth.api",
    "mailer.contacts.importing.api",
    "mailer.contacts.api",
    "mailer.contacts.lists_api",
    "mailer.contacts.segments_api",
    "mailer.contacts.suppressions_api",
    "mailer.releases.api",
    "mailer.dispatch.api",
    "mailer.tracking.api",
    "mailer.web.api",
    "mailer.web.openapi",
]
