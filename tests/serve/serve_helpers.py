"""Helpers for the service tests: a stand-in router, HTTP clients over unix socket and TCP.

The HTTP layer, reloads, intake and advice decisions are tested against :class:`StaticRouter`, a
deterministic stand-in with the learning router's interface (``match``/``route`` returning objects
with ``as_dict()``): the learning router itself is tested in tests/learning, and the full path
(real index, real model) runs in the integration tests of this folder that build one.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from hooklake.paths import Paths
from hooklake.settings import AdviceSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
ADVICE_HOOK = REPO_ROOT / "hooks" / "advice.py"


@dataclass(frozen=True)
class Obj:
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.data)


class StaticRouter:
    """Routes every prompt containing ``trigger`` to one learned pattern; everything else falls back."""

    def __init__(self, version: str = "v1", trigger: str = "flaky", confidence: float = 0.91) -> None:
        self.version = version
        self.trigger = trigger
        self.confidence = confidence
        self.calls = 0

    def match(self, request: str, context: dict[str, Any], k: int = 5, min_confidence: float | None = None) -> list[Obj]:
        self.calls += 1
        if self.trigger not in request:
            return []
        return [Obj({"pattern_id": "pat-tests", "agent": "test-runner", "score": 0.88,
                     "confidence": self.confidence, "version": self.version})][:k]

    def route(self, request: str, context: dict[str, Any]) -> Obj:
        self.calls += 1
        if self.trigger not in request:
            return Obj({"agent": "general-purpose", "confidence": 0.3, "strategy": "fallback",
                        "pattern_id": None, "replay_plan": None, "version": self.version})
        return Obj({
            "agent": "test-runner", "confidence": self.confidence, "strategy": "learned_pattern",
            "pattern_id": "pat-tests", "version": self.version,
            "replay_plan": {"agent": "test-runner", "tool_sequence": ["Bash", "Read", "Edit", "Bash"],
                            "avg_duration_ms": 5400.0, "min_duration_ms": 3100.0, "max_duration_ms": 9800.0,
                            "common_failures": [{"error_template": "pytest: error: unrecognized arguments", "count": 4}]},
        })


def post_json(conn: http.client.HTTPConnection, path: str, body: Any, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else json.dumps(body).encode()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    payload = resp.read()
    try:
        return resp.status, json.loads(payload) if payload else None
    except ValueError:
        return resp.status, payload


def get_json(conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    payload = resp.read()
    return resp.status, json.loads(payload) if payload.startswith(b"{") else payload.decode()


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def connect(running: Any) -> http.client.HTTPConnection:
    if isinstance(running.address, str):
        return UnixConnection(running.address)
    return http.client.HTTPConnection(running.address[0], running.address[1], timeout=10)


def start_static(paths: Paths, router: Any = None, *, advice: AdviceSettings | None = None, **kwargs: Any) -> Any:
    from learning import serve

    router = router if router is not None else StaticRouter()
    holder = serve.RouterHolder(paths, loader=lambda p, prev: router)
    config = kwargs.pop("config", None) or serve.ServiceConfig()
    # A generous hook timeout by default: these tests check what the hook prints, not how fast
    # (benchmarks/advice_hook_bench.py measures that), and a busy CI machine can be slow to start it.
    config.advice = advice if advice is not None else AdviceSettings(holdout_share=0.0, timeout_ms=5000)
    return serve.start_server(paths, holder=holder, config=config, **kwargs)


def run_hook(state_dir: Path, payload: dict[str, Any] | bytes, timeout: float = 10.0) -> tuple[int, bytes, bytes, float]:
    import subprocess
    import time

    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-S", "-I", str(ADVICE_HOOK), "--state", str(state_dir)],
                          input=data, capture_output=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr, (time.perf_counter() - started) * 1000


def read_spool(paths: Paths) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    if not paths.spool.exists():
        return lines
    for f in sorted(paths.spool.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines.append(json.loads(line))
    return lines
