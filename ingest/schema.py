"""The event contract: the single source of truth for event kinds and lake columns.

Version history (append-only; bump SCHEMA_VERSION and describe the change):
  1 — first lake layout.

Every canonical row keeps the source payload verbatim (redacted) in ``payload`` so a later
schema version can re-derive all columns from history. Unknown event names become
``event_kind = "other"`` with ``event_name`` kept as sent: nothing is dropped.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from hooks import envelope

SCHEMA_VERSION = 1

# --------------------------------------------------------------------------------------
# Event kinds
# --------------------------------------------------------------------------------------

#: Claude Code ``hook_event_name`` -> canonical ``event_kind``.
CLAUDE_CODE_KINDS: dict[str, str] = {
    "UserPromptSubmit": "prompt",
    "PreToolUse": "tool_start",
    "PostToolUse": "tool_end",
    "PostToolUseFailure": "tool_failure",
    "PermissionRequest": "permission_request",
    "SubagentStart": "subagent_start",
    "SubagentStop": "subagent_stop",
    "Stop": "stop",
    "StopFailure": "stop_failure",
    "SessionStart": "session_start",
    "SessionEnd": "session_end",
    "Notification": "notification",
    "PreCompact": "compact",
    "PostCompact": "compact",
}

#: Kinds produced by hooklake's own producers (SDK, wrapper, router, importers).
SDK_KINDS: frozenset[str] = frozenset(
    {
        "endpoint_call",  # an HTTP/MCP call seen by the ASGI middleware or httpx hooks
        "routing_decision",  # a router chose an agent (log_routing_decision / hooklake route)
        "hook_execution",  # a user's own hook run through ``hooklake run``
        "intelligence",  # intelligence function / RAG query / quality gate reported by a hook
        "feedback",  # explicit user verdict on a trace (``hooklake feedback``)
        "advice",  # the advice hook injected (or, in shadow mode, would have injected) a plan
        "api_response",  # one model API response with token usage (transcripts / OTLP)
        "custom",
    }
)

OTHER_KIND = "other"

EVENT_KINDS: frozenset[str] = frozenset(CLAUDE_CODE_KINDS.values()) | SDK_KINDS | {OTHER_KIND}

#: Tools that start a subagent (``Agent`` in current Claude Code, ``Task`` in old versions).
SUBAGENT_TOOLS: frozenset[str] = frozenset({"Agent", "Task"})

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_INTERRUPTED = "interrupted"


def kind_for(event_name: str | None) -> str:
    """Canonical kind for a hook event name or an SDK kind; unknown names map to ``other``."""
    if event_name is None:
        return OTHER_KIND
    if event_name in CLAUDE_CODE_KINDS:
        return CLAUDE_CODE_KINDS[event_name]
    if event_name in SDK_KINDS:
        return event_name
    return OTHER_KIND


# --------------------------------------------------------------------------------------
# Envelope and payloads (pydantic: the declaration; extra fields are always allowed)
# --------------------------------------------------------------------------------------


class Envelope(BaseModel):
    """One spool line as written by a producer (see ``hooks/envelope.py``)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    v: int = Field(description="Spool format version (hooks.envelope.FORMAT_VERSION).")
    event_id: str = Field(min_length=1, description="Unique id given at capture time.")
    captured_ns: int = Field(description="Wall-clock capture time, ns since the epoch, UTC.")
    source: str = Field(description="Producer: claude_code, sdk, wrapper, transcript, otlp, ...")
    host: str = Field(description="Machine that captured the event.")
    payload: dict[str, Any] | None = Field(default=None, description="The producer's JSON object, verbatim.")
    raw_b64: str | None = Field(default=None, description="Raw bytes of a payload that was not a JSON object.")
    defect: str | None = Field(default=None, description="Why the payload was stored raw.")


class HookPayload(BaseModel):
    """Fields common to every Claude Code hook event. Old versions lack several of them."""

    model_config = ConfigDict(extra="allow")

    session_id: str | None = None
    transcript_path: str | None = None
    cwd: str | None = None
    hook_event_name: str | None = None
    prompt_id: str | None = Field(default=None, description="Since 2.1.196: one UUID per user prompt.")
    permission_mode: str | None = None
    effort: Any = Field(default=None, description="A string in some versions, an object ({\"level\": ...}) in 2.1.328.")
    agent_id: str | None = Field(default=None, description="Set on events fired inside a subagent.")
    agent_type: str | None = None


class UserPromptSubmit(HookPayload):
    prompt: str | None = None


class PreToolUse(HookPayload):
    tool_name: str | None = None
    tool_input: Any = None
    tool_use_id: str | None = None


class PostToolUse(PreToolUse):
    tool_response: Any = None
    duration_ms: float | None = None


class PostToolUseFailure(PreToolUse):
    error: Any = None
    is_interrupt: bool | None = None
    duration_ms: float | None = None


class SubagentEvent(HookPayload):
    agent_transcript_path: str | None = None


class Stop(HookPayload):
    stop_hook_active: bool | None = None
    last_assistant_message: str | None = None


class StopFailure(HookPayload):
    error: Any = None


class SessionStart(HookPayload):
    source: str | None = None


class SessionEnd(HookPayload):
    reason: str | None = None


class Notification(HookPayload):
    message: str | None = None
    notification_type: str | None = None


class Compact(HookPayload):
    trigger: str | None = None


