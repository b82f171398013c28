"""Scale and memory: a mailing ten times bigger must not need more memory, in the worker that
sends it or in the web process that starts it and reports its progress.

Each size runs in fresh processes (`mailer run` for the web, `mailer worker -B`) on Redis and
PostgreSQL; the peak resident set (VmHWM) of each is read when the mailing is done. Pass: the
big mailing's peaks are within 1.2x of the small one's, and both mailings meet the invariant.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from tests.conftest import Stack
from tests.dispatch.test_mailings import Api
from tests.reliability.support import (
    Figures,
    Workers,
    check_invariant,
    make_audience,
    peak_rss_kib,
    record,
    wait_until,
)
from tests.support.processes import BIN, ServiceProcess, wait_for_http
from tests.support.smtp import SmtpSink, free_port

HEADROOM = 1.2


def call(base: str, method: str, path: str, token: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v1{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def one_mailing(stack: Stack, workers: Workers, sink: SmtpSink, api: Api, size: int,
                start: int) -> dict[str, Any]:
    """Send a mailing of ``size`` through a fresh web process and worker; its figures."""
    audience = make_audience(stack, size, start=start, api=api, name=f"Desk of {size}")
    token = api.headers["Authorization"].split()[1]
    port = free_port()
    web = ServiceProcess([str(BIN / "mailer"), "run", "--port", str(port), "--threads", "4"],
                         stack.env, workers.tmp_path / f"web-{size}.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", timeout=60)
        worker = workers.start()
        began = time.monotonic()
        mailing = call(base, "POST", "/mailings", token,
                       {"release_id": audience.release_id, "list_ids": [audience.list_id]})
        call(base, "POST", f"/mailings/{mailing['id']}/send", token)
        # Staff watch the progress page the whole time: the web process answers throughout.
        wait_until(lambda: call(base, "GET", f"/mailings/{mailing['id']}", token)["status"]
                   == "sent", 60 + size / 50, f"the mailing of {size}", interval=1.0)
        seconds = time.monotonic() - began
        call(base, "GET", f"/mailings/{mailing['id']}/deliveries?per_page=100", token)
        peaks = {"worker_kib": peak_rss_kib(worker.process.pid),
                 "web_kib": peak_rss_kib(web.process.pid)}
    finally:
        web.stop()
        workers.close()
    figures = check_invariant(stack, sink, int(mailing["id"]), recipients=size, timeout=10)
    assert figures.states == {"sent": size}
    result = {"recipients": size, "seconds": round(seconds, 1),
              "per_second": round(size / seconds), **peaks}
    sink.clear()
    return result


@pytest.mark.parametrize("stack", ["production"], indirect=True)
@pytest.mark.parametrize(("small", "big"), [
    pytest.param(300, 3_000, id="short"),
    pytest.param(10_000, 100_000, id="long",
                 marks=[pytest.mark.long, pytest.mark.timeout(3600)]),
])
def test_memory_does_not_grow_with_the_audience(stack: Stack, workers: Workers,
                                                smtp_sink: SmtpSink, small: int, big: int,
                                                request: pytest.FixtureRequest) -> None:
    api = Api(stack.app)
    first = one_mailing(stack, workers, smtp_sink, api, small, 0)
    second = one_mailing(stack, workers, smtp_sink, api, big, small)
    for key in ("worker_kib", "web_kib"):
        assert second[key] <= first[key] * HEADROOM, (key, first, second)
    record(request.node.name, Figures(recipients=small + big, duplicates=0),
           small=first, big=second)
