"""Read what learning needs from the lakehouse views into Polars.

A main trace's execution path includes what its subagents did: the subagent runs are child
traces in ``execution_traces`` (same ``root_id``), so their tools, endpoints and nested agents
are folded into the main trace here, in time order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from learning.text import first_seen, short_hash

TRACE_COLUMNS = (
    "correlation_id", "root_id", "parent_id", "session_id", "source", "prompt_text", "started_at",
    "completed_at", "duration_ms", "status", "success", "success_score", "error_message", "error_type",
    "tags", "cwd", "agent_type", "is_subagent", "tool_calls", "tool_failures", "subagents", "agents",
    "tool_sequence", "hook_sequence", "endpoints", "input_tokens", "output_tokens",
)


@dataclass
class LakeData:
    """Frames learning reads. ``traces``: one row per main trace with its full path."""

    traces: pl.DataFrame
    tool_calls: pl.DataFrame
    subagent_runs: pl.DataFrame
    errors: pl.DataFrame
    decisions: pl.DataFrame

    @property
    def empty(self) -> bool:
        return self.traces.height == 0


def _relation_columns(con, name: str) -> list[str] | None:
    try:
        return [d[0] for d in con.execute(f"SELECT * FROM {name} LIMIT 0").description]
    except Exception:
        return None


def _select(con, name: str, wanted: tuple[str, ...] | list[str], where: str = "") -> pl.DataFrame | None:
    cols = _relation_columns(con, name)
    if cols is None:
        return None
    present = [c for c in wanted if c in cols]
    if not present:
        return None
    sql = f"SELECT {', '.join(present)} FROM {name} {where}"
    return pl.from_arrow(arrow_table(con.sql(sql)))


def arrow_table(result):
    """A DuckDB result as a pyarrow Table (the method name differs across DuckDB versions)."""
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        fn = getattr(result, name, None)
        if fn is not None:
            out = fn()
            return out.read_all() if hasattr(out, "read_all") else out
    raise RuntimeError("DuckDB result cannot be converted to Arrow")


def path_key(agents: list[str], tools: list[str], endpoints: list[str]) -> str:
    """The execution path's identity: delegated agents in order, the set of tools and endpoints."""
    return short_hash(list(agents), sorted(set(tools)), sorted(set(endpoints)))


def assemble_traces(raw: pl.DataFrame) -> pl.DataFrame:
    """Fold child (subagent) traces into their main trace and compute the path key."""
    if raw.height == 0:
        return _empty_traces()
    rows = raw.sort("started_at").to_dicts()
    children: dict[str, list[dict]] = {}
    mains: list[dict] = []
    for row in rows:
        if row.get("is_subagent"):
            root = row.get("root_id") or row.get("parent_id")
            if root:
                children.setdefault(root, []).append(row)
        else:
            mains.append(row)
    out = []
    for m in mains:
        kids = children.get(m["correlation_id"], [])
        agents = list(m.get("agents") or [])
        tools = list(m.get("tool_sequence") or [])
        endpoints = list(m.get("endpoints") or [])
        hooks = list(m.get("hook_sequence") or [])
        tool_calls = int(m.get("tool_calls") or 0)
        for k in kids:
            agents += list(k.get("agents") or [])
            tools += list(k.get("tool_sequence") or [])
            endpoints += list(k.get("endpoints") or [])
            hooks += list(k.get("hook_sequence") or [])
            tool_calls += int(k.get("tool_calls") or 0)
        tags = m.get("tags")
        out.append({
            "correlation_id": m["correlation_id"],
            "session_id": m.get("session_id"),
            "source": m.get("source"),
            "prompt_text": m.get("prompt_text"),
            "started_at": m.get("started_at"),
            "duration_ms": float(m["duration_ms"]) if m.get("duration_ms") is not None else None,
            "status": m.get("status"),
            "success": bool(m.get("success")) if m.get("success") is not None else False,
            "success_score": float(m["success_score"]) if m.get("success_score") is not None else None,
            "cwd": m.get("cwd"),
            "tags": list(tags) if isinstance(tags, (list, tuple)) else [],
            "agents": agents,
            "tool_sequence": tools,
            "tools": first_seen(tools),
            "endpoints": first_seen(endpoints),
            "hook_sequence": hooks,
            "hook_types": first_seen(hooks),
            "tool_calls": tool_calls,
            "hook_count": len(hooks),
            "endpoint_count": len(endpoints),
            "subagents": len(agents),
            "input_tokens": m.get("input_tokens"),
            "output_tokens": m.get("output_tokens"),
            "child_duration_ms": float(sum((k.get("duration_ms") or 0.0) for k in kids if k.get("parent_id") == m["correlation_id"])),
            "depth": max([_depth(k, m["correlation_id"], {c["correlation_id"]: c for c in kids}) for k in kids], default=0),
            "path_key": path_key(agents, first_seen(tools), first_seen(endpoints)),
        })
    return pl.DataFrame(out, schema=_TRACE_SCHEMA)


