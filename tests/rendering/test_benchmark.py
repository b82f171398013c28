"""The rendering benchmark runs and keeps its promise (≥ 3× the Jinja2 + EmailMessage baseline)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.rendering.support import ROOT


def test_benchmark_runs_and_beats_the_baseline() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "render.py"), "--messages", "60",
         "--repeat", "2", "--json"],
        capture_output=True, text=True, timeout=300, check=True)
    figures = json.loads(result.stdout)
    assert figures["engine_msgs_per_s"] > 0 and figures["baseline_msgs_per_s"] > 0
    assert figures["speedup_vs_baseline"] >= 3, figures
