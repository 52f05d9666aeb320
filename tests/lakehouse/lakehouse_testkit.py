"""Shared builders for lakehouse tests: lakes made of real hook payload shapes, through real ingest."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import lakebuild  # noqa: E402

from hooklake.paths import Paths  # noqa: E402

TRANSCRIPT = "/home/user/.claude/projects/-home-user-project/{sid}.jsonl"


class Spool:
    """Collects envelope lines with increasing capture times, then writes them and runs ingest."""

    def __init__(self, t0_ns: int = lakebuild.T0_NS) -> None:
        self.t = t0_ns
        self.lines: list[str] = []

    def add(self, payload: dict[str, Any], *, source: str = "claude_code", dt_ms: float = 100, host: str = "hostA",
            at_ns: int | None = None, event_id: str | None = None) -> str:
        if at_ns is not None:
            self.t = at_ns
        else:
            self.t += int(dt_ms * 1_000_000)
        event_id = event_id or uuid.uuid4().hex
        self.lines.append(lakebuild.envelope_line(payload, self.t, source=source, host=host, event_id=event_id))
        return event_id

    def ingest(self, paths: Paths) -> None:
        by_host: dict[str, list[str]] = {}
        import json

        for line in self.lines:
            by_host.setdefault(json.loads(line)["host"], []).append(line)
        for host, lines in by_host.items():
            lakebuild.write_spool(paths, lines, host=host)
        self.lines = []
        lakebuild.ingest_lake(paths)


def hook(name: str, sid: str, pid: str | None = None, **fields: Any) -> dict[str, Any]:
    """A Claude Code hook payload as 2.1.x sends it (pid None = an old version without prompt_id)."""
    payload: dict[str, Any] = {"session_id": sid, "transcript_path": TRANSCRIPT.format(sid=sid),
                               "cwd": "/home/user/project"}
    if pid is not None:
        payload["prompt_id"] = pid
    payload["permission_mode"] = "default"
    payload["hook_event_name"] = name
    payload.update(fields)
    return payload


def prompt(sid: str, pid: str | None, text: str) -> dict[str, Any]:
    return hook("UserPromptSubmit", sid, pid, prompt=text)


def pre(sid: str, pid: str | None, tool: str, tu: str | None, tool_input: dict | None = None, **kw: Any) -> dict:
    extra = {"tool_use_id": tu} if tu is not None else {}
    return hook("PreToolUse", sid, pid, tool_name=tool, tool_input=tool_input or {"command": "ls"}, **extra, **kw)


def post(sid: str, pid: str | None, tool: str, tu: str | None, tool_input: dict | None = None,
         response: Any = None, duration_ms: int = 40, **kw: Any) -> dict:
    extra = {"tool_use_id": tu} if tu is not None else {}
    return hook("PostToolUse", sid, pid, tool_name=tool, tool_input=tool_input or {"command": "ls"},
                tool_response=response if response is not None else {"stdout": "ok"}, duration_ms=duration_ms,
                **extra, **kw)


def fail(sid: str, pid: str | None, tool: str, tu: str | None, error: str, interrupt: bool = False,
         tool_input: dict | None = None, **kw: Any) -> dict:
    extra = {"tool_use_id": tu} if tu is not None else {}
    return hook("PostToolUseFailure", sid, pid, tool_name=tool, tool_input=tool_input or {"command": "ls"},
                error=error, is_interrupt=interrupt, duration_ms=100, **extra, **kw)


def stop(sid: str, pid: str | None, **kw: Any) -> dict:
    return hook("Stop", sid, pid, stop_hook_active=False, last_assistant_message="done", **kw)


def now_ns() -> int:
    return time.time_ns()
