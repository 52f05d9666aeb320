"""Spool line -> canonical row, one event at a time: the reference semantics of ingest.

The bulk path (:mod:`ingest.vectorized`) computes the same columns in DuckDB SQL for the lines
that need no redaction; every other line (possible secret, anything unusual) comes through the
functions here. A test runs both over one corpus and requires identical rows.

Rules, in one place:

* The envelope must match ``schema.Envelope`` exactly (strict types: ``v`` an integer equal to
  ``hooks.envelope.FORMAT_VERSION``, ``captured_ns`` an integer, ...) and carry a JSON-object
  ``payload``; otherwise the line is quarantined with a reason. A ``defect`` line (the producer
  stored raw bytes) is always quarantined.
* The payload is checked against ``schema.payload_model(event name)`` in strict mode, but a
  field of the wrong type does **not** drop the event: the event is kept, the column derived from
  that field is null, and the problem is counted as a warning. A newer Claude Code changing a
  field's shape must never lose data.
* Claude Code (2.1.x and 1.0.x) and SDK kinds (``schema.SDK_KINDS``) share one extraction;
  SDK ``service``/``endpoint`` fill ``mcp_server``/``mcp_tool`` when the tool name is not an MCP one.
* ``correlation_id``: ``prompt_id`` when present, else the payload's ``correlation_id``, else the
  session's current trace: a prompt without either starts a new trace whose id is
  ``md5("<session_id>:<prompt ordinal>")`` (:func:`derived_trace_id`); later events of the session
  inherit the trace of the latest prompt. Events before a session's first prompt, and
  ``SessionStart`` events, have no trace unless they carry an id themselves.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import typing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from hooks import envelope as env_format
from ingest import schema
from ingest.redact import Redactor

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)

#: Status words of SDK events mapped to canonical statuses; other words are kept lower-cased.
STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(("ok", "success", "succeeded", "completed", "complete", "passed", "pass"), schema.STATUS_OK),
    **dict.fromkeys(("error", "failed", "failure", "fail", "timeout", "timed_out", "exception", "crashed"),
                    schema.STATUS_ERROR),
    **dict.fromkeys(("interrupted", "cancelled", "canceled", "aborted"), schema.STATUS_INTERRUPTED),
}


# --------------------------------------------------------------------------------------
# Payload field checks, derived from the pydantic models (the declared contract)
# --------------------------------------------------------------------------------------


def _check_kind(annotation: Any) -> str | None:
    if annotation is Any:
        return None
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if len(args) == 1 else annotation
    if base is Any:
        return None
    if base is str:
        return "string"
    if base is float:
        return "number"
    if base is int:
        return "integer"
    if base is bool:
        return "boolean"
    return "other"


def payload_field_checks() -> dict[str, dict[str, str]]:
    """``{field: {event_name or "*": json kind}}`` for every typed field of the payload models.

    ``"*"`` means the field is declared on the common base (every event). The vectorised path
    turns this into SQL, so both paths check exactly what the pydantic models declare.
    """
    checks: dict[str, dict[str, str]] = {}
    base_fields = schema.HookPayload.model_fields
    for name, info in base_fields.items():
        kind = _check_kind(info.annotation)
        if kind is not None:
            checks.setdefault(name, {})["*"] = kind
    for event_name, model in schema.PAYLOAD_MODELS.items():
        for name, info in model.model_fields.items():
            if name in base_fields and base_fields[name].annotation == info.annotation:
                continue
            kind = _check_kind(info.annotation)
            if kind is not None:
                checks.setdefault(name, {})[event_name] = kind
    return checks


def payload_problems(event_name: str | None, payload: dict[str, Any]) -> list[str]:
    """Names of payload fields whose type contradicts the pydantic model (strict), sorted."""
    try:
        schema.payload_model(event_name).model_validate(payload, strict=True)
    except ValidationError as exc:
        return sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
    return []


# --------------------------------------------------------------------------------------
# Envelope
# --------------------------------------------------------------------------------------


class Rejected(Exception):
    """A spool line that cannot become an event; the message is the quarantine reason."""


def parse_envelope(raw: bytes) -> dict[str, Any]:
    """Decode and check one spool line (without its newline); raise :class:`Rejected` if bad."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(f"invalid UTF-8 at byte {exc.start} of the line") from None
    if not text.strip():
        raise Rejected("empty line")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise Rejected(f"truncated line: JSON ends early ({exc.msg})") from None
        raise Rejected(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise Rejected(f"JSON is not an object (got {type(obj).__name__})")
    defect = obj.get(env_format.FIELD_DEFECT)
    if defect is not None:
        raise Rejected(f"producer stored the payload as raw bytes: {defect}")
    try:
        schema.Envelope.model_validate(obj, strict=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'line'}: {err['msg']}" for err in exc.errors()
        )
        raise Rejected(f"envelope does not match the spool format: {problems}") from None
    if not 0 <= obj[env_format.FIELD_CAPTURED_NS] < 2**63:
        raise Rejected(f"captured_ns {obj[env_format.FIELD_CAPTURED_NS]} is out of range")
    if obj[env_format.FIELD_VERSION] != env_format.FORMAT_VERSION:
        raise Rejected(f"unsupported spool format version {obj[env_format.FIELD_VERSION]}")
    if not isinstance(obj.get(env_format.FIELD_PAYLOAD), dict):
        raise Rejected("envelope has no JSON-object payload")
    return obj


