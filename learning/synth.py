"""Turn the evaluation request set into a lake of realistic Claude Code traces.

Each request becomes one trace: the hook events Claude Code sends for a prompt that took the
kind's execution path (``Agent`` calls starting subagents that run the kind's tools, MCP tools for
its endpoints), ending in ``Stop`` — or, for a failing trace, in a ``PostToolUseFailure`` and a
``StopFailure``. Events are written to the spool with the capture envelope and turned into the lake
by the real ingest (``ingest.compactor.run_ingest``).

Seen kinds are spread over the whole period; unseen kinds appear only in its last part
(``unseen_after``), so a time split learns on the past and meets them as new in the future.
"""

from __future__ import annotations

import json
import os
import random
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "eval_requests.json"


def load_eval_set(path: Path | None = None) -> dict[str, Any]:
    data = json.loads(Path(path or DATA_FILE).read_text(encoding="utf-8"))
    data["kind_by_name"] = {k["kind"]: k for k in data["kinds"]}
    return data


@dataclass
class SynthTrace:
    correlation_id: str
    kind: str
    prompt: str
    started_at: datetime
    success: bool
    events: list[tuple[datetime, dict[str, Any]]]


def _tool_io(tool: str, rng: random.Random, prompt: str) -> tuple[Any, Any]:
    if tool.startswith("mcp__"):
        _, server, name = tool.split("__", 2)
        return ({"query": f"SELECT * FROM t WHERE id = {rng.randint(1, 9999)}"} if server == "postgres"
                else {"id": str(rng.randint(100, 999)), "limit": 20},
                {"ok": True, "items": [{"id": rng.randint(1, 99), "name": "x"}], "count": 1})
    if tool == "Bash":
        return {"command": rng.choice(["pytest -q", "git status", "make build", "python -m mypy ."])}, {"stdout": "ok", "exit_code": 0}
    if tool in ("Read", "Edit", "Write", "MultiEdit"):
        return {"file_path": f"src/module_{rng.randint(1, 40)}.py"}, {"ok": True}
    return {"pattern": prompt.split()[0] if prompt else "x"}, {"matches": rng.randint(0, 12)}


