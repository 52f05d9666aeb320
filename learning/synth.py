"""Turn the evaluation request set into a lake of realistic Claude Code traces.

Each request becomes one trace: the hook events Claude Code sends for a prompt that took the
kind's execution path (``Agent`` calls starting subagents that run the kind's tools, MCP tools for
its endpoints), ending in ``Stop`` — or, for a failing trace, in a ``PostToolUseFailure`` and a
``StopFailure``. Events are written to the spool with the capture envelope and turned into the lake
by the real ingest (``ingest.compactor.run_ingest``).

Each kind first appears at a random time and recurs after it: seen kinds start in the first half
(``seen_until``), unseen kinds only after ``unseen_after``, so a time split at ``unseen_after``
learns on the past and meets them as new in the future.
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
    seen_until: float = 0.65,
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
    # Each kind of request first appears at some point (seen kinds before ``seen_until``, unseen
    # kinds after ``unseen_after``) and recurs from then on: new kinds keep arriving, as in a
    # real team's history, so the past shows how often a request is of a new kind.
    first = {k["kind"]: (rng.uniform(0.0, seen_until) if k["seen"] else rng.uniform(unseen_after, 0.85))
             for k in data["kinds"]}
    for _ in range(repeats):
        for req in data["requests"]:
            kind = data["kind_by_name"][req["kind"]]
            if kinds is not None and kind["kind"] not in kinds:
                continue
            planned.append((rng.uniform(first[kind["kind"]], 1.0), kind, req["text"]))
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


def build_lake(traces: list[SynthTrace], paths=None, *, via: str = "auto") -> dict[str, Any]:
    """Spool the traces and ingest them with the real ingest (``via="ingest"``), or write the
    canonical rows directly (``via="rows"``). ``auto`` tries ingest and falls back to rows, saying
    so in the returned report (``via`` and ``ingest_error``)."""
    from hooklake.paths import Paths

    paths = paths or Paths.resolve()
    if via in ("auto", "ingest"):
        try:
            from ingest.compactor import run_ingest

            written = write_spool(traces, paths.spool)
            report = run_ingest(paths=paths, progress=False)
            out = report.as_dict() if hasattr(report, "as_dict") else dict(report)
            out.update(spooled=written, via="ingest")
            return out
        except Exception as exc:  # noqa: BLE001 - reported, then the direct path
            if via == "ingest":
                raise
            for f in paths.spool.glob("*.jsonl"):
                f.unlink()
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
    else:
        error = None
    out = write_rows(traces, paths)
    out.update(via="rows", ingest_error=error)
    return out


def canonical_rows(traces: list[SynthTrace], host: str = "synth") -> list[dict[str, Any]]:
    """The lake rows ingest would write for these events (the subset of columns learning reads)."""
    from ingest.schema import SCHEMA_VERSION, kind_for, mcp_parts

    rows = []
    for trace in traces:
        for when, p in trace.events:
            name = p["hook_event_name"]
            server, tool = mcp_parts(p.get("tool_name"))
            err = p.get("error")
            status = None
            if name in ("PostToolUse", "Stop", "SubagentStop"):
                status = "ok"
            elif name in ("PostToolUseFailure", "StopFailure"):
                status = "error"
            rows.append({
                "schema_version": SCHEMA_VERSION, "event_id": uuid.uuid4().hex, "source": "claude_code", "host": host,
                "captured_at": when, "event_time": when, "event_name": name, "event_kind": kind_for(name),
                "session_id": p.get("session_id"), "prompt_id": p.get("prompt_id"), "correlation_id": p.get("prompt_id"),
                "root_id": p.get("prompt_id"), "parent_id": None, "execution_id": None, "agent_id": p.get("agent_id"),
                "agent_type": p.get("agent_type"), "tool_name": p.get("tool_name"), "tool_use_id": p.get("tool_use_id"),
                "mcp_server": server, "mcp_tool": tool, "duration_ms": p.get("duration_ms"), "status": status,
                "error_message": str(err) if err is not None else None,
                "prompt_text": p.get("prompt") if name == "UserPromptSubmit" else None, "cwd": p.get("cwd"),
                "transcript_path": p.get("transcript_path"), "permission_mode": p.get("permission_mode"), "model": None,
                "input_tokens": None, "output_tokens": None, "cost_usd": None, "payload": json.dumps(p),
                "redactions": 0, "ingest_id": "synth",
            })
    return rows


def write_rows(traces: list[SynthTrace], paths) -> dict[str, Any]:
    """Write canonical rows straight into the lake layout (one file per day)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest.schema import arrow_schema

    rows = canonical_rows(traces)
    by_day: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_day.setdefault(r["event_time"].strftime("%Y-%m-%d"), []).append(r)
    schema = arrow_schema()
    for day, part in by_day.items():
        folder = paths.events / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(part, schema=schema)
        pq.write_table(table, folder / f"part-synth-{uuid.uuid4().hex[:12]}.parquet", compression="zstd")
    return {"events_written": len(rows), "files": len(by_day)}


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