# --------------------------------------------------------------------------------------
# Field helpers (mirrored in SQL by ingest.vectorized)
# --------------------------------------------------------------------------------------


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def as_text(value: Any) -> str | None:
    """A loosely typed id-like field as text: strings as they are, anything else as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return compact_json(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_integer(value: Any) -> int | None:
    """JSON integers that fit a signed 64-bit column."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def as_number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def error_text(value: Any) -> str | None:
    """``error`` may be a string or an object (``{"message": ...}``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    return compact_json(value)


MAX_EVENT_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
ISO_TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)


def timestamp_us(value: Any) -> int | None:
    """A payload ``timestamp`` (ISO 8601 text, or epoch s / ms / us / ns by magnitude) in us.

    Only the common ISO shapes are accepted (``ISO_TIMESTAMP``); anything else falls back to
    the capture time rather than guessing.
    """
    if isinstance(value, str):
        if not ISO_TIMESTAMP.match(value):
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return (parsed - EPOCH) // _ONE_US
    if not _is_number(value):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    magnitude = abs(value)
    if isinstance(value, int):
        if magnitude >= 10**17:
            return value // 1000
        if magnitude >= 10**14:
            return value
        if magnitude >= 10**11:
            return value * 1000
        return value * 1_000_000
    if magnitude >= 1e17:
        return math.floor(value / 1000)
    if magnitude >= 1e14:
        return math.floor(value)
    if magnitude >= 1e11:
        return math.floor(value * 1000)
    return math.floor(value * 1e6)


def sdk_status(payload: dict[str, Any]) -> str | None:
    """Status of an SDK event: error if it carries one, else its status / exit code / success."""
    err = payload.get("error")
    if not (err is None or err is False or (isinstance(err, (str, dict, list)) and len(err) == 0)):
        return schema.STATUS_ERROR
    status = payload.get("status")
    if _is_number(status):
        return schema.STATUS_ERROR if status >= 400 else schema.STATUS_OK
    if isinstance(status, str) and status.strip(" \t\n\r"):
        word = status.strip(" \t\n\r").lower()
        return STATUS_WORDS.get(word, word)
    exit_code = payload.get("exit_code")
    if isinstance(exit_code, int) and not isinstance(exit_code, bool):
        return schema.STATUS_OK if exit_code == 0 else schema.STATUS_ERROR
    success = payload.get("success")
    if isinstance(success, bool):
        return schema.STATUS_OK if success else schema.STATUS_ERROR
    return None


def event_status(kind: str, payload: dict[str, Any], is_interrupt: bool | None) -> str | None:
    if kind == "tool_end" or kind == "stop":
        return schema.STATUS_OK
    if kind == "tool_failure":
        return schema.STATUS_INTERRUPTED if is_interrupt else schema.STATUS_ERROR
    if kind == "stop_failure":
        return schema.STATUS_ERROR
    if kind in schema.SDK_KINDS:
        return sdk_status(payload)
    return None


def derived_trace_id(session_id: str, ordinal: int) -> str:
    """Trace id of the ``ordinal``-th prompt (1-based) of a session that sends no prompt_id."""
    return hashlib.md5(f"{session_id}:{ordinal}".encode()).hexdigest()


def event_id_hash(event_id: str) -> int:
    """64-bit key of an event id for the duplicate history (first 16 hex digits of its md5)."""
    return int(hashlib.md5(event_id.encode()).hexdigest()[:16], 16)


# --------------------------------------------------------------------------------------
# One event
# --------------------------------------------------------------------------------------

#: Columns computed per event before correlation (shared with the vectorised path).
PRE_COLUMNS: tuple[str, ...] = (
    "event_id", "source", "host", "captured_us", "event_us", "event_name", "event_kind",
    "session_id", "prompt_id", "given_correlation_id", "given_root_id", "parent_id", "execution_id",
    "agent_id", "agent_type", "tool_name", "tool_use_id", "mcp_server", "mcp_tool", "duration_ms",
    "status", "error_message", "prompt_text", "cwd", "transcript_path", "permission_mode", "model",
    "input_tokens", "output_tokens", "cost_usd", "payload", "redactions", "bad_fields",
)


def pre_row(obj: dict[str, Any], redactor: Redactor | None) -> dict[str, Any]:
    """Columns of one valid envelope (``parse_envelope`` output), secrets redacted."""
    payload: dict[str, Any] = obj[env_format.FIELD_PAYLOAD]
    raw_name = payload.get("hook_event_name")
    bad = payload_problems(raw_name if isinstance(raw_name, str) else None, payload)
    redactions = 0
    if redactor is not None and redactor.enabled:
        payload, redactions = redactor.redact_value(payload)
    bad_set = set(bad)

    def typed(name: str) -> Any:
        return None if name in bad_set else payload.get(name)

    def text(name: str) -> str | None:
        value = typed(name)
        return value if isinstance(value, str) else None

    event_name = raw_name if isinstance(raw_name, str) else None
    kind = schema.kind_for(event_name)
    tool_name = text("tool_name")
    mcp_server, mcp_tool = schema.mcp_parts(tool_name)
    if mcp_server is None:
        mcp_server, mcp_tool = as_text(payload.get("service")), as_text(payload.get("endpoint"))
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    input_tokens = as_integer(payload.get("input_tokens"))
    if input_tokens is None:
        input_tokens = as_integer(usage.get("input_tokens"))
    output_tokens = as_integer(payload.get("output_tokens"))
    if output_tokens is None:
        output_tokens = as_integer(usage.get("output_tokens"))
    captured_us = obj[env_format.FIELD_CAPTURED_NS] // 1000
    event_us = timestamp_us(payload.get("timestamp"))
    return {
        "event_id": obj[env_format.FIELD_EVENT_ID],
        "source": obj[env_format.FIELD_SOURCE],
        "host": obj[env_format.FIELD_HOST],
        "captured_us": captured_us,
        "event_us": event_us if event_us is not None and 0 <= event_us <= MAX_EVENT_US else captured_us,
        "event_name": event_name,
        "event_kind": kind,
        "session_id": text("session_id"),
        "prompt_id": text("prompt_id"),
        "given_correlation_id": as_text(payload.get("correlation_id")),
        "given_root_id": as_text(payload.get("root_id")),
        "parent_id": as_text(payload.get("parent_id")),
        "execution_id": as_text(payload.get("execution_id")),
        "agent_id": text("agent_id"),
        "agent_type": text("agent_type"),
        "tool_name": tool_name,
        "tool_use_id": text("tool_use_id"),
        "mcp_server": mcp_server,
        "mcp_tool": mcp_tool,
        "duration_ms": as_number(typed("duration_ms")),
        "status": event_status(kind, payload, typed("is_interrupt") is True),
        "error_message": error_text(payload.get("error")),
        "prompt_text": text("prompt") if kind == "prompt" else None,
        "cwd": text("cwd"),
        "transcript_path": text("transcript_path"),
        "permission_mode": text("permission_mode"),
        "model": as_text(payload.get("model")),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost_usd": as_number(payload.get("cost_usd")),
        "payload": compact_json(payload),
        "redactions": redactions,
        "bad_fields": bad,
    }


# --------------------------------------------------------------------------------------
# Correlation across events of a session
# --------------------------------------------------------------------------------------


@dataclass
class SessionState:
    """What ingest remembers of a session between runs (kept in the checkpoint)."""

    ordinal: int = 0
    """Prompts seen so far in this session."""
    trace: str | None = None
    """Trace id of the latest prompt."""
    last_seen_us: int = 0


class CorrelationTracker:
    """Assigns ``correlation_id`` / ``root_id`` in session order (spool order)."""

    def __init__(self, sessions: dict[str, SessionState] | None = None) -> None:
        self.sessions: dict[str, SessionState] = sessions if sessions is not None else {}

    def assign(self, row: dict[str, Any]) -> dict[str, Any]:
        session = row["session_id"]
        own = row["prompt_id"] if row["prompt_id"] is not None else row["given_correlation_id"]
        state = self.sessions.get(session) if session is not None else None
        if session is not None and state is None:
            state = self.sessions[session] = SessionState()
        if row["event_kind"] == "prompt" and state is not None:
            state.ordinal += 1
            state.trace = own if own is not None else derived_trace_id(session, state.ordinal)
            correlation = state.trace
        elif own is not None:
            correlation = own
        elif state is not None and row["event_kind"] != "session_start":
            correlation = state.trace
        else:
            correlation = None
        if state is not None:
            state.last_seen_us = max(state.last_seen_us, row["captured_us"])
        out = dict(row)
        out["correlation_id"] = correlation
        out["root_id"] = row["given_root_id"] if row["given_root_id"] is not None else correlation
        return out


def normalize_line(
    raw: bytes, *, redactor: Redactor | None, tracker: CorrelationTracker, ingest_id: str
) -> dict[str, Any]:
    """Reference pipeline for one spool line -> one canonical row (``schema.COLUMN_NAMES``).

    Raises :class:`Rejected` for a line that would be quarantined. Used by tests to check the
    bulk path, and by anything that needs one event normalised.
    """
    obj = parse_envelope(raw)
    row = tracker.assign(pre_row(obj, redactor))
    return canonical(row, ingest_id)


def canonical(row: dict[str, Any], ingest_id: str) -> dict[str, Any]:
    def ts(us: int) -> datetime:
        return EPOCH + timedelta(microseconds=us)

    out: dict[str, Any] = {}
    for name in schema.COLUMN_NAMES:
        if name == "schema_version":
            out[name] = schema.SCHEMA_VERSION
        elif name == "captured_at":
            out[name] = ts(row["captured_us"])
        elif name == "event_time":
            out[name] = ts(row["event_us"])
        elif name == "ingest_id":
            out[name] = ingest_id
        else:
            out[name] = row[name]
    return out


def raw_b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
