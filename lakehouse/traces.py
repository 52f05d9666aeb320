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

Reading: with a rollup that has trace documents (lakehouse.trace_docs: one row per trace holding
its facts and spans), a trace costs one indexed lookup per level of its tree; otherwise the
rollup's tables (or, without a rollup, the views) are read, one query per relation. Both give the
same tree.
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


_CONNECTION_FACTS: "weakref.WeakKeyDictionary[Any, tuple[bool, dict[str, float], Any]]" = weakref.WeakKeyDictionary()
"""connection -> (rollup attached, settings row, trace-document decoder or None): all fixed for the
life of a connection (``connect`` sets them up once), and asking costs queries per trace lookup."""


def _connection_facts(con: Any) -> tuple[bool, dict[str, float], Any]:
    from lakehouse.status import settings_row

    try:
        return _CONNECTION_FACTS[con]
    except (KeyError, TypeError):
        pass
    attached = rollup_attached(con)
    facts = (attached, settings_row(con), _docs_decoder(con) if attached else None)
    try:
        _CONNECTION_FACTS[con] = facts
    except TypeError:  # not weak-referenceable: ask every time
        pass
    return facts


def _docs_decoder(con: Any) -> Any:
    """A decoder of the attached rollup's trace documents, or None when it has none this code reads."""
    from lakehouse import trace_docs

    # the layout row and the table are written and dropped together (lakehouse.trace_docs.build),
    # so the row alone answers (duckdb_tables() would load every table's storage metadata)
    meta = dict(con.execute("SELECT key, value FROM rollup.rollup_meta WHERE key = ?",
                            [trace_docs.META_KEY]).fetchall())
    layout = trace_docs.stored_layout(meta)
    return trace_docs.Decoder(layout) if layout is not None else None


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
    return _keep_descendants(correlation_id, found)


def _keep_descendants(correlation_id: str, found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The traces of ``found`` that hang under ``correlation_id`` (as subagent runs or background
    completions, at any depth)."""
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


def _fetch_docs(con: Any, decoder: Any, ids: list[str]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """correlation id -> (trace_facts row, spans) from the trace documents; one query, one '='
    index lookup per id (an IN list scans)."""
    from lakehouse import trace_docs

    if not ids:
        return {}
    sql = " UNION ALL ".join(f"SELECT correlation_id, doc FROM rollup.{trace_docs.TABLE} WHERE correlation_id = ?"
                             for _ in ids)
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for cid, doc in con.execute(sql, ids).fetchall():
        if cid not in out:  # one row per trace; a duplicate would be ignored like the table path does
            out[cid] = decoder.decode(cid, doc)
    return out


def _collect_from_docs(con: Any, correlation_id: str, decoder: Any, settings: dict[str, float]
                       ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """``_collect_traces`` answered from the trace documents, with each trace's spans.

    The same traces: the subagent runs of a tree are the ``child_traces`` of the traces that
    started them (the table path finds them through the tree's root_id, so a child counts only
    if it shares a root a parent was looked up by), background completions are listed on the
    trace that started them; then only the traces under ``correlation_id`` are kept. One query
    per level of the tree.
    """
    from lakehouse.status import derive_trace

    now = dt.datetime.now(dt.timezone.utc)
    found: dict[str, dict[str, Any]] = {}
    spans: dict[str, dict[str, Any]] = {}
    first = _fetch_docs(con, decoder, [correlation_id])
    if not first:
        return {}, {}
    facts, spans[correlation_id] = first[correlation_id]
    found[correlation_id] = derive_trace(facts, settings, now)
    level = [correlation_id]
    roots: set[str] = set()
    while level:
        wanted: list[str] = []
        completions: set[str] = set()
        for cid in level:
            row = found[cid]
            if row["child_traces"]:
                roots.add(row["root_id"])
                wanted.extend(row["child_traces"])
            completions.update(row["background_completions"] or [])
            wanted.extend(row["background_completions"] or [])
        wanted = [c for c in dict.fromkeys(wanted) if c not in found]
        level = []
        for cid, (facts, parts) in _fetch_docs(con, decoder, wanted).items():
            if cid in completions or (facts["is_subagent"] and facts["root_id"] in roots):
                found[cid] = derive_trace(facts, settings, now)
                spans[cid] = parts
                level.append(cid)
    kept = _keep_descendants(correlation_id, found)
    return kept, {cid: spans[cid] for cid in kept}


def assemble_trace(correlation_id: str, con: Any = None, *, lookup: str = "auto") -> dict[str, Any] | None:
    """The whole trace as a tree (see module docstring); None when the id is unknown.

    ``lookup``: ``"auto"`` reads the rollup's trace documents when it has them, ``"tables"``
    always reads the rollup's tables (or the views); the trees are the same.
    """
    from lakehouse.status import derive_tool_call

    if lookup not in ("auto", "tables"):
        raise ValueError(f"lookup must be 'auto' or 'tables', not {lookup!r}")
    if con is None:
        from lakehouse.connect import connect

        con = connect(learning=False)
    attached, settings, decoder = _connection_facts(con)
    if decoder is not None and lookup == "auto":
        traces, doc_spans = _collect_from_docs(con, correlation_id, decoder, settings)
    else:
        traces, doc_spans = _collect_traces(con, correlation_id, attached, settings), None
    if not traces:
        return None
    ids = sorted(traces)
    now = dt.datetime.now(dt.timezone.utc)

    def rows_of(part: str, wanted: list[str]) -> list[dict[str, Any]]:
        from lakehouse.trace_docs import PARTS

        if not wanted:
            return []
        if doc_spans is not None:
            return [row for cid in wanted for row in doc_spans[cid][part]]
        _, name, columns, where = next(p for p in PARTS if p[0] == part)
        # one '=' lookup per trace, all in one query (UNION ALL): DuckDB answers each branch from
        # the ART index (an IN list scans)
        source = table(con, name, attached)
        extra = f" AND {where}" if where else ""
        sql = " UNION ALL ".join(f"SELECT {', '.join(columns)} FROM {source} WHERE correlation_id = ?{extra}"
                                 for _ in wanted)
        return _rows(con, sql, list(wanted))

    tools = [derive_tool_call(t, settings, now) for t in rows_of("tools", [c for c in ids if traces[c]["tool_calls"]])]
    for t in tools:
        t.pop("end_status")
        t.pop("open_status")
    hooks = rows_of("hooks", ids)
    endpoints = rows_of("endpoints", [c for c in ids if traces[c]["http_calls"]])
    routing = rows_of("routing", [c for c in ids if traces[c]["routing_decisions"]])

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
        # the call's own ``kind`` column (always 'http' here) must not overwrite the node kind
        spans[e["correlation_id"]].append({"kind": "endpoint", "name": f"{e['service']}{e['endpoint'] or ''}",
                                           **{k: v for k, v in e.items() if k != "kind"}, "children": []})
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
    attached, settings, decoder = _connection_facts(con)
    if decoder is not None:
        traces = _collect_from_docs(con, correlation_id, decoder, settings)[0]
    else:
        traces = _collect_traces(con, correlation_id, attached, settings)
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
