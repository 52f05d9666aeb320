"""Agent-chaining patterns: which sequences of delegated subagents occur, how deep, how well
they do, and what the coordination costs (trace time not spent inside the subagents)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from learning.text import short_hash


def chaining_rows(traces: pl.DataFrame, now: datetime, samples: int = 10) -> list[dict[str, Any]]:
    if traces.height == 0:
        return []
    groups: dict[tuple[str, tuple[str, ...]], list[dict]] = {}
    for row in traces.filter(pl.col("agents").list.len() > 0).sort("started_at").iter_rows(named=True):
        groups.setdefault(("main", tuple(row["agents"])), []).append(row)
    out = []
    for (primary, chain), rows in groups.items():
        succ = [r for r in rows if r["success"]]
        durs = [r["duration_ms"] for r in rows if r["duration_ms"] is not None]
        child = [r["child_duration_ms"] or 0.0 for r in rows]
        overhead = [max(0.0, (r["duration_ms"] or 0.0) - (r["child_duration_ms"] or 0.0)) for r in rows]
        trigger = (succ or rows)[0]["prompt_text"]
        out.append({
            "chain_id": "chain_" + short_hash(primary, list(chain), n=12),
            "primary_agent": primary,
            "delegated_agents": list(chain),
            "delegation_depth": int(max((r["depth"] or 1) for r in rows)),
            "trigger_context": trigger,
            "usage_count": len(rows),
            "success_count": len(succ),
            "success_rate": (len(succ) + 1.0) / (len(rows) + 2.0),
            "avg_total_duration_ms": sum(durs) / len(durs) if durs else None,
            "avg_subagent_duration_ms": sum(child) / len(child),
            "avg_coordination_overhead_ms": sum(overhead) / len(overhead),
            "source_traces": [r["correlation_id"] for r in rows][-samples:],
            "first_seen_at": rows[0]["started_at"],
            "last_seen_at": rows[-1]["started_at"],
            "updated_at": now,
        })
    out.sort(key=lambda r: -r["usage_count"])
    return out
