"""Trace assembly: one trace as a tree, or as a chronological list of its events.

``assemble_trace(correlation_id)`` returns a tree of uniform nodes::

    {"kind": "trace" | "tool" | "hook" | "endpoint" | "routing", "name": ..., "started_at": ...,
     "duration_ms": ..., "status": ..., "children": [...], ...}

The root is the trace asked for (its execution_traces row, success criteria included). Its
children, in time order, are its tool calls, wrapped-hook / captured-hook spans, endpoint calls and
routing decisions. An Agent/Task tool call has the subagent run it started as a child (a "trace"
node with ``relation: "subagent"``, assembled the same way, recursively), and, for a background
run, the later prompt that reported its completion (``relation: "background_completion"``). Child
traces whose starting call is unknown hang directly under their parent trace.
"""

from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

CRITERIA = (
    "completed", "no_errors", "hooks_succeeded", "quality_gates_passed", "within_performance_thresholds",
    "no_timeouts", "intelligence_gathered", "user_confirmation",
)
HIDDEN = ("session_key", "child_traces", "background_completions", "routing_decisions", "http_calls", "hook_sequence", "context", "tags", "last_event_at", "has_stop", "has_stop_failure",
          "stop_error", "moved_on", "is_sdk_only", "sdk_errors", "hook_max_duration_ms", "intelligence_failures",
          "quality_gate_failures", "feedback_at")


def _rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _placeholders(n: int) -> str:
    return ", ".join("?" for _ in range(n))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


_CONNECTION_FACTS: "weakref.WeakKeyDictionary[Any, tuple[bool, dict[str, float]]]" = weakref.WeakKeyDictionary()
"""connection -> (rollup attached, settings row): both are fixed for the life of a connection
(``connect`` sets them up once), and asking costs two queries per trace lookup."""


def _connection_facts(con: Any) -> tuple[bool, dict[str, float]]:
    from lakehouse.status import settings_row

    try:
        return _CONNECTION_FACTS[con]
    except (KeyError, TypeError):
        pass
    facts = (rollup_attached(con), settings_row(con))
    try:
        _CONNECTION_FACTS[con] = facts
    except TypeError:  # not weak-referenceable: ask every time
        pass
    return facts


def rollup_attached(con: Any) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = 'rollup'").fetchone()[0])


def table(con: Any, name: str, attached: bool | None = None) -> str:
    """The materialised table when the rollup is attached, else the view of that name."""
    if attached is None:
        attached = rollup_attached(con)
    return f"rollup.{name}" if attached else name


def derived_traces(con: Any, where: str, params: list[Any], *, order: str = "", limit: int | None = None,
                   settings: dict[str, float] | None = None, attached: bool | None = None) -> list[dict[str, Any]]:
    """execution_traces rows for a filter on trace_facts, derived in Python (see lakehouse.status)."""
    from lakehouse.status import derive_trace, settings_row

    sql = f"SELECT * FROM {table(con, 'trace_facts', attached)} WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = _rows(con, sql, params)
    if not rows:
        return []
    settings = settings if settings is not None else settings_row(con)
    now = dt.datetime.now(dt.timezone.utc)
    return [derive_trace(r, settings, now) for r in rows]


