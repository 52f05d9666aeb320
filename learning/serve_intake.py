"""The seed's event API (``POST /api/traces/{start,hook,routing,endpoint}``): validate, map to payloads.

Producers on other machines report trace steps over HTTP; each body becomes one spool payload with
the same envelope the local producers write, so ingest treats it like any other event:

- ``start``    -> a ``UserPromptSubmit`` payload (a request entering the system; its text is the prompt)
- ``hook``     -> a ``hook_execution`` payload
- ``routing``  -> a ``routing_decision`` payload
- ``endpoint`` -> an ``endpoint_call`` payload

Every body needs a ``correlation_id`` except ``start``, which creates one when absent. Unknown fields
are kept (the lake keeps payloads verbatim); wrong types are refused with every problem named.
"""

from __future__ import annotations

import uuid
from typing import Any

INTAKE_SOURCE = "server"
"""Envelope source of events received over HTTP (``hooks.envelope.SOURCE_SERVER``)."""

KINDS: frozenset[str] = frozenset({"start", "hook", "routing", "endpoint"})

MAX_ID_CHARS = 200


class IntakeError(ValueError):
    """A body the API refuses; the message lists every problem. ``unprocessable``: valid JSON, wrong shape."""

    def __init__(self, message: str, unprocessable: bool = True) -> None:
        super().__init__(message)
        self.unprocessable = unprocessable


_STR = (str,)
_NUM = (int, float)

# field -> (accepted types, required). Aliases the seed used are normalised first.
_FIELDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "start": {
        "prompt": (_STR, True),
        "session_id": (_STR, False),
        "context": ((dict,), False),
        "cwd": (_STR, False),
        "agent_type": (_STR, False),
    },
    "hook": {
        "hook_name": (_STR, True),
        "hook_type": (_STR, False),
        "duration_ms": (_NUM, False),
        "status": (_STR, False),
        "exit_code": ((int,), False),
        "decision": (_STR, False),
        "error": (_STR, False),
    },
    "routing": {
        "selected_agent": (_STR, True),
        "reason": (_STR, False),
        "confidence": (_NUM, False),
        "confidence_components": ((dict,), False),
        "alternatives": ((list,), False),
        "strategy": (_STR, False),
        "pattern_id": (_STR, False),
        "cache_hit": ((bool,), False),
        "duration_ms": (_NUM, False),
    },
    "endpoint": {
        "service": (_STR, True),
        "endpoint": (_STR, True),
        "method": (_STR, False),
        "status_code": ((int,), False),
        "duration_ms": (_NUM, False),
        "status": (_STR, False),
        "error": (_STR, False),
        "retries": ((int,), False),
    },
}

_ALIASES: dict[str, dict[str, str]] = {
    "start": {"user_request": "prompt", "request": "prompt", "prompt_text": "prompt"},
    "hook": {"name": "hook_name", "hook": "hook_name"},
    "routing": {"agent": "selected_agent", "selected": "selected_agent", "components": "confidence_components"},
    "endpoint": {"path": "endpoint", "service_name": "service", "http_method": "method"},
}

_EVENT_NAME = {"start": "UserPromptSubmit", "hook": "hook_execution", "routing": "routing_decision",
               "endpoint": "endpoint_call"}

_CORRELATION_FIELDS = ("correlation_id", "root_id", "parent_id", "execution_id", "session_id")


def _type_name(types: tuple[type, ...]) -> str:
    if types == _NUM:
        return "a number"
    names = {str: "a string", int: "an integer", float: "a number", dict: "an object", list: "a list", bool: "true/false"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def to_payload(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Validate ``body`` for ``kind`` and return the spool payload (raises :class:`IntakeError`)."""
    if kind not in KINDS:
        raise IntakeError(f"unknown kind '{kind}' (known: {', '.join(sorted(KINDS))})", unprocessable=False)
    data = dict(body)
    for alias, name in _ALIASES[kind].items():
        if alias in data and name not in data:
            data[name] = data.pop(alias)
    problems: list[str] = []
    if "hook_event_name" in data:
        problems.append("'hook_event_name' is set by the endpoint; remove it")
    for name in _CORRELATION_FIELDS:
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS):
            problems.append(f"'{name}' must be a non-empty string of at most {MAX_ID_CHARS} characters")
    if kind != "start" and not isinstance(data.get("correlation_id"), str):
        problems.append("'correlation_id' is required")
    for name, (types, required) in _FIELDS[kind].items():
        value = data.get(name)
        if value is None:
            if required:
                problems.append(f"'{name}' is required")
            continue
        # bool is an int in Python; accept it only where a bool is declared.
        if isinstance(value, bool) and bool not in types:
            problems.append(f"'{name}' must be {_type_name(types)}, got true/false")
        elif not isinstance(value, types):
            problems.append(f"'{name}' must be {_type_name(types)}, got {type(value).__name__}")
        elif isinstance(value, str) and required and not value.strip():
            problems.append(f"'{name}' must not be empty")
    if kind in ("hook", "endpoint", "routing") and isinstance(data.get("duration_ms"), _NUM):
        if data["duration_ms"] < 0:
            problems.append("'duration_ms' must not be negative")
    if kind == "routing" and isinstance(data.get("confidence"), _NUM) and not 0 <= data["confidence"] <= 1:
        problems.append("'confidence' must be between 0 and 1")
    if problems:
        raise IntakeError("; ".join(problems))

    payload = {"hook_event_name": _EVENT_NAME[kind], **data}
    if kind == "start":
        correlation_id = data.get("correlation_id") or uuid.uuid4().hex
        payload["correlation_id"] = correlation_id
        payload.setdefault("prompt_id", correlation_id)
        payload.setdefault("root_id", correlation_id)
    elif kind == "endpoint":
        payload.setdefault("method", "POST")
        if "status" not in payload:
            code = payload.get("status_code")
            failed = bool(payload.get("error")) or (isinstance(code, int) and code >= 400)
            payload["status"] = "error" if failed else "ok"
    elif kind == "hook" and "status" not in payload:
        failed = bool(payload.get("error")) or (isinstance(payload.get("exit_code"), int) and payload["exit_code"] != 0)
        payload["status"] = "error" if failed else "ok"
    return payload
