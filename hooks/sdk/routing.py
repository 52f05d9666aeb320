"""Routing decisions as events: which agent a router chose, why, and how sure it was.

The fields are the seed design's ``agent_routing_decisions`` columns. The confidence is kept
both as the combined value and as its components (trigger, context, capability, historical) so
the lakehouse can check calibration per component later.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from hooks.sdk.context import CorrelationContext, current, new_context
from hooks.sdk.events import KIND_ROUTING_DECISION, SOURCE_SDK, emit

CONFIDENCE_COMPONENTS = ("trigger", "context", "capability", "historical")


def _alternatives(alternatives: Iterable[Any] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in alternatives or ():
        if isinstance(item, Mapping):
            out.append(dict(item))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            out.append({"agent": item[0], "confidence": item[1]})
        else:
            out.append({"agent": str(item)})
    return out


def log_routing_decision(
    selected_agent: str,
    *,
    reason: str | None = None,
    confidence: float | None = None,
    trigger_confidence: float | None = None,
    context_confidence: float | None = None,
    capability_confidence: float | None = None,
    historical_confidence: float | None = None,
    alternatives: Iterable[Any] | None = None,
    strategy: str | None = None,
    pattern_id: str | None = None,
    cache_hit: bool = False,
    duration_ms: float | None = None,
    prompt: str | None = None,
    ctx: CorrelationContext | None = None,
    source: str = SOURCE_SDK,
    paths: Any = None,
    **extra: Any,
) -> bool:
    """Record that a router picked ``selected_agent``. Never raises; True when written.

    ``alternatives``: agents considered and not chosen, as dicts, ``(agent, confidence)`` pairs or
    names. ``confidence`` defaults to the mean of the components given.
    """
    try:
        components = {
            "trigger": trigger_confidence,
            "context": context_confidence,
            "capability": capability_confidence,
            "historical": historical_confidence,
        }
        given = [value for value in components.values() if value is not None]
        if confidence is None and given:
            confidence = sum(given) / len(given)
        parent = ctx if ctx is not None else current()
        step = parent.child() if parent is not None else new_context()
        fields: dict[str, Any] = {
            "selected_agent": selected_agent,
            "reason": reason,
            "confidence": confidence,
            "confidence_components": {k: v for k, v in components.items() if v is not None} or None,
            "trigger_confidence": trigger_confidence,
            "context_confidence": context_confidence,
            "capability_confidence": capability_confidence,
            "historical_confidence": historical_confidence,
            "alternatives": _alternatives(alternatives),
            "strategy": strategy,
            "pattern_id": pattern_id,
            "cache_hit": bool(cache_hit),
            "duration_ms": duration_ms,
            "prompt": prompt,
            "status": "ok",
        }
        fields.update(extra)
        return emit(KIND_ROUTING_DECISION, fields, ctx=step, source=source, paths=paths)
    except Exception:
        return False


class timed_routing:
    """``with timed_routing() as t: ...; log_routing_decision(..., duration_ms=t.ms)``."""

    def __enter__(self) -> "timed_routing":
        self._t0 = time.perf_counter()
        self.ms = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.ms = (time.perf_counter() - self._t0) * 1000.0
