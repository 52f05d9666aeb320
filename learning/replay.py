"""Replay plans: what a matched pattern says to do for a new request (the seed's ReplayPlan)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReplayPlan:
    pattern_id: str
    """The learned pattern the plan replays."""
    pattern_version: int
    """Its version when the plan was made (usage feedback records it)."""
    agent: str
    """Subagent to delegate to first ('main' = let the main agent do it)."""
    agents: list[str] = field(default_factory=list)
    """The whole delegation chain that worked."""
    tools: list[str] = field(default_factory=list)
    """Tools the successful traces used, in first-seen order."""
    hook_plan: list[dict[str, Any]] = field(default_factory=list)
    """Hook events expected, in order, with counts (run-length of the representative trace)."""
    intelligence_plan: dict[str, Any] = field(default_factory=dict)
    """Intelligence functions / RAG queries seen in the pattern (none are captured from Claude Code)."""
    endpoint_expectations: list[dict[str, Any]] = field(default_factory=list)
    """Endpoints to expect: service, endpoint, method, request template, typical duration."""
    performance_expectations: dict[str, Any] = field(default_factory=dict)
    """expected/min/max duration, tool calls, hook and endpoint counts."""
    confidence: float = 0.0
    """The pattern's historical success, (s+1)/(n+2)."""
    example_prompt: str = ""
    """The pattern's representative prompt."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_for(row: dict[str, Any]) -> ReplayPlan:
    hooks = json.loads(row.get("hook_sequence") or "[]")
    endpoints = json.loads(row.get("endpoint_pattern") or "[]")
    return ReplayPlan(
        pattern_id=row["pattern_id"],
        pattern_version=int(row.get("version") or 1),
        agent=row.get("agent") or "main",
        agents=list(row.get("agents") or []),
        tools=list(row.get("tool_names") or []),
        hook_plan=hooks,
        intelligence_plan={"intelligence_functions": [], "rag_query_patterns": []},
        endpoint_expectations=endpoints,
        performance_expectations={
            "expected_duration_ms": _round(row.get("avg_duration_ms")),
            "p50_duration_ms": _round(row.get("p50_duration_ms")),
            "min_duration_ms": _round(row.get("min_duration_ms")),
            "max_duration_ms": _round(row.get("max_duration_ms")),
            "expected_tool_calls": _round(row.get("avg_tool_calls"), 1),
            "expected_hook_count": _round(row.get("avg_hook_count"), 1),
            "expected_endpoint_count": _round(row.get("avg_endpoint_count"), 1),
        },
        confidence=round(float(row.get("historical_success") or 0.0), 4),
        example_prompt=row.get("prompt_text") or "",
    )


def _round(v: Any, nd: int = 0) -> float | None:
    return None if v is None else round(float(v), nd)
