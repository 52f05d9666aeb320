"""Query functions behind the dashboard (and usable from a notebook).

Each function runs one ``lakehouse/queries/<name>.sql`` file against a connection from
:func:`lakehouse.connect` and returns a pandas DataFrame. Filters are bound as named parameters
(``$since``, ``$until``, ``$session``, ``$project``, ``$agent``), NULL meaning "no filter", so
every query is one plan whatever the user picked.

A lake may lack a view (an older lakehouse, learning never run): such a query raises
:class:`QueryUnavailable`, naming the query and the missing relation, and the caller decides how
to degrade. Nothing here writes to the lake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

QUERY_DIR = Path(__file__).with_name("queries")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class QueryUnavailable(RuntimeError):
    """A query needs a relation or column this lake does not have (yet)."""

    def __init__(self, query: str, reason: str):
        super().__init__(f"{query}: {reason}")
        self.query = query
        self.reason = reason


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the workbench to; ``None`` means "everything"."""

    since: datetime | None = None
    """Inclusive lower bound on a trace's start (UTC)."""
    until: datetime | None = None
    """Exclusive upper bound on a trace's start (UTC)."""
    session: str | None = None
    """Claude Code session id."""
    project: str | None = None
    """Working directory (``cwd``) the session ran in."""
    agent: str | None = None
    """Subagent type: keeps traces that delegated to it (and, for tool/agent views, its own runs)."""

    @classmethod
    def last(cls, days: float, now: datetime | None = None, **kwargs: Any) -> "Filters":
        """Filters covering the last ``days`` days up to ``now``."""
        end = now if now is not None else datetime.now(timezone.utc)
        return cls(since=end - timedelta(days=days), **kwargs)

    def params(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "session": self.session,
            "project": self.project,
            "agent": self.agent,
        }

    def with_(self, **changes: Any) -> "Filters":
        return replace(self, **changes)

    def bucket(self) -> str:
        """Trend granularity: hourly for ranges up to three days, daily beyond."""
        if self.since is not None:
            end = self.until if self.until is not None else datetime.now(timezone.utc)
            if end - self.since <= timedelta(days=3):
                return "hour"
        return "day"


NO_FILTERS = Filters()


@lru_cache(maxsize=None)
def sql_text(name: str) -> str:
    """The SQL of query ``name`` (``lakehouse/queries/<name>.sql``)."""
    path = QUERY_DIR / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"no query file {path}")
    return path.read_text(encoding="utf-8")


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql"))