def _depth(row: dict, root: str, by_id: dict[str, dict]) -> int:
    depth, cur, guard = 1, row, 0
    while cur.get("parent_id") and cur["parent_id"] != root and cur["parent_id"] in by_id and guard < 20:
        cur = by_id[cur["parent_id"]]
        depth += 1
        guard += 1
    return depth


_TRACE_SCHEMA = {
    "correlation_id": pl.String, "session_id": pl.String, "source": pl.String, "prompt_text": pl.String,
    "started_at": pl.Datetime("us", "UTC"), "duration_ms": pl.Float64, "status": pl.String, "success": pl.Boolean,
    "success_score": pl.Float64, "cwd": pl.String, "tags": pl.List(pl.String), "agents": pl.List(pl.String),
    "tool_sequence": pl.List(pl.String), "tools": pl.List(pl.String), "endpoints": pl.List(pl.String),
    "hook_sequence": pl.List(pl.String), "hook_types": pl.List(pl.String), "tool_calls": pl.Int64,
    "hook_count": pl.Int64, "endpoint_count": pl.Int64, "subagents": pl.Int64, "input_tokens": pl.Int64,
    "output_tokens": pl.Int64, "child_duration_ms": pl.Float64, "depth": pl.Int64, "path_key": pl.String,
}


def _empty_traces() -> pl.DataFrame:
    return pl.DataFrame(schema=_TRACE_SCHEMA)


def load(paths=None) -> LakeData:
    """Everything learning reads, through ``lakehouse.connect()``."""
    import lakehouse

    home = paths.home if paths is not None else None
    con = lakehouse.connect(home=home, read_only=True)
    try:
        raw = _select(con, "execution_traces", TRACE_COLUMNS, "WHERE status IS DISTINCT FROM 'in_progress'")
        traces = assemble_traces(raw) if raw is not None else _empty_traces()
        tool_calls = _or_empty(_select(con, "tool_calls", ("correlation_id", "tool_name", "mcp_server", "mcp_tool",
                                                 "duration_ms", "status", "tool_input")))
        subagents = _or_empty(_select(con, "subagent_runs", ("correlation_id", "parent_correlation_id", "agent_type",
                                                   "duration_ms", "status", "depth")))
        errors = _or_empty(_select(con, "error_events", ("correlation_id", "occurred_at", "source_kind", "agent_type", "tool_name",
                                               "service", "endpoint", "error_message", "error_template")))
        decisions = _decisions(con)
        if raw is not None and raw.height and tool_calls.height and "is_subagent" in raw.columns:
            # A subagent's tool calls belong to the main trace's path: key them by its root.
            kids = raw.filter(pl.col("is_subagent").fill_null(False) & pl.col("root_id").is_not_null())
            mapping = dict(zip(kids["correlation_id"].to_list(), kids["root_id"].to_list()))
            if mapping:
                tool_calls = tool_calls.with_columns(pl.col("correlation_id").replace(mapping))
    finally:
        con.close()
    return LakeData(traces, tool_calls, subagents, errors, decisions)


def _or_empty(frame: pl.DataFrame | None) -> pl.DataFrame:
    return frame if frame is not None else pl.DataFrame()


def _decisions(con) -> pl.DataFrame:
    """Routing/advice decisions that named a learned pattern (the replays)."""
    cols = _relation_columns(con, "events")
    if cols is None or "payload" not in cols:
        return pl.DataFrame()
    rows = con.execute(
        """
        SELECT correlation_id, event_kind, event_time, payload FROM events
        WHERE event_kind IN ('routing_decision', 'advice') AND payload LIKE '%pattern_id%'
        """
    ).fetchall()
    out = []
    for corr, kind, when, payload in rows:
        try:
            p = json.loads(payload)
        except (TypeError, ValueError):
            continue
        pid = p.get("pattern_id")
        if not pid:
            continue
        strategy = p.get("strategy") or ("advice" if kind == "advice" else None)
        if kind == "routing_decision" and strategy != "learned_pattern":
            continue
        used = not (p.get("shadow") or p.get("holdout") or p.get("injected") is False)
        out.append({
            "correlation_id": p.get("trace_correlation_id") or p.get("correlation_id") or corr,
            "pattern_id": str(pid),
            "pattern_version": p.get("pattern_version"),
            "match_score": p.get("confidence") if p.get("confidence") is not None else p.get("match_score"),
            "strategy": "shadow" if p.get("shadow") else ("advice" if kind == "advice" else "learned_pattern"),
            "used": bool(used),
            "decided_at": when,
            "expected_agents": (p.get("replay_plan") or {}).get("agents") or ([p["selected_agent"]] if p.get("selected_agent") else []),
            "expected_tools": (p.get("replay_plan") or {}).get("tools") or [],
            "event_id": short_hash(corr, pid, str(when)),
        })
    return pl.DataFrame(out) if out else pl.DataFrame()
