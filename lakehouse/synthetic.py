"""A fast generator of realistic synthetic lakes (canonical rows straight to Parquet).

Sessions of several prompts; each prompt (trace) follows one of a few dozen templates: tool calls
with Claude Code's real event shapes (PreToolUse / PostToolUse / PostToolUseFailure with
tool_use_id, MCP tools ``mcp__<server>__<tool>``), subagents (Agent call, SubagentStart, the
subagent's own tool calls, SubagentStop, the Agent PostToolUse naming ``agentId``), subagents
nested two deep, traces with no Stop, wrapped user hooks, SDK endpoint calls and routing
decisions. Several hosts, spread over many days.

Everything is vectorised: for each template all its traces are generated at once (numpy for
numbers, Arrow string kernels for ids and payload JSON): 10M events (~1.2M traces, ~900 files)
are written in about 3.5 minutes on two busy cores, 1M in about 20 seconds.

    python -m lakehouse.synthetic --events 1000000 --home /path/to/home
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hooklake.paths import Paths
from ingest.schema import COLUMN_NAMES, arrow_schema, kind_for, mcp_parts

HOSTS = ("laptop-ana", "desktop-bo", "ci-runner-1")
TOOLS = ("Bash", "Read", "Edit", "Write", "Grep", "Glob")
MCP_TOOLS = ("mcp__github__search_issues", "mcp__postgres__query", "mcp__docs__lookup")
AGENT_TYPES = ("general-purpose", "code-reviewer", "test-runner", "Explore")
ERRORS = (
    "Exit code 1\nerror: tests failed in /src/app/test_{n}.py",
    "Exit code 2\ngrep: /var/log/app-{n}.log: No such file or directory",
    "File has not been read yet. Read it first before writing to it.",
    "Error: connection to 'db-{n}.internal' timed out after 30000ms",
)
PROMPTS = (
    "fix the failing unit tests in the parser module",
    "add a --json flag to the export command",
    "refactor the config loader to use dataclasses",
    "why is the nightly build slow? investigate",
    "write a migration that adds an index on users.email",
    "review the open pull request for security issues",
    "update the README with the new install steps",
    "find where the session token is validated",
    "summarise the last 20 commits",
    "run the benchmarks and compare with main",
)

PLACEHOLDERS = ("{sid}", "{pid}", "{tu}", "{aid}", "{aid2}", "{cwd}")
BATCH_EVENTS = 1_000_000
"""Events generated (and held in memory) at a time."""


@dataclass(frozen=True)
class Ev:
    """One event of a template."""

    name: str
    source: str = "claude_code"
    agent: int = 0  # 0 main conversation, 1 first subagent, 2 nested subagent
    tool: str | None = None
    slot: int = -1  # tool_use_id slot within the trace
    status: str | None = None
    error: int = -1  # index into ERRORS
    dt_ms: float = 50.0  # mean gap before this event
    payload: str = ""  # extra JSON members (already serialised, may hold placeholders)
    duration: float = 0.0  # mean duration_ms reported (0 = none)
    agent_type: str | None = None
    service: str | None = None
    endpoint: str | None = None


def _tool_events(tool: str, slot: int, agent: int, fail: int = -1, agent_type: str | None = None) -> list[Ev]:
    inp = {"command": "pytest -q"} if tool == "Bash" else {"file_path": "/src/app/module.py"}
    if tool.startswith("mcp__"):
        inp = {"query": "open issues"}
    body = '"tool_input":' + json.dumps(inp)
    start = Ev("PreToolUse", agent=agent, tool=tool, slot=slot, dt_ms=400, payload=body, agent_type=agent_type)
    if fail >= 0:
        end = Ev("PostToolUseFailure", agent=agent, tool=tool, slot=slot, status="error", error=fail, dt_ms=300,
                 payload=body + ',"is_interrupt":false', duration=300, agent_type=agent_type)
    else:
        end = Ev("PostToolUse", agent=agent, tool=tool, slot=slot, status="ok", dt_ms=250,
                 payload=body + ',"tool_response":{"stdout":"ok"}', duration=250, agent_type=agent_type)
    return [start, end]


def _agent_block(slot: int, agent: int, agent_type: str, rng: np.random.Generator, next_slot: list[int],
                 nested: bool) -> list[Ev]:
    """Agent call from ``agent`` level starting a subagent at level ``agent + 1``."""
    child = agent + 1
    aid = "{aid}" if child == 1 else "{aid2}"
    call_input = json.dumps({"description": "delegate", "prompt": f"Subagent task for {agent_type}",
                             "subagent_type": agent_type, "run_in_background": False})
    events = [Ev("PreToolUse", agent=agent, tool="Agent", slot=slot, dt_ms=500, payload='"tool_input":' + call_input),
              Ev("SubagentStart", agent=child, dt_ms=20, agent_type=agent_type)]
    for _ in range(int(rng.integers(1, 4))):
        s = next_slot[0]
        next_slot[0] += 1
        events += _tool_events(str(rng.choice(TOOLS)), s, child, agent_type=agent_type)
    if nested:
        s = next_slot[0]
        next_slot[0] += 1
        events += _agent_block(s, child, "test-runner", rng, next_slot, nested=False)
    events.append(Ev("SubagentStop", agent=child, dt_ms=100, agent_type=agent_type,
                     payload='"stop_hook_active":false'))
    events.append(Ev("PostToolUse", agent=agent, tool="Agent", slot=slot, status="ok", dt_ms=30, duration=4000,
                     payload='"tool_input":' + call_input + ',"tool_response":{"status":"completed","agentId":"' + aid + '"}'))
    return events


def make_templates(seed: int = 7, count: int = 48) -> tuple[list[list[Ev]], np.ndarray]:
    """Trace templates and their weights."""
    rng = np.random.default_rng(seed)
    templates: list[list[Ev]] = []
    weights: list[float] = []
    for t in range(count):
        ev: list[Ev] = [Ev("UserPromptSubmit", dt_ms=0, payload='"prompt":"{prompt}"')]
        if t % 12 == 3:
            ev.append(Ev("routing_decision", source="sdk", dt_ms=5, duration=3,
                         payload='"selected_agent":"code-reviewer","confidence":0.82,"strategy":"pattern",'
                                 '"alternatives":[{"agent":"general-purpose","confidence":0.41}]'))
        next_slot = [0]
        n_tools = int(rng.integers(0, 6))
        fail_at = int(rng.integers(0, max(n_tools, 1))) if t % 5 == 1 and n_tools else -1
        for i in range(n_tools):
            tool = str(rng.choice(TOOLS + MCP_TOOLS, p=[0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.04, 0.03, 0.03]))
            s = next_slot[0]
            next_slot[0] += 1
            err = -1
            if i == fail_at:
                err = 3 if tool.startswith("mcp__") else int(rng.integers(0, 3))
            ev += _tool_events(tool, s, 0, fail=err)
            if t % 9 == 4 and i == 0:
                ev.append(Ev("hook_execution", source="wrapper", dt_ms=2, duration=35, status="ok",
                             payload='"hook_name":"lint-guard","hook_event":"PreToolUse","exit_code":0,"decision":"allow"'))
        if t % 10 == 6:
            ev.append(Ev("endpoint_call", source="sdk", dt_ms=40, duration=120, status="ok",
                         service="billing-api", endpoint="/v1/invoices",
                         payload='"service":"billing-api","endpoint":"/v1/invoices","method":"GET","status_code":200,"retries":0'))
        if t % 4 == 2:
            s = next_slot[0]
            next_slot[0] += 1
            ev += _agent_block(s, 0, AGENT_TYPES[t % len(AGENT_TYPES)], rng, next_slot, nested=(t % 8 == 2))
        if t % 20 != 7:  # a few traces never get their Stop
            ev.append(Ev("Stop", dt_ms=300, status="ok", payload='"stop_hook_active":false'))
        templates.append(ev)
        weights.append(3.0 if len(ev) < 12 else 1.0)
    w = np.asarray(weights)
    return templates, w / w.sum()


def _concat(parts: list[pa.Array | str], n: int) -> pa.Array:
    arrays = [p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.array([p] * 1, pa.string()) for p in parts]
    arrays = [a if len(a) == n else pa.repeat(a[0], n) if hasattr(pa, "repeat") else pa.array([a[0].as_py()] * n) for a in arrays]
    return pc.binary_join_element_wise(*arrays, "")


def _payload(pattern: str, n: int, values: dict[str, pa.Array]) -> pa.Array:
    pieces: list[pa.Array] = []
    rest = pattern
    while rest:
        idx = [(rest.find(p), p) for p in values if rest.find(p) >= 0]
        if not idx:
            pieces.append(pa.array(np.full(n, rest, dtype=object), pa.string()))
            break
        pos, ph = min(idx)
        if pos:
            pieces.append(pa.array(np.full(n, rest[:pos], dtype=object), pa.string()))
        pieces.append(values[ph])
        rest = rest[pos + len(ph):]
    if not pieces:
        return pa.array(np.full(n, "", dtype=object), pa.string())
    if len(pieces) == 1:
        return pieces[0]
    return pc.binary_join_element_wise(*pieces, "")


def generate(home: str | Path, events: int = 1_000_000, *, seed: int = 1, days: int = 30,
             prompts_per_session: int = 10, files_per_day: int = 3, progress: bool = False) -> dict[str, int]:
    """Write a synthetic lake of about ``events`` events under ``home``; returns counts."""
    t_start = time.monotonic()
    paths = Paths.resolve(home)
    rng = np.random.default_rng(seed)
    templates, weights = make_templates()
    mean_len = float(sum(len(t) * w for t, w in zip(templates, weights)))
    n_traces = max(1, int(events / mean_len))
    tmpl_of = rng.choice(len(templates), size=n_traces, p=weights)
    n_sessions = max(1, n_traces // prompts_per_session)
    session_of = np.sort(rng.integers(0, n_sessions, size=n_traces))
    # session start spread over `days`; traces of a session one after the other
    end_us = int(time.time() // 86400 * 86400 * 1e6)
    span_us = days * 86400 * 1_000_000
    session_start = end_us - span_us + rng.integers(0, span_us - 4 * 3600 * 1_000_000, size=n_sessions)
    ordinal = np.arange(n_traces) - np.searchsorted(session_of, session_of, side="left")
    trace_start = session_start[session_of] + ordinal * 90_000_000 + rng.integers(0, 30_000_000, size=n_traces)
    speed = rng.lognormal(0.0, 0.5, size=n_traces)

    trace_ids = pa.array([str(uuid.UUID(int=(seed << 96) ^ (i * 0x9E3779B97F4A7C15 % (1 << 96)) ^ 0x4000_0000_0000_8000_0000_0000)) for i in range(n_traces)], pa.string())
    session_ids = pa.array([str(uuid.UUID(int=(seed << 100) ^ (j * 0xC2B2AE3D27D4EB4F % (1 << 100)))) for j in range(n_sessions)], pa.string())
    agent_ids = pa.array([f"a{i:016x}" for i in range(n_traces)], pa.string())
    agent2_ids = pa.array([f"b{i:016x}" for i in range(n_traces)], pa.string())
    prompt_pick = rng.integers(0, len(PROMPTS), size=n_traces)
    prompts = pa.array([PROMPTS[k] for k in range(len(PROMPTS))], pa.string()).take(pa.array(prompt_pick))
    cwd_pick = session_of % 7
    cwds = pa.array([f"/home/dev/projects/repo-{k}" for k in range(7)], pa.string()).take(pa.array(cwd_pick))

    # Work in batches of whole sessions (about BATCH_EVENTS events each) to bound memory.
    batch_traces = max(1, int(BATCH_EVENTS / mean_len))
    # batch boundaries moved forward to session boundaries (a session is never split)
    cuts = sorted({int(np.searchsorted(session_of, session_of[min(b, n_traces - 1)], side="left"))
                   for b in range(batch_traces, n_traces, batch_traces)} - {0})
    bounds = [0, *cuts, n_traces]
    files = 0
    total = 0
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if lo >= hi:
            continue
        files_written, rows = _write_batch(paths, rng, templates, tmpl_of, session_of, trace_start, speed, trace_ids,
                                           session_ids, agent_ids, agent2_ids, prompts, cwds, np.arange(lo, hi),
                                           files_per_day, progress)
        files += files_written
        total += rows
    return {"events": total, "traces": n_traces, "sessions": n_sessions, "files": files,
            "seconds": round(time.monotonic() - t_start, 1)}


def _write_batch(paths: Paths, rng: np.random.Generator, templates: list[list[Ev]], tmpl_of: np.ndarray,
                 session_of: np.ndarray, trace_start: np.ndarray, speed: np.ndarray, trace_ids: pa.Array,
                 session_ids: pa.Array, agent_ids: pa.Array, agent2_ids: pa.Array, prompts: pa.Array,
                 cwds: pa.Array, batch: np.ndarray, files_per_day: int, progress: bool) -> tuple[int, int]:
    tables: list[pa.Table] = []
    total = 0
    for t_idx, tmpl in enumerate(templates):
        sel = batch[tmpl_of[batch] == t_idx]
        n = len(sel)
        if n == 0:
            continue
        L = len(tmpl)
        tr = pa.array(sel)
        tid = trace_ids.take(tr)
        sid = session_ids.take(pa.array(session_of[sel]))
        aid = agent_ids.take(tr)
        aid2 = agent2_ids.take(tr)
        prm = prompts.take(tr)
        cwd = cwds.take(tr)
        gaps = np.array([e.dt_ms for e in tmpl]) * 1000.0
        offsets = np.cumsum(gaps)
        jitter = rng.uniform(0.6, 1.4, size=(n, L))
        times = trace_start[sel][:, None] + (offsets[None, :] * speed[sel][:, None] * jitter.mean(axis=1)[:, None]).astype(np.int64) + np.arange(L)[None, :]
        cols: dict[str, list[pa.Array]] = {c: [] for c in COLUMN_NAMES}
        for i, e in enumerate(tmpl):
            ts = pa.array(times[:, i], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
            tu = pc.binary_join_element_wise(pa.array(np.full(n, "toolu_", dtype=object), pa.string()),
                                             tid,
                                             pa.array(np.full(n, f"{e.slot:03d}", dtype=object), pa.string()), "")
            agent_col = {0: pa.nulls(n, pa.string()), 1: aid, 2: aid2}[e.agent]
            if e.name in ("SubagentStart", "SubagentStop"):
                agent_col = aid if e.agent == 1 else aid2
            vals = {"{sid}": sid, "{pid}": tid, "{tu}": tu, "{aid}": aid, "{aid2}": aid2, "{cwd}": cwd, "{prompt}": prm}
            head = '{"session_id":"{sid}","prompt_id":"{pid}","cwd":"{cwd}","hook_event_name":"' + e.name + '"'
            if e.agent:
                head += ',"agent_id":"' + ("{aid}" if e.agent == 1 else "{aid2}") + '","agent_type":"' + (e.agent_type or "") + '"'
            if e.tool:
                head += ',"tool_name":"' + e.tool + '","tool_use_id":"{tu}"'
            if e.error >= 0:
                head += ',"error":' + json.dumps(ERRORS[e.error].replace("{n}", str(t_idx)))
            if e.duration:
                head += ',"duration_ms":' + str(int(e.duration))
            payload = _payload(head + ("," + e.payload if e.payload else "") + "}", n, vals)
            kind = kind_for(e.name)
            server, mtool = mcp_parts(e.tool)
            if e.service:
                server, mtool = e.service, e.endpoint
            const = lambda v, typ=pa.string(): pa.nulls(n, typ) if v is None else pa.array(np.full(n, v, dtype=object), typ)  # noqa: E731
            cols["schema_version"].append(pa.array(np.ones(n, np.int16)))
            cols["event_id"].append(pc.binary_join_element_wise(tid, pa.array(np.full(n, f"-{i:03d}", dtype=object), pa.string()), ""))
            cols["source"].append(const(e.source))
            cols["host"].append(pa.array(np.array(HOSTS, dtype=object)[session_of[sel] % len(HOSTS)], pa.string()))
            cols["captured_at"].append(ts)
            cols["event_time"].append(ts)
            cols["event_name"].append(const(e.name))
            cols["event_kind"].append(const(kind))
            cols["session_id"].append(sid)
            cols["prompt_id"].append(tid)
            cols["correlation_id"].append(tid)
            cols["root_id"].append(tid)
            cols["parent_id"].append(const(None))
            cols["execution_id"].append(const(None))
            cols["agent_id"].append(agent_col if (e.agent or e.name.startswith("Subagent")) else const(None))
            cols["agent_type"].append(const(e.agent_type if e.agent else None))
            cols["tool_name"].append(const(e.tool))
            cols["tool_use_id"].append(tu if e.tool else const(None))
            cols["mcp_server"].append(const(server))
            cols["mcp_tool"].append(const(mtool))
            if e.duration:
                cols["duration_ms"].append(pa.array(rng.gamma(2.0, e.duration / 2.0, size=n)))
            else:
                cols["duration_ms"].append(pa.nulls(n, pa.float64()))
            cols["status"].append(const(e.status))
            cols["error_message"].append(const(ERRORS[e.error].replace("{n}", str(t_idx)) if e.error >= 0 else None))
            cols["prompt_text"].append(prm if e.name == "UserPromptSubmit" else const(None))
            cols["cwd"].append(cwd)
            cols["transcript_path"].append(pc.binary_join_element_wise(
                pa.array(np.full(n, "/home/dev/.claude/projects/p/", dtype=object), pa.string()), sid,
                pa.array(np.full(n, ".jsonl", dtype=object), pa.string()), ""))
            cols["permission_mode"].append(const("default"))
            cols["model"].append(const(None))
            cols["input_tokens"].append(pa.nulls(n, pa.int64()))
            cols["output_tokens"].append(pa.nulls(n, pa.int64()))
            cols["cost_usd"].append(pa.nulls(n, pa.float64()))
            cols["payload"].append(payload)
            cols["redactions"].append(pa.array(np.zeros(n, np.int32)))
            cols["ingest_id"].append(const("synthetic"))
        schema = arrow_schema()
        arrays = [pa.concat_arrays([a.cast(schema.field(c).type) for a in cols[c]]) for c in COLUMN_NAMES]
        tables.append(pa.Table.from_arrays(arrays, schema=schema))
        total += n * L
        if progress:
            print(f"template {t_idx}: {n} traces x {L} events", flush=True)
    table = pa.concat_tables(tables)
    order = pc.sort_indices(table, [("event_time", "ascending")])
    table = table.take(order)
    days_col = pc.strftime(table["event_time"], format="%Y-%m-%d")
    uniq = pc.unique(days_col).to_pylist()
    files = 0
    for day in sorted(uniq):
        mask = pc.equal(days_col, day)
        part = table.filter(mask)
        folder = paths.events / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        per = max(1, -(-part.num_rows // files_per_day))
        for k in range(0, part.num_rows, per):
            host = HOSTS[(k // per) % len(HOSTS)]
            pq.write_table(part.slice(k, per), folder / f"part-{host}-{uuid.uuid4().hex[:12]}.parquet",
                           compression="zstd")
            files += 1
    return files, table.num_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write a synthetic hooklake lake")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--home", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.home, args.events, seed=args.seed, progress=False)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
