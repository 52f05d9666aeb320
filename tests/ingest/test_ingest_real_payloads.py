"""Ingest of the real hook payloads recorded from Claude Code (tests/fixtures/claude_code/<version>/).

Each fixture line is a payload exactly as Claude Code wrote it on the hook's stdin; here it is
wrapped in a spool envelope as the capture hook does, ingested, and checked against what the
recording shows. The same lines also go through the Python reference path: identical rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest import schema
from ingest.compactor import run_ingest

from ingest_testkit import append, envelope_line, read_lake, spool_path
from test_ingest_normalize import assert_agree, reference_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude_code"
SCENARIOS = sorted(FIXTURES.glob("*/*.jsonl"))


@pytest.mark.skipif(not SCENARIOS, reason="no recorded Claude Code payloads in tests/fixtures/claude_code")
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_recorded_session(paths, scenario: Path) -> None:
    payloads = [json.loads(line) for line in scenario.read_text().splitlines() if line.strip()]
    lines = [envelope_line(p, captured_ns=1_795_000_000_000_000_000 + i * 1000) for i, p in enumerate(payloads)]
    append(spool_path(paths), *lines)
    report = run_ingest(paths)
    assert report.events_written == len(payloads) and report.quarantined == 0
    rows = read_lake(paths)
    assert [r["event_name"] for r in rows] == [p["hook_event_name"] for p in payloads]
    for row, payload in zip(rows, payloads):
        assert json.loads(row["payload"]) == payload  # nothing in these recordings is secret
        assert row["event_kind"] == schema.kind_for(payload["hook_event_name"])
        assert row["session_id"] == payload["session_id"]
        if payload.get("prompt_id"):
            assert row["correlation_id"] == payload["prompt_id"]
        if payload["hook_event_name"] == "SessionStart":
            assert row["prompt_id"] is None
    starts = {r["tool_use_id"]: r for r in rows if r["event_kind"] == "tool_start"}
    ends = [r for r in rows if r["event_kind"] in ("tool_end", "tool_failure")]
    assert all(e["tool_use_id"] in starts for e in ends)  # paired by tool_use_id
    if scenario.stem != "simple_text":
        assert ends
    for end in ends:
        assert end["tool_name"] == starts[end["tool_use_id"]]["tool_name"]
        assert end["status"] in ("ok", "error", "interrupted") and end["duration_ms"] is not None
    if scenario.stem == "bash_failure":
        failure = [r for r in rows if r["event_kind"] == "tool_failure"][0]
        assert failure["status"] == "error" and "3" in failure["error_message"]
    if scenario.stem == "mcp_tool":
        assert {(r["mcp_server"], r["mcp_tool"]) for r in ends} == {("calc", "add")}
    if scenario.stem in ("subagent", "background_subagent"):
        start = [r for r in rows if r["event_kind"] == "subagent_start"][0]
        assert start["agent_id"] and start["agent_type"] == "general-purpose"
    assert_agree(rows, reference_rows(lines))
