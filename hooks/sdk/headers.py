"""Correlation headers: ``X-Correlation-ID``, ``X-Root-ID``, ``X-Parent-ID``, ``X-Execution-ID``
and W3C ``traceparent`` (``00-<32 hex trace-id>-<16 hex parent-id>-<flags>``).

The hooklake headers carry ids verbatim; ``traceparent`` lets OpenTelemetry-instrumented
services join the same trace. A UUID correlation id maps to the trace-id by dropping its dashes
and back by re-inserting them, so a service that only sees ``traceparent`` still recovers
Claude Code's ``prompt_id``. Any other correlation id maps to a hash (one way), which is why the
``X-Correlation-ID`` header wins when both are present. Standard library only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from hooks.sdk.context import CorrelationContext, new_span_id

HEADER_CORRELATION_ID = "X-Correlation-ID"
HEADER_ROOT_ID = "X-Root-ID"
HEADER_PARENT_ID = "X-Parent-ID"
HEADER_EXECUTION_ID = "X-Execution-ID"
HEADER_SESSION_ID = "X-Session-ID"
HEADER_TRACEPARENT = "traceparent"
HEADER_RETRY = "X-Retry-Count"

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def trace_id_for(correlation_id: str) -> str:
    """The W3C trace-id (32 lowercase hex, never all zeros) that stands for a correlation id."""
    lowered = correlation_id.lower()
    if _UUID.match(lowered):
        candidate = lowered.replace("-", "")
    elif _HEX32.match(lowered):
        candidate = lowered
    else:
        candidate = hashlib.sha256(correlation_id.encode("utf-8")).hexdigest()[:32]
    return candidate if candidate != "0" * 32 else "0" * 31 + "1"


def correlation_id_for(trace_id: str) -> str:
    """Inverse of :func:`trace_id_for` for UUIDs: a trace-id alone comes back as UUID text."""
    t = trace_id.lower()
    return f"{t[0:8]}-{t[8:12]}-{t[12:16]}-{t[16:20]}-{t[20:32]}"


def format_traceparent(ctx: CorrelationContext, sampled: bool = True) -> str:
    span = ctx.execution_id if ctx.execution_id and re.match(r"^[0-9a-f]{16}$", ctx.execution_id) else None
    if span is None or span == "0" * 16:
        span = new_span_id()
    return f"00-{trace_id_for(ctx.correlation_id)}-{span}-{'01' if sampled else '00'}"


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """(trace-id, parent-id) of a valid ``traceparent`` header, else None (invalid ones are ignored)."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None:
        return None
    version, trace_id, parent_id, _flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id, parent_id


def inject(ctx: CorrelationContext, headers: MutableMapping[str, Any] | None = None) -> MutableMapping[str, Any]:
    """Write ``ctx`` into ``headers`` (a dict or an httpx ``Headers``) and return it.

    ``X-Execution-ID`` is the sending step; the receiver becomes its child (see :func:`extract`).
    """
    out: MutableMapping[str, Any] = {} if headers is None else headers
    out[HEADER_CORRELATION_ID] = ctx.correlation_id
    out[HEADER_ROOT_ID] = ctx.root_id if ctx.root_id is not None else ctx.correlation_id
    if ctx.parent_id is not None:
        out[HEADER_PARENT_ID] = ctx.parent_id
    if ctx.execution_id is not None:
        out[HEADER_EXECUTION_ID] = ctx.execution_id
    if ctx.session_id is not None:
        out[HEADER_SESSION_ID] = ctx.session_id
    out[HEADER_TRACEPARENT] = format_traceparent(ctx)
    return out


def _lookup(headers: Mapping[str, Any] | Iterable[tuple[Any, Any]]) -> dict[str, str]:
    """Header names lower-cased; accepts a mapping or ASGI's list of (bytes, bytes) pairs."""
    items = headers.items() if isinstance(headers, Mapping) or hasattr(headers, "items") else headers
    found: dict[str, str] = {}
    for name, value in items:  # type: ignore[union-attr]
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        found.setdefault(key.lower(), text)
    return found


def extract(headers: Mapping[str, Any] | Iterable[tuple[Any, Any]]) -> CorrelationContext | None:
    """The caller's context as sent, or None when the request carries no correlation at all.

    The result describes the *caller's* step: use ``.child()`` for the receiving step.
    """
    h = _lookup(headers)
    cid = h.get(HEADER_CORRELATION_ID.lower()) or None
    parsed = parse_traceparent(h.get(HEADER_TRACEPARENT))
    execution_id = h.get(HEADER_EXECUTION_ID.lower()) or None
    if cid is None and parsed is not None:
        cid = correlation_id_for(parsed[0])
    if cid is None:
        return None
    if execution_id is None and parsed is not None:
        execution_id = parsed[1]
    return CorrelationContext(
        correlation_id=cid,
        root_id=h.get(HEADER_ROOT_ID.lower()) or None,
        parent_id=h.get(HEADER_PARENT_ID.lower()) or None,
        execution_id=execution_id,
        session_id=h.get(HEADER_SESSION_ID.lower()) or None,
    )


def retries_from(headers: Mapping[str, Any] | Iterable[tuple[Any, Any]]) -> int | None:
    """Retry count a client declared with ``X-Retry-Count`` (None when absent or not a number)."""
    value = _lookup(headers).get(HEADER_RETRY.lower())
    if value is None:
        return None
    try:
        return max(0, int(value.strip()))
    except ValueError:
        return None
