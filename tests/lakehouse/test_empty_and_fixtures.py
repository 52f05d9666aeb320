"""Every view on an empty lake, and on a lake of real Claude Code 2.1.328 hook payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lakehouse_testkit import Spool

import lakehouse
from hooklake.paths import Paths
from lakehouse.connect import VIEWS_DIR, apply_order_names, view_names

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude_code" / "2.1.328"

CONTRACT = {
    "execution_traces": ["correlation_id", "root_id", "parent_id", "session_id", "source", "prompt_text",
                         "started_at", "completed_at", "duration_ms", "status", "success", "success_score",
                         "error_message", "error_type", "context", "tags", "cwd", "agent_id", "agent_type",
                         "is_subagent", "tool_calls", "tool_failures", "subagents", "agents", "tool_sequence",
                         "hook_sequence", "endpoints", "input_tokens", "output_tokens", "cost_usd", "completed",
                         "no_errors", "hooks_succeeded", "quality_gates_passed", "within_performance_thresholds",
                         "no_timeouts", "intelligence_gathered", "user_confirmation"],
    "tool_calls": ["correlation_id", "session_id", "agent_id", "tool_use_id", "tool_name", "mcp_server", "mcp_tool",
                   "started_at", "ended_at", "duration_ms", "status", "error_message", "tool_input"],
    "subagent_runs": ["correlation_id", "parent_correlation_id", "parent_tool_use_id", "agent_id", "agent_type",
                      "session_id", "started_at", "ended_at", "duration_ms", "status", "depth"],
    "error_events": ["correlation_id", "occurred_at", "source_kind", "agent_type", "tool_name", "service",
                     "endpoint", "error_message", "error_template"],
}


def columns(con: Any, view: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description]


def test_every_view_exists_and_is_empty_on_an_empty_lake(paths: Paths) -> None:
    con = lakehouse.connect(paths.home)
    names = view_names(con)
    assert set(apply_order_names(VIEWS_DIR)) <= set(names)
    for name in names:
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 0, name
    for view, cols in CONTRACT.items():
        assert set(cols) <= set(columns(con, view)), view
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'execution_traces'").fetchall())
    assert types["success"] == "BOOLEAN" and types["success_score"] == "DOUBLE"
    assert types["agents"] == "VARCHAR[]" and types["tags"] == "VARCHAR[]"


def test_events_relation_is_typed_on_an_empty_lake(paths: Paths) -> None:
    from ingest.schema import COLUMN_NAMES

    con = lakehouse.connect(paths.home)
    assert columns(con, "events")[: len(COLUMN_NAMES)] == list(COLUMN_NAMES)


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="recorded Claude Code payloads not present")
def test_real_claude_code_payloads(paths: Paths) -> None:
    sp = Spool()
    for f in sorted(FIXTURES.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                sp.add(json.loads(line), host="laptop" if "two_prompts" in f.name else "desktop")
    sp.ingest(paths)
    con = lakehouse.connect(paths.home)
    traces = {r[0]: r for r in con.execute(
        "SELECT prompt_text, status, success, tool_calls, tool_failures, subagents, agents, is_subagent, "
        "parent_id FROM execution_traces WHERE NOT is_subagent").fetchall()}
    by_prompt = {r[0]: r for r in traces.values()}
    failing = by_prompt["Run the check script and tell me whether it passes."]
    assert failing[1:6] == ("success", True, 1, 1, 0)
    delegate = by_prompt["Delegate counting the project files to a helper agent."]
    assert delegate[3:7] == (1, 0, 1, ["general-purpose"])
    assert all(r[1] == "success" for r in traces.values())
    runs = con.execute("SELECT parent_correlation_id, parent_tool_use_id, depth, status, agent_type, link_rule "
                       "FROM subagent_runs").fetchall()
    assert runs and all(r[2] == 1 and r[3] == "success" and r[5] == "response" for r in runs)
    assert all(r[1].startswith("toolu_") for r in runs)
    # two hosts, several sessions: nothing lost or doubled
    sessions = con.execute("SELECT count(*), sum(traces) FROM session_summary").fetchone()
    assert sessions[0] == len(list(FIXTURES.glob("*.jsonl"))) and sessions[1] == len(traces)
    failed = con.execute("SELECT tool_name, error_template FROM error_events").fetchall()
    assert ("Bash", "Exit code <n> checking") in failed
