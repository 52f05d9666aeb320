"""Advice on the service side: from a routed prompt to a short note, a group and a logged event.

The advice hook posts the raw ``UserPromptSubmit`` payload to the service; this module decides

- whether a learned pattern is confident enough to advise at all (the router's calibrated threshold,
  or ``[advice] min_confidence``) and has worked often enough (``[advice] min_pattern_success``);
- which experiment group the prompt is in: ``treatment`` (advice injected), ``holdout`` (a fixed share
  of prompts, chosen by a hash of the prompt id so a retried prompt lands in the same group; nothing
  injected) or ``shadow`` (shadow mode: nothing injected for anyone);
- the note itself (which subagent handled similar requests, the tool sequence that worked, typical
  duration, what usually fails), well under Claude Code's 10,000-character limit;
- the ``advice`` event recorded for every decision, so outcomes can be compared per group and the
  pattern's usage statistics can learn from what happened next.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

ADVICE_SOURCE = "router"
"""Envelope source of advice events (``hooks.envelope.SOURCE_ROUTER``)."""

GROUP_TREATMENT = "treatment"
GROUP_HOLDOUT = "holdout"
GROUP_SHADOW = "shadow"
GROUPS = (GROUP_TREATMENT, GROUP_HOLDOUT, GROUP_SHADOW)

MAX_ADVICE_CHARS = 2000
"""Our own cap on the note; Claude Code accepts up to 10,000 characters of additional context."""

LEARNED_STRATEGY = "learned_pattern"


def experiment_key(payload: dict[str, Any]) -> str:
    """What decides the group: the prompt id, else the session and prompt text (older Claude Code)."""
    prompt_id = payload.get("prompt_id")
    if isinstance(prompt_id, str) and prompt_id:
        return prompt_id
    return f"{payload.get('session_id') or ''}\x1f{payload.get('prompt') or ''}"


def bucket(key: str) -> float:
    """A uniform number in [0, 1) fixed by ``key`` (same key, same number, on every machine)."""
    digest = hashlib.sha256(("hooklake-ab\x1f" + key).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_group(key: str, holdout_share: float, shadow: bool) -> str:
    if shadow:
        return GROUP_SHADOW
    return GROUP_HOLDOUT if bucket(key) < holdout_share else GROUP_TREATMENT


def context_from_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The routing context a hook payload gives: the project folder and the permission mode."""
    context: dict[str, Any] = {}
    for name in ("cwd", "permission_mode"):
        value = payload.get(name)
        if isinstance(value, str) and value:
            context[name] = value
    return context


def _get(mapping: Any, *names: str, default: Any = None) -> Any:
    if not isinstance(mapping, dict):
        return default
    for name in names:
        value = mapping.get(name)
        if value not in (None, "", [], {}):
            return value
    return default


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v not in (None, "")]
    if isinstance(value, str) and value:
        return [value]
    return []


@dataclass(frozen=True)
class Plan:
    """What the advice tells the session to expect, taken from the route's replay plan."""

    pattern_id: str | None
    agent: str | None
    agents: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    avg_duration_ms: float | None = None
    min_duration_ms: float | None = None
    max_duration_ms: float | None = None
    success_count: int | None = None
    usage_count: int | None = None
    success_rate: float | None = None
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pattern_id": self.pattern_id,
            "agent": self.agent,
            "agents": self.agents,
            "tools": self.tools,
            "endpoints": self.endpoints,
            "avg_duration_ms": self.avg_duration_ms,
            "min_duration_ms": self.min_duration_ms,
            "max_duration_ms": self.max_duration_ms,
            "success_count": self.success_count,
            "usage_count": self.usage_count,
            "success_rate": self.success_rate,
            "failures": self.failures,
        }


