"""Claude Code OpenTelemetry export (OTLP JSON logs and traces) -> hook-shaped spool events.

Claude Code's log events (``OTEL_LOGS_EXPORTER=otlp`` with ``http/json``, or a collector's file
exporter) carry ``event.name`` = ``user_prompt`` / ``tool_result`` / ``api_request`` /
``api_error`` / ``tool_decision`` (the body says ``claude_code.<name>``) and the standard
attributes ``session.id``, ``prompt.id``, ``event.timestamp``, ``event.sequence``. They become:

==================  =====================================================================
user_prompt         ``UserPromptSubmit`` (prompt only when the user enabled prompt logging)
tool_result         ``PostToolUse`` / ``PostToolUseFailure`` (``success`` false)
api_request         ``api_response`` with model, tokens and ``cost_usd`` (the cost source)
api_error           ``api_response`` with ``status`` error, ``status_code``, ``attempt``
tool_decision       ``custom`` (``custom_name`` tool_decision): accept/reject and its source
other claude_code.  ``custom`` with the event name kept
==================  =====================================================================

Trace spans named ``claude_code.*`` map the same way by what they describe (an LLM request span
-> ``api_response``, a tool span -> tool result, an interaction span -> prompt).

A file may hold one export request (``{"resourceLogs": [...]}``) or one per line. A file or line
of any other shape is reported by name and skipped; the rest is imported. Event ids are hashes of
the record's identity, so importing the same export twice writes the same ids.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooks import envelope
from ingest.importers.spool_writer import SpoolWriter, stable_id

MAX_WHOLE_FILE_BYTES = 256 * 1024 * 1024


@dataclass
class OtlpReport:
    files: int = 0
    documents: int = 0
    records: int = 0
    events: int = 0
    ignored_records: int = 0
    sessions: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "documents": self.documents,
            "records": self.records,
            "events": self.events,
            "ignored_records": self.ignored_records,
            "sessions": len(self.sessions),
            "errors": self.errors,
            "duration_s": round(self.duration_s, 3),
        }


def any_value(value: Any) -> Any:
    """Decode an OTLP ``AnyValue`` (``intValue`` arrives as a string in OTLP JSON)."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "doubleValue" in value:
        try:
            return float(value["doubleValue"])
        except (TypeError, ValueError):
            return value["doubleValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                out[item["key"]] = any_value(item.get("value"))
    return out


def _iso_from_nanos(nanos: Any) -> str | None:
    try:
        n = int(nanos)
    except (TypeError, ValueError):
        return None
    if n <= 0:
        return None
    seconds, rest = divmod(n, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1_000_000:03d}Z"


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _int(value: Any) -> int | None:
    n = _num(value)
    return int(n) if n is not None else None


def _truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return None


def _json_or_text(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _common(attrs: dict[str, Any], resource: dict[str, Any], timestamp: str | None) -> dict[str, Any]:
    return {
        "session_id": attrs.get("session.id") or resource.get("session.id"),
        "prompt_id": attrs.get("prompt.id"),
        "timestamp": attrs.get("event.timestamp") or timestamp,
        "claude_code_version": resource.get("service.version") or attrs.get("app.version"),
        "otel_event_sequence": attrs.get("event.sequence"),
        "tool_use_id": attrs.get("tool_use_id") or attrs.get("tool.use_id"),
    }


def payload_for_event(name: str, attrs: dict[str, Any], resource: dict[str, Any], timestamp: str | None) -> dict[str, Any] | None:
    """The hook-shaped payload of one Claude Code log event; None for events that are not Claude Code's."""
    short = name[len("claude_code."):] if name.startswith("claude_code.") else name
    base = _common(attrs, resource, timestamp)
    if short == "user_prompt":
        payload = {"hook_event_name": "UserPromptSubmit", "prompt": attrs.get("prompt"),
                   "prompt_length": _int(attrs.get("prompt_length"))}
    elif short == "tool_result":
        success = _truthy(attrs.get("success"))
        payload = {
            "hook_event_name": "PostToolUseFailure" if success is False else "PostToolUse",
            "tool_name": attrs.get("tool_name"),
            "duration_ms": _num(attrs.get("duration_ms")),
            "tool_input": _json_or_text(attrs.get("tool_parameters")) if attrs.get("tool_parameters") is not None else None,
            "decision": attrs.get("decision"),
            "decision_source": attrs.get("source") or attrs.get("decision_source"),
            "tool_result_size_bytes": _int(attrs.get("tool_result_size_bytes")),
        }
        if success is False:
            payload["error"] = attrs.get("error")
    elif short == "api_request":
        payload = {
            "hook_event_name": "api_response",
            "status": "ok",
            "model": attrs.get("model"),
            "input_tokens": _int(attrs.get("input_tokens")),
            "output_tokens": _int(attrs.get("output_tokens")),
            "cache_read_tokens": _int(attrs.get("cache_read_tokens")),
            "cache_creation_tokens": _int(attrs.get("cache_creation_tokens")),
            "cost_usd": _num(attrs.get("cost_usd")),
            "duration_ms": _num(attrs.get("duration_ms")),
            "request_id": attrs.get("request_id"),
        }
    elif short == "api_error":
        payload = {
            "hook_event_name": "api_response",
            "status": "error",
            "model": attrs.get("model"),
            "error": attrs.get("error"),
            "status_code": _int(attrs.get("status_code")),
            "attempt": _int(attrs.get("attempt")),
            "duration_ms": _num(attrs.get("duration_ms")),
        }
    elif short == "tool_decision":
        payload = {"hook_event_name": "custom", "custom_name": "tool_decision", "tool_name": attrs.get("tool_name"),
                   "decision": attrs.get("decision"), "decision_source": attrs.get("source")}
    elif name.startswith("claude_code."):
        payload = {"hook_event_name": "custom", "custom_name": name, "attributes": attrs}
    else:
        return None
    merged = {**base, **payload}
    return {k: v for k, v in merged.items() if v is not None}


def payload_for_span(span: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any] | None:
    name = span.get("name") if isinstance(span.get("name"), str) else ""
    if not name.startswith("claude_code."):
        return None
    attrs = attributes(span.get("attributes"))
    start, end = _int(span.get("startTimeUnixNano")), _int(span.get("endTimeUnixNano"))
    duration = (end - start) / 1e6 if start and end and end >= start else None
    failed = isinstance(span.get("status"), dict) and span["status"].get("code") in (2, "STATUS_CODE_ERROR")
    lowered = name.lower()
    if "llm" in lowered or "api_request" in lowered or "model" in lowered:
        event = "api_request"
        attrs.setdefault("duration_ms", duration)
    elif "tool" in lowered:
        event = "tool_result"
        attrs.setdefault("duration_ms", duration)
        attrs.setdefault("success", "false" if failed else "true")
        attrs.setdefault("tool_name", attrs.get("tool.name"))
    elif "interaction" in lowered or "prompt" in lowered:
        event = "user_prompt"
        attrs.setdefault("prompt", attrs.get("user_prompt"))
    else:
        event = name
    payload = payload_for_event(event if event.startswith("claude_code.") else f"claude_code.{event}", attrs,
                                resource, _iso_from_nanos(span.get("startTimeUnixNano")))
    if payload is not None:
        payload["otel_trace_id"] = span.get("traceId")
        payload["otel_span_id"] = span.get("spanId")
        payload["otel_span_name"] = name
    return payload


def _documents(file: Path, report: OtlpReport) -> Iterator[tuple[str, Any]]:
    """(where, document) for each JSON document in the file (whole file, else one per line)."""
    size = file.stat().st_size
    if size <= MAX_WHOLE_FILE_BYTES:
        try:
            with open(file, "rb") as fh:
                yield str(file), json.load(fh)
            return
        except (ValueError, UnicodeDecodeError):
            pass  # not one document: try JSON lines
    with open(file, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield f"{file}: line {number}", json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                report.errors.append(f"{file}: line {number}: not JSON ({exc}); skipped")


def _import_document(where: str, doc: Any, writer: SpoolWriter, report: OtlpReport) -> None:
    if not isinstance(doc, dict) or not any(k in doc for k in ("resourceLogs", "resourceSpans", "resourceMetrics")):
        keys = ", ".join(sorted(doc)[:8]) if isinstance(doc, dict) else type(doc).__name__
        report.errors.append(
            f"{where}: not an OTLP JSON export (expected resourceLogs or resourceSpans at the top level, found: {keys}); skipped"
        )
        return
    report.documents += 1
    for resource_logs in doc.get("resourceLogs") or []:
        resource = attributes(((resource_logs or {}).get("resource") or {}).get("attributes"))
        for scope in (resource_logs or {}).get("scopeLogs") or []:
            for record in (scope or {}).get("logRecords") or []:
                report.records += 1
                if not isinstance(record, dict):
                    report.ignored_records += 1
                    continue
                attrs = attributes(record.get("attributes"))
                body = any_value(record.get("body"))
                name = attrs.get("event.name")
                if isinstance(name, str) and not name.startswith("claude_code."):
                    name = f"claude_code.{name}"
                if not isinstance(name, str):
                    name = body if isinstance(body, str) else ""
                ts = _iso_from_nanos(record.get("timeUnixNano")) or _iso_from_nanos(record.get("observedTimeUnixNano"))
                payload = payload_for_event(name, attrs, resource, ts)
                if payload is None:
                    report.ignored_records += 1
                    continue
                event_id = stable_id("otlp-log", payload.get("session_id"), name, attrs.get("event.sequence"),
                                     record.get("timeUnixNano"), payload.get("prompt_id"), payload.get("tool_use_id"),
                                     payload.get("tool_name"))
                _add(payload, event_id, writer, report)
    for resource_spans in doc.get("resourceSpans") or []:
        resource = attributes(((resource_spans or {}).get("resource") or {}).get("attributes"))
        for scope in (resource_spans or {}).get("scopeSpans") or []:
            for span in (scope or {}).get("spans") or []:
                report.records += 1
                payload = payload_for_span(span, resource) if isinstance(span, dict) else None
                if payload is None:
                    report.ignored_records += 1
                    continue
                _add(payload, stable_id("otlp-span", span.get("traceId"), span.get("spanId")), writer, report)
    for resource_metrics in doc.get("resourceMetrics") or []:
        report.ignored_records += 1  # metrics are aggregates, not events: counted, not imported


def _add(payload: dict[str, Any], event_id: str, writer: SpoolWriter, report: OtlpReport) -> None:
    writer.add(payload, event_id)
    report.events += 1
    if isinstance(payload.get("session_id"), str):
        report.sessions.add(payload["session_id"])


def find_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".jsonl", ".ndjson"))


def import_otlp(path: str | os.PathLike[str], paths: Any = None) -> OtlpReport:
    """Import one OTLP JSON file, or every .json/.jsonl/.ndjson file under a folder."""
    from hooklake.errors import HooklakeError
    from hooklake.paths import Paths

    p = paths if paths is not None else Paths.resolve()
    root = Path(path).expanduser()
    if not root.exists():
        raise HooklakeError(f"{root}: no such file or folder (pass an OTLP JSON export file or a folder of them)")
    report = OtlpReport()
    started = time.perf_counter()
    with SpoolWriter(Path(p.spool), envelope.SOURCE_OTLP) as writer:
        for file in find_files(root):
            report.files += 1
            try:
                for where, doc in _documents(file, report):
                    _import_document(where, doc, writer, report)
            except OSError as exc:
                report.errors.append(f"{file}: cannot read ({exc}); skipped")
    report.duration_s = time.perf_counter() - started
    return report
