"""Correlation SDK for services, routers and hook scripts (standard library only).

    from hooks import sdk
    app.add_middleware(sdk.CorrelationMiddleware, service="billing")
    client = httpx.Client(event_hooks=sdk.event_hooks(service="search"))
    sdk.log_routing_decision("code-reviewer", reason="...", trigger_confidence=0.9)
    sdk.report("rag_query", {"name": "docs", "results": 4})      # inside a hook run by `hooklake run`

Every function here is safe to call from production code: it never raises and never blocks
on the disk for longer than one append.
"""

from hooks.sdk.asgi import CorrelationMiddleware
from hooks.sdk.context import (
    CorrelationContext,
    current,
    from_env,
    new_context,
    new_span_id,
    use_context,
)
from hooks.sdk.events import emit, emit_background, flush
from hooks.sdk.headers import extract, format_traceparent, inject, parse_traceparent
from hooks.sdk.httpx_hooks import async_event_hooks, event_hooks, instrument
from hooks.sdk.report import report
from hooks.sdk.routing import log_routing_decision

__all__ = [
    "CorrelationContext",
    "CorrelationMiddleware",
    "async_event_hooks",
    "current",
    "emit",
    "emit_background",
    "event_hooks",
    "extract",
    "flush",
    "format_traceparent",
    "from_env",
    "inject",
    "instrument",
    "log_routing_decision",
    "new_context",
    "new_span_id",
    "parse_traceparent",
    "report",
    "use_context",
]
