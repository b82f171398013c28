"""Running the product's own commands as real processes in tests (`mailer run`, workers)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

BIN = Path(sys.executable).parent


def command_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child process: this one without MAILER_*, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    env.update(overrides)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ServiceProcess:
    """A child process whose combined output goes to a log file that tests can wait on."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(args, env=command_env(env), stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Block until ``pattern`` appears in the output; fail with the output if it does not."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            match = regex.search(self.output())
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never appeared in {self.args}:\n{self.output()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL it if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()


@contextlib.contextmanager
def running(args: list[str], env: Mapping[str, str], log_path: Path) -> Iterator[ServiceProcess]:
    """Start a process for the duration of a ``with`` block."""
    service = ServiceProcess(args, env, log_path)
    try:
        yield service
    finally:
        service.stop()


def wait_for_http(url: str, timeout: float = 30.0, expect: int = 200) -> None:
    """Block until ``url`` answers with ``expect``."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == expect:
                    return
                last = response.status
        except Exception as exc:  # noqa: BLE001 (still starting)
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {expect}: {last}")


def run_command(args: list[str], env: Mapping[str, str],
                timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run one command to completion and return its result (output captured)."""
    return subprocess.run(args, env=command_env(env), capture_output=True, text=True,
                          timeout=timeout, check=False)