def plan_from_route(route: dict[str, Any]) -> Plan:
    """Read the replay plan tolerantly: the router's plan object may carry more than we use."""
    replay = route.get("replay_plan") or {}
    perf = _get(replay, "performance", "performance_expectations", "expected_performance", default={})
    stats = _get(replay, "statistics", "stats", default={})
    agent = _get(route, "agent") or _get(replay, "agent")
    agents = _as_list(_get(replay, "agents", "agent_sequence", "agent_chain", "expected_agents"))
    tools = _as_list(_get(replay, "tool_sequence", "tools", "expected_tools"))
    endpoints = _as_list(_get(replay, "expected_endpoints", "endpoints"))
    failures_raw = _get(replay, "common_failures", "failures", "error_patterns", "known_failures", default=[])
    failures: list[str] = []
    if isinstance(failures_raw, list):
        for item in failures_raw[:3]:
            if isinstance(item, dict):
                text = _get(item, "error_template", "template", "message", "error")
                count = _get(item, "count", "occurrences")
                if text:
                    failures.append(f"{text} ({count}x)" if count else str(text))
            elif item:
                failures.append(str(item))

    def num(*names: str) -> float | None:
        for source in (perf, stats, replay, route):
            value = _get(source, *names)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        return None

    success_count = num("success_count", "successes")
    # The replay plan's own "confidence" is the pattern's historical success (not the match's).
    historical = _get(replay, "historical_success", "success_rate", "confidence")
    if not isinstance(historical, (int, float)) or isinstance(historical, bool):
        historical = num("success_rate", "historical_success")
    usage_count = num("usage_count", "uses", "trace_count", "count")
    return Plan(
        pattern_id=_get(route, "pattern_id") or _get(replay, "pattern_id"),
        agent=str(agent) if agent else None,
        agents=agents,
        tools=tools,
        endpoints=endpoints,
        avg_duration_ms=num("avg_duration_ms", "expected_duration_ms", "duration_ms"),
        min_duration_ms=num("min_duration_ms"),
        max_duration_ms=num("max_duration_ms"),
        success_count=int(success_count) if success_count is not None else None,
        usage_count=int(usage_count) if usage_count is not None else None,
        success_rate=float(historical) if historical is not None else None,
        failures=failures,
    )


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _compress(seq: list[str], limit: int = 12) -> str:
    """``Bash, Bash, Bash, Write`` -> ``Bash x3 -> Write``; long sequences are cut with an ellipsis."""
    runs: list[tuple[str, int]] = []
    for item in seq:
        if runs and runs[-1][0] == item:
            runs[-1] = (item, runs[-1][1] + 1)
        else:
            runs.append((item, 1))
    parts = [name if n == 1 else f"{name} x{n}" for name, n in runs]
    if len(parts) > limit:
        parts = parts[:limit] + ["..."]
    return " -> ".join(parts)


def advice_text(plan: Plan, confidence: float | None) -> str:
    """The note added to the model's context: short, concrete, and clearly a hint."""
    head = "hooklake: requests like this one succeeded before"
    facts = []
    if plan.pattern_id:
        facts.append(f"pattern {plan.pattern_id}")
    if confidence is not None:
        facts.append(f"match confidence {confidence:.2f}")
    if plan.success_count is not None:
        facts.append(f"{plan.success_count} successful run{'s' if plan.success_count != 1 else ''}")
    if plan.success_rate is not None:
        facts.append(f"success rate {plan.success_rate:.0%}")
    lines = [head + (f" ({', '.join(facts)})." if facts else ".")]
    agents = plan.agents or ([plan.agent] if plan.agent else [])
    if agents:
        if len(agents) == 1:
            lines.append(f"- Subagent that handled similar requests successfully: {agents[0]} (delegate with the Agent tool).")
        else:
            lines.append(f"- Subagents that handled similar requests successfully, in order: {_compress(agents)}.")
    if plan.tools:
        lines.append(f"- Tool sequence that worked: {_compress(plan.tools)}.")
    if plan.endpoints:
        lines.append(f"- Services called: {_compress(plan.endpoints, 6)}.")
    if plan.avg_duration_ms is not None:
        span = ""
        if plan.min_duration_ms is not None and plan.max_duration_ms is not None:
            span = f" (range {_seconds(plan.min_duration_ms)} to {_seconds(plan.max_duration_ms)})"
        lines.append(f"- Typical duration: {_seconds(plan.avg_duration_ms)}{span}.")
    if plan.failures:
        lines.append("- What usually fails: " + "; ".join(plan.failures) + ".")
    lines.append("This is a hint from past sessions in this project; ignore it if the request differs.")
    text = "\n".join(lines)
    return text if len(text) <= MAX_ADVICE_CHARS else text[: MAX_ADVICE_CHARS - 3] + "..."