def make_trace(
    kind: dict[str, Any], prompt: str, started: datetime, success: bool, rng: random.Random,
    session_id: str, cwd: str,
) -> SynthTrace:
    """The hook payloads of one trace, with their times."""
    pid = str(uuid.UUID(int=rng.getrandbits(128)))
    base = {"session_id": session_id, "transcript_path": f"{cwd}/.transcripts/{session_id}.jsonl", "cwd": cwd,
            "prompt_id": pid, "permission_mode": "default"}
    total_ms = max(500.0, rng.lognormvariate(0, 0.3) * kind["duration"])
    tools = [t for t in kind["tools"] if t != "Agent"]
    agents = list(kind.get("agents") or [])
    n_steps = 2 + len(tools) + 3 * len(agents)
    step = timedelta(milliseconds=total_ms / n_steps)
    t = started
    events: list[tuple[datetime, dict[str, Any]]] = []

    def emit(payload: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        nonlocal t
        events.append((t, {**base, **payload, **(extra or {})}))
        t = t + step

    emit({"hook_event_name": "UserPromptSubmit", "prompt": prompt})
    fail_at = len(tools) - 1 if not success else -1

    def run_tools(sub: dict[str, Any] | None) -> bool:
        for i, tool in enumerate(tools):
            tid = f"toolu_{rng.getrandbits(64):016x}"
            tin, tout = _tool_io(tool, rng, prompt)
            emit({"hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": tin, "tool_use_id": tid}, sub)
            dur = round(step.total_seconds() * 1000 * rng.uniform(0.3, 0.9), 1)
            if i == fail_at:
                emit({"hook_event_name": "PostToolUseFailure", "tool_name": tool, "tool_input": tin, "tool_use_id": tid,
                      "error": rng.choice([f"Command failed with exit code {rng.randint(1, 3)}: tests failed in {rng.randint(2, 9)} files",
                                           f"Request timed out after {rng.randint(10, 60)}s",
                                           f"File not found: src/missing_{rng.randint(1, 50)}.py"]),
                      "is_interrupt": False, "duration_ms": dur}, sub)
                return False
            emit({"hook_event_name": "PostToolUse", "tool_name": tool, "tool_input": tin, "tool_use_id": tid,
                  "tool_response": tout, "duration_ms": dur}, sub)
        return True

    ok = True
    if agents:
        for n, agent in enumerate(agents):
            tid = f"toolu_{rng.getrandbits(64):016x}"
            agent_id = f"a{rng.getrandbits(48):012x}"
            tin = {"subagent_type": agent, "description": f"{agent} task", "prompt": prompt}
            emit({"hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_input": tin, "tool_use_id": tid})
            sub = {"agent_id": agent_id, "agent_type": agent}
            emit({"hook_event_name": "SubagentStart"}, sub)
            if n == len(agents) - 1:
                ok = run_tools(sub)
            emit({"hook_event_name": "SubagentStop", "agent_transcript_path": f"{cwd}/.transcripts/agent-{agent_id}.jsonl",
                  "stop_hook_active": False}, sub)
            emit({"hook_event_name": "PostToolUse", "tool_name": "Agent", "tool_input": tin, "tool_use_id": tid,
                  "tool_response": {"status": "completed" if ok else "failed"}, "duration_ms": round(step.total_seconds() * 3000, 1)})
    else:
        ok = run_tools(None)
    if ok:
        emit({"hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "Done."})
    else:
        emit({"hook_event_name": "StopFailure", "error": "The task could not be completed: the last step failed."})
    return SynthTrace(pid, kind["kind"], prompt, started, ok, events)


def generate(
    data: dict[str, Any] | None = None,
    *,
    seed: int = 7,
    start: datetime | None = None,
    days: float = 60.0,
    unseen_after: float = 0.7,
    repeats: int = 1,
    kinds: set[str] | None = None,
    fail_scale: float = 1.0,
) -> list[SynthTrace]:
    """One trace per request (``repeats`` times), in time order."""
    data = data or load_eval_set()
    rng = random.Random(seed)
    start = start or datetime(2026, 9, 1, tzinfo=timezone.utc)
    projects = ["/home/dev/shop", "/home/dev/platform", "/home/dev/webapp"]
    planned: list[tuple[float, dict[str, Any], str]] = []
    for _ in range(repeats):
        for req in data["requests"]:
            kind = data["kind_by_name"][req["kind"]]
            if kinds is not None and kind["kind"] not in kinds:
                continue
            lo = 0.0 if kind["seen"] else unseen_after
            planned.append((rng.uniform(lo, 1.0), kind, req["text"]))
    planned.sort(key=lambda p: p[0])
    traces: list[SynthTrace] = []
    session, session_left, cwd = "", 0, projects[0]
    for frac, kind, text in planned:
        if session_left <= 0:
            session = str(uuid.UUID(int=rng.getrandbits(128)))
            session_left = rng.randint(1, 4)
            cwd = rng.choice(projects)
        session_left -= 1
        success = rng.random() >= kind["fail"] * fail_scale
        started = start + timedelta(days=days * frac)
        traces.append(make_trace(kind, text, started, success, rng, session, cwd))
    return traces


def write_spool(traces: list[SynthTrace], spool: Path, source: str = "claude_code") -> int:
    """Write the traces' events as capture-envelope lines, one spool file per hour."""
    from hooks import envelope

    spool.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname() or "host"
    files: dict[str, list[str]] = {}
    count = 0
    for trace in traces:
        for when, payload in trace.events:
            line = {
                envelope.FIELD_VERSION: envelope.FORMAT_VERSION,
                envelope.FIELD_EVENT_ID: uuid.uuid4().hex,
                envelope.FIELD_CAPTURED_NS: int(when.timestamp() * 1e9),
                envelope.FIELD_SOURCE: source,
                envelope.FIELD_HOST: host,
                envelope.FIELD_PAYLOAD: payload,
            }
            name = envelope.spool_file_name(when.strftime("%Y%m%d%H"), host)
            files.setdefault(name, []).append(json.dumps(line, separators=(",", ":")))
            count += 1
    for name, lines in files.items():
        with open(spool / name, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return count


def build_lake(traces: list[SynthTrace], paths=None) -> dict[str, Any]:
    """Spool the traces and ingest them with the real ingest. Returns the ingest report."""
    from hooklake.paths import Paths
    from ingest.compactor import run_ingest

    paths = paths or Paths.resolve()
    written = write_spool(traces, paths.spool)
    report = run_ingest(paths=paths, progress=False)
    out = report.as_dict() if hasattr(report, "as_dict") else dict(report)
    out["spooled"] = written
    return out


def labels(traces: list[SynthTrace]) -> dict[str, str]:
    """correlation_id -> kind, for checking a lake built from these traces."""
    return {t.correlation_id: t.kind for t in traces}


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    home = sys.argv[1] if len(sys.argv) > 1 else None
    if home:
        os.environ["HOOKLAKE_HOME"] = home
    print(json.dumps(build_lake(generate()), indent=2, default=str))


def trace_frame(traces: list[SynthTrace]):
    """The traces as learning reads them from the lake (``learning.source.assemble_traces`` shape),
    built directly from the generated events — for tests and experiments that skip ingest."""
    import polars as pl

    from learning.source import _TRACE_SCHEMA, path_key
    from learning.text import first_seen

    rows = []
    for t in traces:
        names = [p["hook_event_name"] for _, p in t.events]
        tools = [p["tool_name"] for _, p in t.events if p["hook_event_name"] == "PreToolUse"]
        agents = [p["tool_input"]["subagent_type"] for _, p in t.events
                  if p["hook_event_name"] == "PreToolUse" and p["tool_name"] == "Agent"]
        endpoints = first_seen("/".join(x.split("__")[1:3]) for x in tools if x.startswith("mcp__"))
        dur = (t.events[-1][0] - t.events[0][0]).total_seconds() * 1000
        rows.append({
            "correlation_id": t.correlation_id, "session_id": t.events[0][1]["session_id"], "source": "claude_code",
            "prompt_text": t.prompt, "started_at": t.started_at, "duration_ms": dur,
            "status": "success" if t.success else "error", "success": t.success,
            "success_score": 1.0 if t.success else 0.5, "cwd": t.events[0][1]["cwd"], "tags": [],
            "agents": agents, "tool_sequence": tools, "tools": first_seen(tools), "endpoints": endpoints,
            "hook_sequence": names, "hook_types": first_seen(names), "tool_calls": len(tools), "hook_count": len(names),
            "endpoint_count": len(endpoints), "subagents": len(agents), "input_tokens": None, "output_tokens": None,
            "child_duration_ms": 0.0, "depth": 1 if agents else 0,
            "path_key": path_key(agents, first_seen(tools), endpoints),
        })
    return pl.DataFrame(rows, schema=_TRACE_SCHEMA)
