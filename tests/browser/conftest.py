"""A demo lake and a running ``hooklake dashboard`` for the real-browser test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from datetime import datetime, timezone

from dashboard.demo import DemoConfig

CHROMIUM = "/usr/bin/chromium"
#: The same dataset and folder as tests/dashboard/conftest.py: when both run in one session the
#: demo lake (capture, ingest, learn) is built once and reused.
BROWSER_CONFIG = DemoConfig(days=8, seed=11, sessions_per_day=5, end=datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc))
SHARED_FOLDER = "shared-demo-lake"


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    learned: bool
    learn_error: str | None
    proc: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the browser test")
    from dashboard.firstrun import build_demo_home

    home = tmp_path_factory.getbasetemp() / SHARED_FOLDER
    home.mkdir(exist_ok=True)
    previous = os.environ.get("HOOKLAKE_HOME")
    os.environ["HOOKLAKE_HOME"] = str(home)
    try:
        built = build_demo_home(BROWSER_CONFIG, learn=True)
    finally:
        if previous is None:
            os.environ.pop("HOOKLAKE_HOME", None)
        else:
            os.environ["HOOKLAKE_HOME"] = previous
    port = _free_port()
    env = {**os.environ, "HOOKLAKE_HOME": str(home)}
    log = open(tmp_path_factory.mktemp("browser") / "dashboard.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hooklake", "dashboard", "--no-browser", "--port", str(port), "--host", "127.0.0.1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hooklake dashboard exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        raise RuntimeError("hooklake dashboard did not become ready within 60 s")
    try:
        yield Server(url, home, built["learned"], built["learn_error"], proc)
    finally:
        proc.terminate()  # hooklake dashboard stops its Streamlit child on SIGTERM
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)  # the group started above: hooklake and its Streamlit child
            proc.wait(timeout=5)
        log.close()
