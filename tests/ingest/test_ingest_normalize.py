"""Normalisation of Claude Code (2.1.x and 1.0.x) and SDK payloads into canonical rows.

Every case runs through the real ``run_ingest`` (vectorised SQL path, Parquet) and the same
lines through the Python reference (``normalize_line``); both must give identical rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest

from ingest import schema
from ingest.compactor import run_ingest
from ingest.normalize import (
    CorrelationTracker,
    Rejected,
    derived_trace_id,
    normalize_line,
    payload_field_checks,
    timestamp_us,
)
from ingest.redact import Redactor

from ingest_testkit import CWD, SESSION, TRANSCRIPT, append, cc, envelope_line, read_lake, spool_path

P1 = "fc22c428-050c-4a3d-8bac-021aac00354f"
P2 = "0b6a1c1e-4a7b-4a43-9d0c-2f7d2a3f1e55"
T0 = 1_795_000_000_000_000_000


def session_2_1() -> list[dict[str, Any]]:
    """One 2.1.328-shaped session: every hook event it fires, incl. a subagent and an MCP call."""
    eff = {"effort": {"level": "medium"}}
    return [
        cc("SessionStart", source="startup"),
        cc("UserPromptSubmit", prompt_id=P1, permission_mode="default", prompt="Count the files"),
        cc("PreToolUse", prompt_id=P1, tool_name="Bash", tool_input={"command": "ls"}, tool_use_id="toolu_1"),
        cc("PostToolUse", prompt_id=P1, tool_name="Bash", tool_input={"command": "ls"}, tool_use_id="toolu_1",
           tool_response={"stdout": "a\nb"}, duration_ms=12),
        cc("PreToolUse", prompt_id=P1, tool_name="Bash", tool_input={"command": "exit 3"}, tool_use_id="toolu_2"),
        cc("PostToolUseFailure", prompt_id=P1, tool_name="Bash", tool_input={"command": "exit 3"},
           tool_use_id="toolu_2", error="Exit code 3", is_interrupt=False, duration_ms=40),
        cc("PostToolUseFailure", prompt_id=P1, tool_name="Bash", tool_use_id="toolu_3", error="Interrupted",
           is_interrupt=True),
        cc("PreToolUse", prompt_id=P1, tool_name="mcp__calc__add", tool_input={"a": 1, "b": 2},
           tool_use_id="toolu_4", mcp_server={"name": "calc", "source": "dynamic"}),
        cc("PreToolUse", prompt_id=P1, tool_name="Agent", tool_use_id="toolu_5",
           tool_input={"subagent_type": "general-purpose", "prompt": "count"}),
        cc("SubagentStart", prompt_id=P1, agent_id="a80e1762eccf7da37", agent_type="general-purpose"),
        cc("PreToolUse", prompt_id=P1, agent_id="a80e1762eccf7da37", agent_type="general-purpose",
           tool_name="Bash", tool_use_id="toolu_6", tool_input={"command": "ls | wc -l"}, **eff),
        cc("SubagentStop", prompt_id=P1, agent_id="a80e1762eccf7da37", agent_type="general-purpose",
           agent_transcript_path="/tmp/agent.jsonl", last_assistant_message="3 files"),
        cc("PermissionRequest", prompt_id=P1, tool_name="Bash", tool_input={"command": "rm x"}),
        cc("Notification", prompt_id=P1, message="Claude needs your permission", notification_type="permission"),
        cc("PreCompact", prompt_id=P1, trigger="auto"),
        cc("PostCompact", prompt_id=P1, trigger="auto"),
        cc("Stop", prompt_id=P1, stop_hook_active=False, last_assistant_message="There are 3 files."),
        cc("MessageDisplay", prompt_id=P1, turn_id="t1", message_id="m1", index=0, final=True, delta="There"),
        cc("UserPromptSubmit", prompt_id=P2, prompt="<task-notification>\n<task-id>a1</task-id>"),
        cc("StopFailure", prompt_id=P2, error={"type": "overloaded_error", "message": "Overloaded"}),
        cc("SessionEnd", prompt_id=P2, reason="other"),
    ]


def session_1_0(session: str = "old-session-1") -> list[dict[str, Any]]:
    """1.0.x shape: no prompt_id, tool_use_id or agent_id; Task instead of Agent."""
    base = {"session_id": session, "transcript_path": "/home/u/.claude/projects/x/old.jsonl", "cwd": CWD}
    return [
        {**base, "hook_event_name": "SessionStart", "source": "startup"},
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "first prompt"},
        {**base, "hook_event_name": "PreToolUse", "tool_name": "Task", "tool_input": {"prompt": "sub"}},
        {**base, "hook_event_name": "PostToolUse", "tool_name": "Task", "tool_input": {"prompt": "sub"},
         "tool_response": {"ok": True}},
        {**base, "hook_event_name": "SubagentStop", "stop_hook_active": False},
        {**base, "hook_event_name": "Stop", "stop_hook_active": False},
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "second prompt"},
        {**base, "hook_event_name": "Notification", "message": "waiting"},
        {**base, "hook_event_name": "Stop", "stop_hook_active": False},
    ]


def sdk_events() -> list[dict[str, Any]]:
    return [
        {"hook_event_name": "endpoint_call", "correlation_id": "corr-1", "root_id": "root-1", "parent_id": "par-1",
         "execution_id": "exec-1", "session_id": SESSION, "service": "billing", "endpoint": "/v1/invoices",
         "method": "POST", "status": 503, "duration_ms": 12.5, "timestamp": "2026-11-20T10:00:00Z"},
        {"hook_event_name": "endpoint_call", "correlation_id": "corr-1", "service": "billing", "endpoint": "/v1/x",
         "status": 200, "duration_ms": 3, "timestamp": 1795000000.5},
        {"hook_event_name": "routing_decision", "correlation_id": "corr-2", "agent_type": "python-expert",
         "confidence": 0.9, "status": "Success", "timestamp": 1795000000123},
        {"hook_event_name": "hook_execution", "correlation_id": "corr-2", "hook": "lint.sh", "exit_code": 2,
         "duration_ms": 80, "error": {"message": "lint failed", "code": 2}},
        {"hook_event_name": "intelligence", "correlation_id": "corr-2", "success": True},
        {"hook_event_name": "feedback", "correlation_id": "corr-2", "verdict": "good"},
        {"hook_event_name": "advice", "correlation_id": "corr-2", "status": "shadow"},
        {"hook_event_name": "api_response", "correlation_id": "corr-2", "model": "claude-x",
         "usage": {"input_tokens": 1200, "output_tokens": 80}, "cost_usd": 0.0123},
        {"hook_event_name": "custom", "name": "my-step", "error": "boom"},
    ]


def ingest_payloads(paths, payloads: list[dict[str, Any]], source: str = "claude_code") -> list[bytes]:
    lines = [envelope_line(p, captured_ns=T0 + i * 1000, source=source) for i, p in enumerate(payloads)]
    append(spool_path(paths), *lines)
    report = run_ingest(paths)
    assert report.events_written == len(payloads), report.as_dict()
    return lines


def reference_rows(lines: list[bytes], redact: bool = True) -> dict[str, dict[str, Any]]:
    tracker = CorrelationTracker()
    out = {}
    for line in lines:
        try:
            row = normalize_line(line.rstrip(b"\n"), redactor=Redactor(enabled=redact), tracker=tracker,
                                 ingest_id="x")
        except Rejected:
            continue
        out.setdefault(row["event_id"], row)
    return out


def assert_agree(lake: list[dict[str, Any]], reference: dict[str, dict[str, Any]]) -> None:
    assert len(lake) == len(reference)
    for row in lake:
        ref = reference[row["event_id"]]
        for name in schema.COLUMN_NAMES:
            if name == "ingest_id":
                continue
            got, want = row[name], ref[name]
            if name == "payload":
                got, want = json.loads(got), json.loads(want)
            assert got == want, (name, row["event_name"], got, want)


def by_name(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["event_name"], []).append(row)
    return out


def test_claude_code_2_1_every_kind(paths) -> None:
    lines = ingest_payloads(paths, session_2_1())
    rows = read_lake(paths)
    named = by_name(rows)
    assert named["SessionStart"][0]["event_kind"] == "session_start"
    assert named["SessionStart"][0]["correlation_id"] is None  # before the first prompt
    prompt = named["UserPromptSubmit"][0]
    assert (prompt["event_kind"], prompt["prompt_text"], prompt["correlation_id"]) == ("prompt", "Count the files", P1)
    assert prompt["root_id"] == P1 and prompt["permission_mode"] == "default"
    assert prompt["session_id"] == SESSION and prompt["cwd"] == CWD and prompt["transcript_path"] == TRANSCRIPT
    pre, post = named["PreToolUse"][0], named["PostToolUse"][0]
    assert (pre["event_kind"], pre["tool_name"], pre["tool_use_id"], pre["status"]) == ("tool_start", "Bash", "toolu_1", None)
    assert (post["event_kind"], post["status"], post["duration_ms"]) == ("tool_end", "ok", 12.0)
    assert json.loads(post["payload"])["tool_response"] == {"stdout": "a\nb"}  # stays inside payload
    fail, interrupted = named["PostToolUseFailure"]
    assert (fail["event_kind"], fail["status"], fail["error_message"], fail["duration_ms"]) == (
        "tool_failure", "error", "Exit code 3", 40.0)
    assert interrupted["status"] == "interrupted"
    mcp = [r for r in named["PreToolUse"] if r["tool_name"] == "mcp__calc__add"][0]
    assert (mcp["mcp_server"], mcp["mcp_tool"]) == ("calc", "add")
    sub_start, sub_stop = named["SubagentStart"][0], named["SubagentStop"][0]
    assert (sub_start["event_kind"], sub_start["agent_id"], sub_start["agent_type"]) == (
        "subagent_start", "a80e1762eccf7da37", "general-purpose")
    assert sub_stop["event_kind"] == "subagent_stop" and sub_stop["correlation_id"] == P1
    inner = [r for r in named["PreToolUse"] if r["agent_id"]][0]
    assert inner["agent_type"] == "general-purpose" and inner["correlation_id"] == P1
    assert named["PermissionRequest"][0]["event_kind"] == "permission_request"
    assert named["Notification"][0]["event_kind"] == "notification"
    assert {r["event_kind"] for r in named["PreCompact"] + named["PostCompact"]} == {"compact"}
    assert (named["Stop"][0]["event_kind"], named["Stop"][0]["status"]) == ("stop", "ok")
    unknown = named["MessageDisplay"][0]
    assert unknown["event_kind"] == "other" and json.loads(unknown["payload"])["delta"] == "There"
    failure = named["StopFailure"][0]
    assert (failure["status"], failure["error_message"], failure["correlation_id"]) == ("error", "Overloaded", P2)
    assert named["SessionEnd"][0]["event_kind"] == "session_end"
    assert all(r["schema_version"] == schema.SCHEMA_VERSION for r in rows)
    assert_agree(rows, reference_rows(lines))


def test_claude_code_1_0_correlation_from_session_order(paths) -> None:
    lines = ingest_payloads(paths, session_1_0())
    rows = read_lake(paths)
    first = derived_trace_id("old-session-1", 1)
    second = derived_trace_id("old-session-1", 2)
    assert first == hashlib.md5(b"old-session-1:1").hexdigest()
    assert [r["correlation_id"] for r in rows] == [None, first, first, first, first, first, second, second, second]
    assert all(r["prompt_id"] is None and r["tool_use_id"] is None for r in rows)
    task = [r for r in rows if r["tool_name"] == "Task"]
    assert [r["event_kind"] for r in task] == ["tool_start", "tool_end"]
    assert_agree(rows, reference_rows(lines))


def test_trace_state_survives_between_runs(paths) -> None:
    """A session split over two ingest runs keeps counting prompts (state in the checkpoint)."""
    events = session_1_0("split-session")
    spool = spool_path(paths)
    lines = [envelope_line(p, captured_ns=T0 + i * 1000) for i, p in enumerate(events)]
    append(spool, *lines[:4])
    run_ingest(paths)
    append(spool, *lines[4:])
    run_ingest(paths)
    rows = read_lake(paths)
    assert len({r["ingest_id"] for r in rows}) == 2
    assert rows[-1]["correlation_id"] == derived_trace_id("split-session", 2)
    assert rows[4]["correlation_id"] == derived_trace_id("split-session", 1)  # inherited across runs
    assert_agree(rows, reference_rows(lines))


def test_sdk_kinds(paths) -> None:
    lines = ingest_payloads(paths, sdk_events(), source="sdk")
    rows = read_lake(paths)
    named = by_name(rows)
    ep_fail, ep_ok = named["endpoint_call"]
    assert (ep_fail["event_kind"], ep_fail["mcp_server"], ep_fail["mcp_tool"], ep_fail["status"]) == (
        "endpoint_call", "billing", "/v1/invoices", "error")
    assert (ep_fail["correlation_id"], ep_fail["root_id"], ep_fail["parent_id"], ep_fail["execution_id"]) == (
        "corr-1", "root-1", "par-1", "exec-1")
    assert ep_fail["event_time"] == dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
    assert ep_fail["_date"] == "2026-11-20"
    assert ep_ok["status"] == "ok" and ep_ok["root_id"] == "corr-1" and ep_ok["duration_ms"] == 3.0
    assert ep_ok["event_time"] == dt.datetime.fromtimestamp(1795000000.5, dt.timezone.utc)
    routing = named["routing_decision"][0]
    assert routing["status"] == "ok" and routing["agent_type"] == "python-expert"
    assert routing["event_time"] == dt.datetime.fromtimestamp(1795000000.123, dt.timezone.utc)
    hook = named["hook_execution"][0]
    assert (hook["status"], hook["error_message"]) == ("error", "lint failed")
    assert named["intelligence"][0]["status"] == "ok"
    assert named["feedback"][0]["status"] is None
    assert named["advice"][0]["status"] == "shadow"
    api = named["api_response"][0]
    assert (api["model"], api["input_tokens"], api["output_tokens"], api["cost_usd"]) == ("claude-x", 1200, 80, 0.0123)
    custom = named["custom"][0]
    assert custom["status"] == "error" and custom["correlation_id"] is None and custom["session_id"] is None
    assert all(r["source"] == "sdk" for r in rows)
    assert_agree(rows, reference_rows(lines))


def test_wrong_field_types_keep_the_event_and_warn(paths) -> None:
    payloads = [
        cc("UserPromptSubmit", prompt_id=P1, prompt=123),  # prompt must be a string
        cc("PostToolUse", prompt_id=P1, tool_name="Bash", duration_ms="12"),  # number as text
        cc("Stop", prompt_id=P1, stop_hook_active="no"),
    ]
    lines = [envelope_line(p, captured_ns=T0 + i * 1000) for i, p in enumerate(payloads)]
    append(spool_path(paths), *lines)
    report = run_ingest(paths)
    assert report.events_written == 3 and report.quarantined == 0
    text = "\n".join(report.warnings)
    assert "field 'prompt'" in text and "field 'duration_ms'" in text and "field 'stop_hook_active'" in text
    rows = read_lake(paths)
    assert rows[0]["prompt_text"] is None and json.loads(rows[0]["payload"])["prompt"] == 123
    assert rows[1]["duration_ms"] is None
    assert_agree(rows, reference_rows(lines))


def test_payload_checks_follow_the_pydantic_models() -> None:
    checks = payload_field_checks()
    assert checks["session_id"] == {"*": "string"}
    assert checks["duration_ms"] == {"PostToolUse": "number", "PostToolUseFailure": "number"}
    assert checks["is_interrupt"] == {"PostToolUseFailure": "boolean"}
    assert "tool_input" not in checks  # Any: nothing to check


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27T09:00:00Z", dt.datetime(2026, 11, 27, 9, tzinfo=dt.timezone.utc)),
        ("2026-11-27T09:00:00.250+02:00", dt.datetime(2026, 11, 27, 7, 0, 0, 250000, tzinfo=dt.timezone.utc)),
        ("2026-11-27 09:00", dt.datetime(2026, 11, 27, 9, tzinfo=dt.timezone.utc)),
        (1795000000, dt.datetime.fromtimestamp(1795000000, dt.timezone.utc)),
        (1795000000000, dt.datetime.fromtimestamp(1795000000, dt.timezone.utc)),
        (1795000000000000, dt.datetime.fromtimestamp(1795000000, dt.timezone.utc)),
        (1795000000000000000, dt.datetime.fromtimestamp(1795000000, dt.timezone.utc)),
        ("yesterday", None),
        (True, None),
    ],
)
def test_timestamp_forms(value: Any, expected: dt.datetime | None) -> None:
    us = timestamp_us(value)
    got = None if us is None else dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=us)
    assert got == expected


def test_timestamp_forms_agree_in_sql(paths) -> None:
    stamps = ["2026-11-27T09:00:00Z", "2026-11-27T09:00:00.250+02:00", "2026-11-27 09:00", "2026-11-27T09:00+0130",
              1795000000, 1795000000.25, 1795000000000, 1795000000000000, 1795000000000000000, "yesterday", None,
              -5, 10**30]
    payloads = [{"hook_event_name": "custom", "timestamp": s} for s in stamps]
    lines = ingest_payloads(paths, payloads, source="sdk")
    assert_agree(read_lake(paths), reference_rows(lines))
