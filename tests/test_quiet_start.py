"""The first thing a newcomer sees: `ticketbot serve` prints one banner with the URL as the last thing before
requests, and the package builds without deprecation banners."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_prints_one_banner_with_the_url_as_the_last_thing_before_requests(tmp_path: Path):
    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SLACK_", "WECOM_", "DINGTALK_", "CONSOLE_", "DATABASE_URL", "TICKETBOT_"))}
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(ROOT / "ticketbot.example.yaml"),
                                "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # the app answers once started: the banner is printed by then
            assert process.poll() is None and time.monotonic() < deadline, "serve never started"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        time.sleep(1.0)  # what start-up still had to say would be out by now
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    lines = [line for line in output.splitlines() if line.strip()]
    banner = f"console at http://127.0.0.1:{port}/"
    shown = [i for i, line in enumerate(lines) if banner in line]
    assert len(shown) == 1, output  # one banner
    # Before it: nothing (a migration line per version and a line per scheduled job used to scroll it away).
    assert shown[0] == 0, output
    # After it, only what stopping says (no INFO line of start-up came after the banner).
    assert not [line for line in lines[1:] if " INFO " in line and "stop" not in line.lower()], output


def test_the_package_declares_its_license_as_setuptools_asks():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # A TOML table here makes every install print setuptools' deprecation banner (four on `make run`).
    assert isinstance(project["project"]["license"], str)
    requires = " ".join(project["build-system"]["requires"])
    assert "setuptools>=77" in requires  # the first setuptools that reads an SPDX expression