PAYLOAD_MODELS: dict[str, type[HookPayload]] = {
    "UserPromptSubmit": UserPromptSubmit,
    "PreToolUse": PreToolUse,
    "PostToolUse": PostToolUse,
    "PostToolUseFailure": PostToolUseFailure,
    "SubagentStart": SubagentEvent,
    "SubagentStop": SubagentEvent,
    "Stop": Stop,
    "StopFailure": StopFailure,
    "SessionStart": SessionStart,
    "SessionEnd": SessionEnd,
    "Notification": Notification,
    "PreCompact": Compact,
    "PostCompact": Compact,
}


def payload_model(event_name: str | None) -> type[HookPayload]:
    """The pydantic model for a hook event; unknown events still validate as the common base."""
    return PAYLOAD_MODELS.get(event_name or "", HookPayload)


# --------------------------------------------------------------------------------------
# Canonical lake row
# --------------------------------------------------------------------------------------

_TS = pa.timestamp("us", tz="UTC")

#: (name, arrow type, meaning). The order is the Parquet column order. A test pins it.
CANONICAL_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("schema_version", pa.int16(), "SCHEMA_VERSION of the ingest that wrote the row."),
    ("event_id", pa.string(), "Envelope event id; unique across the lake (dedupe key)."),
    ("source", pa.string(), "Producer: claude_code, sdk, wrapper, transcript, otlp, router, server, demo."),
    ("host", pa.string(), "Machine that captured the event."),
    ("captured_at", _TS, "When the producer captured the event (envelope captured_ns)."),
    ("event_time", _TS, "When the event happened: the payload's own timestamp if any, else captured_at."),
    ("event_name", pa.string(), "Name as sent (hook_event_name or SDK kind), kept even when unknown."),
    ("event_kind", pa.string(), "Canonical kind (EVENT_KINDS); 'other' for unknown names."),
    ("session_id", pa.string(), "Claude Code session id."),
    ("prompt_id", pa.string(), "Claude Code prompt_id (2.1.196+), else null."),
    ("correlation_id", pa.string(), "Trace id: prompt_id, else derived from (session, prompt ordinal)."),
    ("root_id", pa.string(), "Root trace id when the producer knows it (SDK headers), else correlation_id."),
    ("parent_id", pa.string(), "Parent span/trace id when the producer knows it (SDK headers), else null."),
    ("execution_id", pa.string(), "Span id of this step when the producer gives one, else null."),
    ("agent_id", pa.string(), "Subagent id for events fired inside a subagent."),
    ("agent_type", pa.string(), "Subagent type (may be empty string as sent)."),
    ("tool_name", pa.string(), "Tool of tool events (Bash, Agent, mcp__server__tool, ...)."),
    ("tool_use_id", pa.string(), "Pairs PreToolUse with its PostToolUse/PostToolUseFailure."),
    ("mcp_server", pa.string(), "Server part of an mcp__<server>__<tool> tool name, or the SDK service."),
    ("mcp_tool", pa.string(), "Tool part of an MCP tool name, or the SDK endpoint path."),
    ("duration_ms", pa.float64(), "Duration reported by the source (PostToolUse, SDK, wrapper)."),
    ("status", pa.string(), "ok / error / interrupted for events that end something, else null."),
    ("error_message", pa.string(), "Error text (redacted) for failures."),
    ("prompt_text", pa.string(), "User prompt (redacted) for prompt events."),
    ("cwd", pa.string(), "Working directory (the project)."),
    ("transcript_path", pa.string(), "Claude Code transcript file of the session."),
    ("permission_mode", pa.string(), "Permission mode when sent."),
    ("model", pa.string(), "Model name when known (transcripts, OTLP)."),
    ("input_tokens", pa.int64(), "Input tokens when known."),
    ("output_tokens", pa.int64(), "Output tokens when known."),
    ("cost_usd", pa.float64(), "Cost when known (OTLP)."),
    ("payload", pa.string(), "The source payload as JSON text, redacted, otherwise verbatim."),
    ("redactions", pa.int32(), "How many secrets were replaced in this row."),
    ("ingest_id", pa.string(), "The ingest batch that wrote the row."),
)

PARTITION_COLUMN = "date"
"""Hive partition key: ``date=YYYY-MM-DD`` of ``event_time`` (UTC)."""

COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in CANONICAL_COLUMNS)


def arrow_schema() -> pa.Schema:
    """The Parquet schema of a lake events file (without the Hive partition column)."""
    return pa.schema(
        [pa.field(name, typ, metadata={"description": doc}) for name, typ, doc in CANONICAL_COLUMNS],
        metadata={"hooklake_schema_version": str(SCHEMA_VERSION)},
    )


def mcp_parts(tool_name: str | None) -> tuple[str | None, str | None]:
    """Split ``mcp__<server>__<tool>``; the server name may itself contain single underscores."""
    if not tool_name or not tool_name.startswith("mcp__"):
        return None, None
    rest = tool_name[len("mcp__") :]
    server, sep, tool = rest.partition("__")
    if not sep or not server or not tool:
        return None, None
    return server, tool


__all__ = [
    "SCHEMA_VERSION",
    "CANONICAL_COLUMNS",
    "COLUMN_NAMES",
    "EVENT_KINDS",
    "SUBAGENT_TOOLS",
    "Envelope",
    "arrow_schema",
    "kind_for",
    "mcp_parts",
    "payload_model",
    "envelope",
]
