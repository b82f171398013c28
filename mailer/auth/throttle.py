"""Login throttling: too many failed sign-ins for one address, or from one client, wait.

The failures are the audit log's ``auth.login_failed`` events, so the count is shared by every
web process and survives restarts, and staff can see the attempts. Limits: 5 failures for one
address or 30 from one client address within 15 minutes.
"""

from __future__ import annotations

from datetime import timedelta

from mailer.audit import service as audit

WINDOW = timedelta(minutes=15)
PER_ADDRESS = 5
PER_CLIENT = 30


def seconds_to_wait(email: str, ip: str) -> int:
    """0 when a sign-in may be tried now, else how long to wait (the window's length)."""
    if audit.count_recent("auth.login_failed", since=WINDOW, actor_email=email) >= PER_ADDRESS:
        return int(WINDOW.total_seconds())
    if ip and audit.count_recent("auth.login_failed", since=WINDOW, ip=ip) >= PER_CLIENT:
        return int(WINDOW.total_seconds())
    return 0