def _collect_traces(con: Any, correlation_id: str, attached: bool,
                    settings: dict[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """The trace, its subagent runs (any depth) and the background completions it triggered.

    Uses the navigation columns of trace_facts: every subagent run of a tree shares the tree's
    root_id (one indexed lookup), and background completions are listed on the trace that
    started them.
    """
    first = derived_traces(con, "correlation_id = ?", [correlation_id], settings=settings, attached=attached)
    if not first:
        return {}
    found = {correlation_id: first[0]}
    pending = [first[0]]
    looked_up_roots: set[str] = set()
    while pending:
        row = pending.pop()
        cid = row["correlation_id"]
        if row["child_traces"] and row["root_id"] not in looked_up_roots:
            looked_up_roots.add(row["root_id"])
            # a plain '=' so DuckDB answers from the root_id index (a second predicate scans)
            for child in derived_traces(con, "root_id = ?", [row["root_id"]],
                                        settings=settings, attached=attached):
                if child["is_subagent"] and child["correlation_id"] not in found:
                    found[child["correlation_id"]] = child
                    pending.append(child)
        for done in row["background_completions"] or []:
            if done not in found:
                rows = derived_traces(con, "correlation_id = ?", [done], settings=settings, attached=attached)
                if rows:
                    found[done] = rows[0]
                    pending.append(rows[0])
        del cid
    keep = {correlation_id}
    changed = True
    while changed:
        changed = False
        for cid, row in found.items():
            if cid in keep:
                continue
            if row.get("parent_id") in keep or row.get("triggered_by_correlation_id") in keep:
                keep.add(cid)
                changed = True
    return {cid: found[cid] for cid in keep}


def assemble_trace(correlation_id: str, con: Any = None) -> dict[str, Any] | None:
    """The whole trace as a tree (see module docstring); None when the id is unknown."""
    from lakehouse.status import derive_tool_call

    if con is None:
        from lakehouse.connect import connect

        con = connect(learning=False)
    attached, settings = _connection_facts(con)
    traces = _collect_traces(con, correlation_id, attached, settings)
    if not traces:
        return None
    ids = sorted(traces)
    now = dt.datetime.now(dt.timezone.utc)

    def lookup(columns: str, name: str, wanted: list[str], extra: str = "") -> list[dict[str, Any]]:
        # one '=' lookup per trace, all in one query (UNION ALL): DuckDB answers each branch from
        # the ART index (an IN list scans)
        if not wanted:
            return []
        source = table(con, name, attached)
        sql = " UNION ALL ".join(f"SELECT {columns} FROM {source} WHERE correlation_id = ?{extra}" for _ in wanted)
        return _rows(con, sql, list(wanted))

    tools = [derive_tool_call(t, settings, now) for t in lookup(
        "correlation_id, tool_use_id, tool_name, mcp_server, mcp_tool, started_at, ended_at, duration_ms, "
        "end_status, open_status, error_message, tool_input, subagent_type, run_in_background, agent_id",
        "tool_calls_base", [c for c in ids if traces[c]["tool_calls"]])]
    for t in tools:
        t.pop("end_status")
        t.pop("open_status")
    hooks = lookup("correlation_id, execution_id, hook_name, hook_event, hook_type, intelligence_type, tool_name, "
                   "tool_use_id, started_at, duration_ms, status, exit_code, decision, error_message",
                   "hook_executions", ids)
    endpoints = lookup("correlation_id, call_id, service, endpoint, kind, method, started_at, duration_ms, status, "
                       "status_code, error_type, error_message, retries", "endpoint_calls",
                       [c for c in ids if traces[c]["http_calls"]], " AND kind = 'http'")
    routing = lookup("correlation_id, decision_id, selected_agent, confidence_score, alternatives, reasoning, "
                     "routing_strategy, routing_time_ms, created_at", "routing_logged",
                     [c for c in ids if traces[c]["routing_decisions"]])

    nodes: dict[str, dict[str, Any]] = {}
    for cid, row in traces.items():
        fields = {k: v for k, v in row.items() if k not in HIDDEN and k not in CRITERIA}
        node = {"kind": "trace", "name": row["agent_type"] if row["is_subagent"] else "prompt",
                **fields, "prompt": row["prompt_text"],
                "criteria": {k: row[k] for k in CRITERIA}, "children": []}
        node["relation"] = "subagent" if row["is_subagent"] else (
            "background_completion" if row["triggered_by_correlation_id"] else "root")
        nodes[cid] = node
    spans: dict[str, list[dict[str, Any]]] = {cid: [] for cid in ids}
    tool_nodes: dict[tuple[str, str], dict[str, Any]] = {}
    for t in tools:
        node = {"kind": "tool", "name": t["tool_name"], **t, "children": []}
        spans[t["correlation_id"]].append(node)
        if t["tool_use_id"]:
            tool_nodes[(t["correlation_id"], t["tool_use_id"])] = node
    for h in hooks:
        spans[h["correlation_id"]].append({"kind": "hook", "name": h["hook_name"], **h, "children": []})
    for e in endpoints:
        spans[e["correlation_id"]].append({"kind": "endpoint", "name": f"{e['service']}{e['endpoint'] or ''}",
                                           **e, "children": []})
    for r in routing:
        spans[r["correlation_id"]].append({"kind": "routing", "name": r["selected_agent"],
                                           "started_at": r["created_at"], "duration_ms": r["routing_time_ms"],
                                           "status": "ok", **r, "children": []})
    for cid, node in nodes.items():
        node["children"].extend(spans[cid])
    for cid, node in nodes.items():
        if cid == correlation_id:
            continue
        row = traces[cid]
        if row["is_subagent"]:
            parent, call = row["parent_id"], row["parent_tool_use_id"]
        else:
            parent, call = row["triggered_by_correlation_id"], row["triggered_by_tool_use_id"]
        holder = tool_nodes.get((parent, call)) if call else None
        if holder is None:
            holder = nodes.get(parent)
        if holder is None:
            holder = nodes[correlation_id]
        holder["children"].append(node)

    def order(node: dict[str, Any]) -> None:
        node["children"].sort(key=lambda n: (n.get("started_at") is None, n.get("started_at") or dt.datetime.min.replace(tzinfo=dt.timezone.utc)))
        for child in node["children"]:
            order(child)

    root = nodes[correlation_id]
    order(root)
    return _jsonable(root)


def _date_bounds(traces: Any) -> tuple[str, list[Any]]:
    """A ``date`` partition range around the traces' first and last events, so the lookup reads a
    few days' files instead of the whole lake. One day of margin each side covers events whose
    partition day differs from the trace's (midnight, clock skew, a rollup a little behind)."""
    starts, ends = [], []
    for row in traces:
        start, last = row.get("started_at"), row.get("last_event_at") or row.get("completed_at")
        if not isinstance(start, dt.datetime) or not isinstance(last, dt.datetime):
            return "", []
        starts.append(start)
        ends.append(last)
    if not starts:
        return "", []
    day = dt.timedelta(days=1)
    lo, hi = (min(starts) - day).date(), (max(ends) + day).date()
    return ' AND "date" BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)', [lo.isoformat(), hi.isoformat()]


def trace_timeline(correlation_id: str, con: Any = None, *, include_payload: bool = False) -> list[dict[str, Any]]:
    """Every event of the trace and of its subagent runs / background completions, in time order."""
    if con is None:
        from lakehouse.connect import connect

        con = connect(learning=False)
    traces = _collect_traces(con, correlation_id, rollup_attached(con))
    if not traces:
        return []
    event_cids = sorted({r["event_correlation_id"] or cid for cid, r in traces.items()} | set(traces))
    trace_ids = set(traces)
    cols = ("event_id, event_time, event_name, event_kind, source, host, session_id, correlation_id, agent_id, "
            "agent_type, tool_name, tool_use_id, mcp_server, mcp_tool, duration_ms, status, error_message, prompt_text")
    if include_payload:
        cols += ", payload"
    date_filter, date_params = _date_bounds(traces.values())
    rows = _rows(con, f"SELECT {cols}, captured_at FROM lake_events WHERE correlation_id IN "
                      f"({_placeholders(len(event_cids))}){date_filter} "
                      "ORDER BY event_time, captured_at, event_id", event_cids + date_params)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        if row["event_id"] in seen:
            continue
        seen.add(row["event_id"])
        trace = row["agent_id"] if row["agent_id"] else row["correlation_id"]
        if trace not in trace_ids:
            continue
        row["trace_id"] = trace
        row.pop("captured_at", None)
        out.append(_jsonable(row))
    return out


def _fmt_ms(ms: Any) -> str:
    if ms is None:
        return "-"
    ms = float(ms)
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    return f"{ms / 60_000:.1f}m"


def render_tree(node: dict[str, Any], *, show_capture_hooks: bool = False) -> str:
    """An indented terminal rendering of an assembled trace."""
    lines: list[str] = []

    def walk(n: dict[str, Any], depth: int) -> None:
        pad = "  " * depth
        kind = n["kind"]
        if kind == "trace":
            prompt = (n.get("prompt") or "").replace("\n", " ")
            if len(prompt) > 70:
                prompt = prompt[:67] + "..."
            label = "subagent " + str(n.get("agent_type") or "?") if n.get("is_subagent") else (
                "background completion" if n.get("relation") == "background_completion" else "trace")
            score = n.get("success_score")
            lines.append(f"{pad}{label} {n['correlation_id']}  [{n.get('status')}] "
                         f"{_fmt_ms(n.get('duration_ms'))}  success={n.get('success')} "
                         f"score={score if score is None else f'{score:.2f}'}  {prompt!r}")
            failed = [k for k, v in (n.get("criteria") or {}).items() if v is False]
            if failed:
                lines.append(f"{pad}  criteria failed: {', '.join(failed)}")
            if n.get("error_message"):
                lines.append(f"{pad}  error: {str(n['error_message']).splitlines()[0][:100]}")
            captured = [c for c in n["children"] if c["kind"] == "hook" and c.get("hook_type") == "capture"]
            if captured and not show_capture_hooks:
                lines.append(f"{pad}  hooks captured: {len(captured)} ({', '.join(sorted({c['name'] for c in captured}))})")
        elif kind == "tool":
            extra = f"  error: {str(n['error_message']).splitlines()[0][:80]}" if n.get("error_message") else ""
            lines.append(f"{pad}tool {n['name']} [{n.get('status')}] {_fmt_ms(n.get('duration_ms'))}{extra}")
        elif kind == "hook":
            if n.get("hook_type") == "capture" and not show_capture_hooks:
                return
            lines.append(f"{pad}hook {n['name']} ({n.get('hook_type')}) [{n.get('status')}] {_fmt_ms(n.get('duration_ms'))}"
                         + (f" decision={n['decision']}" if n.get("decision") else ""))
        elif kind == "endpoint":
            lines.append(f"{pad}endpoint {n['name']} [{n.get('status')}] {_fmt_ms(n.get('duration_ms'))}"
                         + (f" HTTP {n['status_code']}" if n.get("status_code") else ""))
        elif kind == "routing":
            conf = n.get("confidence_score")
            lines.append(f"{pad}routing -> {n['name']}" + (f" ({conf:.2f})" if conf is not None else "")
                         + f" strategy={n.get('routing_strategy')}")
        for child in n["children"]:
            walk(child, depth + 1)

    walk(node, 0)
    return "\n".join(lines)