@dataclass(frozen=True)
class AdviceDecision:
    """One prompt's advice: what was (or would have been) said, to which group, about which pattern."""

    group: str
    injected: bool
    text: str
    plan: Plan
    confidence: float | None
    score: float | None
    strategy: str | None
    payload: dict[str, Any]
    index_version: str | None
    route: dict[str, Any] = field(default_factory=dict)
    """The router's answer the advice was built from (its replay plan is logged verbatim)."""
    late: bool = False
    """The answer was ready only after the hook's deadline: the session never saw it."""

    def hook_output(self) -> dict[str, Any]:
        """The JSON the hook prints: Claude Code adds ``additionalContext`` to the model's context."""
        return {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": self.text}}

    def event_payload(self) -> dict[str, Any]:
        """The ``advice`` event: joins the trace by ``correlation_id`` (= the prompt id)."""
        prompt_id = self.payload.get("prompt_id")
        correlation_id = prompt_id if isinstance(prompt_id, str) and prompt_id else None
        event: dict[str, Any] = {
            "hook_event_name": "advice",
            "session_id": self.payload.get("session_id"),
            "prompt_id": correlation_id,
            "correlation_id": correlation_id,
            "cwd": self.payload.get("cwd"),
            "group": self.group,
            "injected": self.injected,
            "late": self.late,
            # Flags the learning job reads to mark a replay as not used (logged only).
            "holdout": self.group == GROUP_HOLDOUT,
            "shadow": self.group == GROUP_SHADOW,
            "pattern_id": self.plan.pattern_id,
            "pattern_version": self.route.get("pattern_version"),
            "agent": self.plan.agent,
            "selected_agent": self.plan.agent,
            "confidence": self.confidence,
            "score": self.score,
            "strategy": self.strategy,
            "plan": self.plan.as_dict(),
            "replay_plan": self.route.get("replay_plan"),
            "expected_agents": self.plan.agents or ([self.plan.agent] if self.plan.agent else []),
            "expected_tools": self.plan.tools,
            "expected_duration_ms": self.plan.avg_duration_ms,
            "advice_text": self.text,
            "advice_chars": len(self.text),
            "index_version": self.index_version,
        }
        if correlation_id is None:
            # Older Claude Code sends no prompt_id: ingest derives the trace from session order.
            event["experiment_key"] = experiment_key(self.payload)
        return event


def decide(
    payload: dict[str, Any],
    route: dict[str, Any] | None,
    settings: Any,
    index_version: str | None = None,
) -> AdviceDecision | None:
    """The advice for one prompt, or None when no learned pattern is confident enough."""
    if not route or route.get("strategy") != LEARNED_STRATEGY or not route.get("pattern_id"):
        return None
    confidence = route.get("confidence")
    confidence = float(confidence) if isinstance(confidence, (int, float)) else None
    min_confidence = getattr(settings, "min_confidence", None)
    if min_confidence is not None and (confidence is None or confidence < min_confidence):
        return None
    plan = plan_from_route(route)
    min_success = getattr(settings, "min_pattern_success", None)
    if min_success is not None and plan.success_rate is not None and plan.success_rate < min_success:
        return None
    group = assign_group(experiment_key(payload), float(settings.holdout_share), bool(settings.shadow))
    score = route.get("score")
    if not isinstance(score, (int, float)):
        matches = route.get("matches") or route.get("recommendations") or []
        first = matches[0] if isinstance(matches, list) and matches else {}
        score = first.get("score") if isinstance(first, dict) else None
    return AdviceDecision(
        group=group,
        injected=group == GROUP_TREATMENT,
        text=advice_text(plan, confidence),
        plan=plan,
        confidence=confidence,
        score=float(score) if isinstance(score, (int, float)) else confidence,
        strategy=route.get("strategy"),
        payload=payload,
        index_version=index_version,
        route=route,
    )
