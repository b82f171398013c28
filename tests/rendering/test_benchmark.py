"""The rendering benchmark runs and prints its figures (speed itself is judged in
docs/benchmarks.md, not by a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.rendering.support import FIXTURES, ROOT


def test_benchmark_runs_and_prints_figures() -> None:
    if not FIXTURES.is_dir():
        pytest.skip("the sample release (shared/fixtures/releases) is not beside the repository")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "render.py"), "--messages", "30",
         "--repeat", "1", "--json"],
        capture_output=True, text=True, timeout=300, check=True)
    figures = json.loads(result.stdout)
    assert figures["engine_msgs_per_s"] > 0
    assert figures["baseline_msgs_per_s"] > 0
    assert figures["engine_avg_bytes"] > 0
