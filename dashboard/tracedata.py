"""What the trace panel of the Traces page reads, in the pieces it draws them.

Opening a trace must feel instant, so the panel first reads only what its first screen shows:
the assembled trace (``lakehouse.traces.assemble_trace``: summary, success criteria, and the
spans and hook events of the waterfall), a few indexed lookups in the lakehouse rollup. The raw
events (``trace_timeline``, a scan of the lake's Parquet files around the trace) and the routing
decisions are read when their tab is opened. Every piece is cached until the lake changes, like
every query of the workbench (see ``dashboard.common``).

``lakehouse.queries.trace_detail`` answers all of it in one call; this module calls the same
lakehouse functions one piece at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import common


@dataclass(frozen=True)
class TraceView:
    """One trace as the panel draws it (the first-screen part of ``queries.TraceDetail``)."""

    correlation_id: str
    summary: dict[str, Any]
    """The trace's ``execution_traces`` row with its success criteria; empty when the id is unknown."""
    tree_ids: tuple[str, ...]
    """The trace and its subagent runs / background completions (what routing is looked up for)."""
    spans: Any
    """Tool, endpoint, hook and subagent spans of the trace and its children (the waterfall's bars)."""
    hook_events: Any
    """Hook events without a span of their own (prompt, stop, subagent start/stop, notifications...):
    ``event_time``, ``event_name``, ``agent_type``, chronological (the waterfall's ticks)."""


TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch"})
"""Hook events of a tool call: its bar stands for them."""
HOOK_EVENT_COLUMNS = ["event_time", "event_name", "agent_type"]


def hook_events(root: dict[str, Any]) -> list[dict[str, Any]]:
    """The hook events of an assembled trace that are not drawn as spans, with the agent they ran in.

    A captured hook (``hook_type`` "capture") is one Claude Code hook event; wrapped hooks with a
    duration are spans already (see ``queries.flatten_trace``).
    """
    out: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], agent: Any) -> None:
        kind = node.get("kind")
        if kind == "trace" and node.get("relation") == "subagent":
            agent = node.get("agent_type")
        elif kind == "hook":
            is_span = node.get("duration_ms") is not None and node.get("hook_type") != "capture"
            name = node.get("hook_event") or node.get("name")
            if not is_span and name not in TOOL_EVENTS and node.get("started_at") is not None:
                out.append({"event_time": node["started_at"], "event_name": name, "agent_type": agent})
        for child in node.get("children") or []:
            walk(child, agent)

    walk(root, None)
    return out


def build(con: Any, correlation_id: str) -> TraceView:
    """Assemble ``correlation_id`` for the panel's first screen (no raw events, no routing)."""
    import pandas as pd

    from lakehouse import queries as q
    from lakehouse.traces import assemble_trace

    root = assemble_trace(correlation_id, con)
    if root is None:
        return TraceView(correlation_id, {}, (), pd.DataFrame(columns=q.SPAN_COLUMNS),
                         pd.DataFrame(columns=HOOK_EVENT_COLUMNS))
    summary = {k: v for k, v in root.items() if k not in ("children", "criteria")}
    summary.update(root.get("criteria") or {})
    summary.setdefault("prompt_text", root.get("prompt"))
    tree: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    q.flatten_trace(root, None, 0, tree, spans)
    frame = pd.DataFrame(spans, columns=q.SPAN_COLUMNS)
    for col in ("started_at", "ended_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame = frame.sort_values("started_at", kind="stable").reset_index(drop=True)
    marks = pd.DataFrame(hook_events(root), columns=HOOK_EVENT_COLUMNS)
    marks["event_time"] = pd.to_datetime(marks["event_time"], utc=True)
    marks = marks.sort_values("event_time", kind="stable").reset_index(drop=True)
    return TraceView(correlation_id, summary, tuple(str(row["correlation_id"]) for row in tree), frame, marks)


def read_events(con: Any, correlation_id: str) -> Any:
    """The trace's raw (redacted) events with payloads, chronological (``trace_timeline``)."""
    import pandas as pd

    from lakehouse import queries as q
    from lakehouse.traces import trace_timeline

    events = pd.DataFrame(trace_timeline(correlation_id, con, include_payload=True))
    if events.empty:
        return pd.DataFrame(columns=q.EVENT_COLUMNS)
    events = events.reindex(columns=q.EVENT_COLUMNS)
    events["event_time"] = pd.to_datetime(events["event_time"], utc=True)
    return events


@st.cache_data(max_entries=64, show_spinner=False)
def _view(key: str, correlation_id: str) -> TraceView:
    con = common._connection(key)
    with common._LOCK:
        return build(con, correlation_id)


@st.cache_data(max_entries=16, show_spinner=False)
def _events(key: str, correlation_id: str) -> Any:
    con = common._connection(key)
    with common._LOCK:
        return read_events(con, correlation_id)


@st.cache_data(max_entries=64, show_spinner=False)
def _routing(key: str, ids: tuple[str, ...]) -> Any:
    from lakehouse import queries as q

    con = common._connection(key)
    with common._LOCK:
        return q.run(con, "trace_routing", ids=list(ids))


def view(correlation_id: str) -> TraceView:
    """The trace for the panel, cached until the lake changes."""
    return _view(common.lake_key(), correlation_id)


def events(trace: TraceView) -> Any:
    """The raw events of the trace, cached until the lake changes."""
    return _events(common.lake_key(), trace.correlation_id)


def routing(trace: TraceView) -> Any:
    """Routing decisions of the trace and its children; None when the lake has no routing view."""
    from lakehouse.queries import QueryUnavailable

    if not trace.tree_ids:
        return None
    try:
        return _routing(common.lake_key(), trace.tree_ids)
    except QueryUnavailable:
        return None
