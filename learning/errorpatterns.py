"""Error patterns: error messages with values stripped into templates, counted per place
(agent, hook, tool, endpoint) with first/last seen, sample traces and a severity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from learning.text import error_template, error_type, short_hash


def severity(source_kind: str | None, etype: str, occurrences: int, traces: int) -> str:
    """critical: ends turns (stop) repeatedly or hits many traces; high: recurring or a timeout/
    permission problem; medium: seen more than once; low: once."""
    if (source_kind == "stop" and occurrences >= 5) or traces >= 20:
        return "critical"
    if traces >= 5 or etype in ("timeout", "permission", "rate_limit"):
        return "high"
    if occurrences >= 2:
        return "medium"
    return "low"


def _events_from_traces(traces: pl.DataFrame) -> list[dict[str, Any]]:
    """Fallback when the lake has no error_events view: one event per failed trace's error."""
    rows = []
    if traces.height == 0:
        return rows
    for r in traces.filter(~pl.col("success")).iter_rows(named=True):
        rows.append({"correlation_id": r["correlation_id"], "occurred_at": r["started_at"], "source_kind": "stop",
                     "agent_type": None, "tool_name": None, "service": None, "endpoint": None,
                     "error_message": r.get("error_message") or r.get("status"), "error_template": None})
    return rows


def error_rows(errors: pl.DataFrame, traces: pl.DataFrame, now: datetime, samples: int = 5) -> list[dict[str, Any]]:
    events = errors.to_dicts() if errors.height else _events_from_traces(traces)
    groups: dict[tuple, list[dict]] = {}
    for e in events:
        template = e.get("error_template") or error_template(e.get("error_message"))
        endpoint = None
        if e.get("service") or e.get("endpoint"):
            endpoint = f"{e.get('service') or ''}/{e.get('endpoint') or ''}".strip("/")
        agent = e.get("agent_type") or "main"
        key = (template, e.get("source_kind"), agent, e.get("tool_name"), endpoint)
        groups.setdefault(key, []).append(e)
    out = []
    for (template, kind, agent, tool, endpoint), evs in groups.items():
        evs.sort(key=lambda e: (e.get("occurred_at") is None, e.get("occurred_at")))
        times = [e["occurred_at"] for e in evs if e.get("occurred_at") is not None]
        corr = [e["correlation_id"] for e in evs if e.get("correlation_id")]
        distinct = list(dict.fromkeys(corr))
        etype = error_type(evs[-1].get("error_message") or template, kind)
        out.append({
            "error_pattern_id": "err_" + short_hash(template, kind, agent, tool, endpoint, n=12),
            "error_type": etype,
            "error_message_pattern": template,
            "source_kind": kind,
            "agent": agent,
            "hook_type": {"tool": "PostToolUseFailure", "stop": "StopFailure"}.get(kind or "", kind),
            "tool_name": tool,
            "endpoint_path": endpoint,
            "occurrence_count": len(evs),
            "trace_count": len(distinct),
            "first_seen_at": times[0] if times else None,
            "last_seen_at": times[-1] if times else None,
            "sample_correlation_ids": distinct[-samples:],
            "sample_message": (evs[-1].get("error_message") or "")[:500],
            "severity": severity(kind, etype, len(evs), len(distinct)),
            "updated_at": now,
        })
    out.sort(key=lambda r: -r["occurrence_count"])
    return out