def run(con: "duckdb.DuckDBPyConnection", name: str, filters: Filters | None = None, **extra: Any) -> "pd.DataFrame":
    """Run query ``name`` binding the filters and ``extra`` parameters it mentions."""
    import duckdb

    sql = sql_text(name)
    values = (filters if filters is not None else NO_FILTERS).params()
    values.update(extra)
    wanted = set(_PARAM.findall(_strip_comments(sql)))
    missing = wanted - values.keys()
    if missing:
        raise TypeError(f"query {name} needs parameters {sorted(missing)}")
    params = {key: _to_param(values[key]) for key in wanted}
    try:
        return con.execute(sql, params).df()
    except (duckdb.CatalogException, duckdb.BinderException) as exc:
        raise QueryUnavailable(name, _first_line(str(exc))) from exc


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def _to_param(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else text


# --------------------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------------------


def lake_status(con: "duckdb.DuckDBPyConnection") -> dict[str, Any]:
    """Event count and the newest capture / event time in the lake."""
    frame = run(con, "lake_status")
    return _first_row(frame)


def filter_options(con: "duckdb.DuckDBPyConnection") -> dict[str, list[str]]:
    """Projects, sessions (most recent first, at most 500) and agent types for the filter widgets."""
    frame = run(con, "filter_options")
    options: dict[str, list[str]] = {"project": [], "session": [], "agent": []}
    for kind, value in zip(frame["kind"], frame["value"]):
        if kind in options and len(options[kind]) < 500:
            options[kind].append(str(value))
    return options


def overview_kpis(con: "duckdb.DuckDBPyConnection", filters: Filters) -> dict[str, Any]:
    """Headline numbers: traces, success rate, p50/p95 duration, tool failure rate, tokens and cost."""
    return _first_row(run(con, "overview_kpis", filters))


def overview_trend(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "overview_trend", filters, bucket=filters.bucket())


def worst(frame: "pd.DataFrame", rate: str, volume: str, min_volume: int = 3, n: int = 5) -> "pd.DataFrame":
    """The ``n`` rows with the highest ``rate`` among those with at least ``min_volume`` of ``volume``."""
    if frame.empty or rate not in frame or volume not in frame:
        return frame.head(0)
    eligible = frame[frame[volume] >= min_volume]
    eligible = eligible[eligible[rate] > 0]
    return eligible.sort_values([rate, volume], ascending=[False, False]).head(n)


# --------------------------------------------------------------------------------------
# Traces
# --------------------------------------------------------------------------------------


def traces(
    con: "duckdb.DuckDBPyConnection",
    filters: Filters,
    search: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> "pd.DataFrame":
    """Root traces matching the filters and a free-text search, newest first."""
    search = search.strip() if search else None
    return run(con, "traces_list", filters, search=search or None, status=status or None, limit=int(limit))


@dataclass(frozen=True)
class TraceDetail:
    """Everything the trace panel shows about one trace."""

    correlation_id: str
    summary: dict[str, Any]
    """The trace's ``execution_traces`` row (status, success criteria, score, counts)."""
    tree: "pd.DataFrame"
    """The trace and its subagent child traces with their depth."""
    spans: "pd.DataFrame"
    """Tool, endpoint and subagent spans of the trace and its children, for the waterfall."""
    events: "pd.DataFrame"
    """The raw (redacted) events, chronological."""
    routing: "pd.DataFrame | None"
    """Routing decisions, or None when the lake has no routing view."""


def trace_detail(con: "duckdb.DuckDBPyConnection", correlation_id: str) -> TraceDetail:
    """One trace for display, from the lakehouse's trace assembly (``lakehouse.traces``).

    ``assemble_trace`` gives the tree (subagent runs nested under the Agent call that started them,
    background completions linked back) and ``trace_timeline`` the raw events; this flattens the tree
    into waterfall spans with their nesting depth.
    """
    import pandas as pd

    from lakehouse.traces import assemble_trace, trace_timeline

    root = assemble_trace(correlation_id, con)
    if root is None:
        return TraceDetail(correlation_id, {}, pd.DataFrame(columns=TREE_COLUMNS), pd.DataFrame(columns=SPAN_COLUMNS),
                           pd.DataFrame(columns=EVENT_COLUMNS), None)
    summary = {k: v for k, v in root.items() if k not in ("children", "criteria")}
    summary.update(root.get("criteria") or {})
    summary.setdefault("prompt_text", root.get("prompt"))
    tree: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    flatten_trace(root, None, 0, tree, spans)
    events = pd.DataFrame(trace_timeline(correlation_id, con, include_payload=True))
    events = events.reindex(columns=EVENT_COLUMNS) if not events.empty else pd.DataFrame(columns=EVENT_COLUMNS)
    if not events.empty:
        events["event_time"] = pd.to_datetime(events["event_time"], utc=True)
    ids = [row["correlation_id"] for row in tree]
    try:
        routing = run(con, "trace_routing", ids=ids)
    except QueryUnavailable:
        routing = None
    span_frame = pd.DataFrame(spans, columns=SPAN_COLUMNS)
    for col in ("started_at", "ended_at"):
        span_frame[col] = pd.to_datetime(span_frame[col], utc=True)
    span_frame = span_frame.sort_values("started_at", kind="stable").reset_index(drop=True)
    return TraceDetail(correlation_id, summary, pd.DataFrame(tree, columns=TREE_COLUMNS), span_frame, events, routing)


TREE_COLUMNS = ["correlation_id", "parent_correlation_id", "agent_type", "relation", "depth"]
SPAN_COLUMNS = ["category", "correlation_id", "span_id", "label", "tool_name", "agent_id", "started_at", "ended_at",
                 "duration_ms", "status", "error_message", "depth"]
EVENT_COLUMNS = ["event_time", "event_name", "agent_type", "tool_name", "status", "duration_ms", "error_message",
                  "correlation_id", "payload"]


def flatten_trace(node: dict[str, Any], trace: str | None, depth: int, tree: list[dict[str, Any]],
             spans: list[dict[str, Any]]) -> None:
    """Walk an assembled trace: trace nodes go to ``tree``, timed work to ``spans``."""
    kind = node.get("kind")
    if kind == "trace":
        relation = node.get("relation")
        if trace is not None:
            depth += 1 if relation == "subagent" else 0
        tree.append({"correlation_id": node.get("correlation_id"), "parent_correlation_id": trace,
                     "agent_type": node.get("agent_type"), "relation": relation, "depth": depth})
        if trace is not None:
            label = (node.get("agent_type") or "subagent") if relation == "subagent" else "background completion"
            spans.append({"category": "subagent", "correlation_id": node.get("correlation_id"),
                          "span_id": node.get("correlation_id"), "label": label, "tool_name": "Agent",
                          "agent_id": node.get("agent_id"), "started_at": node.get("started_at"),
                          "ended_at": node.get("completed_at"), "duration_ms": node.get("duration_ms"),
                          "status": node.get("status"), "error_message": node.get("error_message"),
                          "depth": max(0, depth - 1)})
        trace = node.get("correlation_id")
    elif kind in ("tool", "endpoint") or (kind == "hook" and node.get("duration_ms") is not None
                                          and node.get("hook_type") != "capture"):
        if kind == "tool":
            server, tool = node.get("mcp_server"), node.get("mcp_tool")
            label = f"{server}/{tool}" if server else str(node.get("tool_name"))
            category = "endpoint" if server else "tool"
        elif kind == "endpoint":
            label, category = str(node.get("name")), "endpoint"
        else:
            label, category = f"hook {node.get('hook_name')}", "hook"
        spans.append({"category": category, "correlation_id": node.get("correlation_id"),
                      "span_id": node.get("tool_use_id") or node.get("execution_id") or node.get("call_id"),
                      "label": label, "tool_name": node.get("tool_name"), "agent_id": node.get("agent_id"),
                      "started_at": node.get("started_at"), "ended_at": node.get("ended_at"),
                      "duration_ms": node.get("duration_ms"), "status": node.get("status"),
                      "error_message": node.get("error_message"), "depth": depth})
    for child in node.get("children") or []:
        flatten_trace(child, trace, depth, tree, spans)


# --------------------------------------------------------------------------------------
# Agents, tools, endpoints, hooks
# --------------------------------------------------------------------------------------


def agent_stats(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "agent_stats", filters)


def agent_trend(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "agent_trend", filters, bucket=filters.bucket())


def tool_stats(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "tool_stats", filters)


def tool_trend(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "tool_trend", filters, bucket=filters.bucket())


def endpoint_stats(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "endpoint_stats", filters)


def endpoint_trend(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "endpoint_trend", filters, bucket=filters.bucket())


def seed_view(con: "duckdb.DuckDBPyConnection", view: str, limit: int = 1000) -> "pd.DataFrame":
    """One of the seed design's summary views as the lakehouse defines it (not filtered)."""
    allowed = {"agent_success_rates", "hook_performance_summary", "endpoint_reliability",
               "tool_performance", "session_summary"}
    if view not in allowed:
        raise ValueError(f"unknown seed view {view!r}; expected one of {sorted(allowed)}")
    return run(con, f"seed_{view}", limit=int(limit))


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


def error_groups(con: "duckdb.DuckDBPyConnection", filters: Filters, limit: int = 50) -> "pd.DataFrame":
    return run(con, "error_groups", filters, limit=int(limit))


def error_trend(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "error_trend", filters, bucket=filters.bucket())


def error_samples(con: "duckdb.DuckDBPyConnection", template: str) -> "pd.DataFrame":
    return run(con, "error_samples", template=template)


# --------------------------------------------------------------------------------------
# Learned tables
# --------------------------------------------------------------------------------------


def learned(con: "duckdb.DuckDBPyConnection", table: str, limit: int = 5000) -> "pd.DataFrame":
    """A learned table (success_patterns, pattern_usage, chaining_patterns, error_patterns)."""
    allowed = {"success_patterns", "pattern_usage", "chaining_patterns", "error_patterns"}
    if table not in allowed:
        raise ValueError(f"unknown learned table {table!r}; expected one of {sorted(allowed)}")
    return run(con, f"learned_{table}", limit=int(limit))


def _first_row(frame: "pd.DataFrame") -> dict[str, Any]:
    if frame.empty:
        return {}
    row = frame.iloc[0].to_dict()
    return {key: (None if _is_missing(value) else value) for key, value in row.items()}


def _is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        result = pd.isna(value)
        return bool(result) if not hasattr(result, "__len__") else False
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------------------
# Health
# --------------------------------------------------------------------------------------


def health_event_counts(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    """Events per day and producer (source)."""
    return run(con, "health_event_counts", filters)


def health_event_names(con: "duckdb.DuckDBPyConnection") -> "pd.DataFrame":
    """Events per event name and kind, with the newest occurrence and redaction counts."""
    return run(con, "health_event_names")


def hook_stats(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    """Per hook: executions, failures, blocked calls and (for timed hooks) latency percentiles."""
    return run(con, "hook_stats", filters)


def hook_trend(con: "duckdb.DuckDBPyConnection", filters: Filters) -> "pd.DataFrame":
    return run(con, "hook_trend", filters, bucket=filters.bucket())
