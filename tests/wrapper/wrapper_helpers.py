"""Helpers for wrapper tests: run a wrapper, read back its hook_execution events."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_wrapped(runner: list[str], args: list[str], payload: dict | bytes | None = None, env: dict | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    data = payload if isinstance(payload, bytes) else json.dumps(payload or {}).encode()
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*runner, *args], input=data, capture_output=True, env=full_env, timeout=timeout)


def hook_executions(home: Path) -> list[dict]:
    out = []
    for f in sorted((home / "spool").glob("*.jsonl")):
        for line in f.read_text().splitlines():
            envelope = json.loads(line)
            if envelope["payload"].get("hook_event_name") == "hook_execution":
                out.append(envelope)
    return out
