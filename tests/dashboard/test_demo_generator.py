"""The demo dataset: deterministic, Claude-Code-shaped, and covering what the pages need."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

from dashboard.demo import DemoConfig, generate
from ingest import schema

END = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
CONFIG = DemoConfig(days=10, seed=5, sessions_per_day=6, end=END)


def test_same_seed_same_dataset_and_different_seed_differs() -> None:
    a = [json.dumps(e, sort_keys=True) for e in generate(CONFIG)]
    b = [json.dumps(e, sort_keys=True) for e in generate(CONFIG)]
    c = [json.dumps(e, sort_keys=True) for e in generate(DemoConfig(days=10, seed=6, sessions_per_day=6, end=END))]
    assert a == b
    assert a != c


def test_payloads_have_the_fields_claude_code_sends() -> None:
    events = list(generate(CONFIG))
    for e in events:
        if e["hook_event_name"] in schema.SDK_KINDS:
            continue
        for field in ("session_id", "transcript_path", "cwd", "hook_event_name", "timestamp"):
            assert field in e, (field, e)
        for field in ("session_id", "cwd", "prompt_id", "tool_use_id", "agent_id", "agent_type", "prompt"):
            assert field not in e or isinstance(e[field], str), (field, e)
        if e["hook_event_name"] in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
            assert e["tool_name"] and isinstance(e["tool_input"], dict)
        if e["hook_event_name"] == "PostToolUseFailure":
            assert isinstance(e["error"], str) and isinstance(e["is_interrupt"], bool)
    # events spread over the weeks, all before the end
    times = sorted(datetime.strptime(e["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ") for e in events)
    assert (times[-1] - times[0]).days >= 8
    assert times[-1].replace(tzinfo=timezone.utc) <= END


def test_dataset_covers_subagents_mcp_failures_and_old_versions() -> None:
    events = list(generate(CONFIG))
    names = Counter(e["hook_event_name"] for e in events)
    for needed in ("UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "SubagentStart",
                   "SubagentStop", "Stop", "StopFailure", "SessionStart", "SessionEnd", "hook_execution"):
        assert names[needed] > 0, needed
    assert len({e["cwd"] for e in events if "cwd" in e}) >= 3
    tools = {e.get("tool_name") for e in events}
    mcp = {t for t in tools if t and schema.mcp_parts(t)[0]}
    assert {"mcp__postgres__query", "mcp__github__create_pull_request"} <= mcp
    # old-version sessions: prompts without prompt_id, Task instead of Agent, no tool_use_id
    old_prompts = [e for e in events if e["hook_event_name"] == "UserPromptSubmit" and "prompt_id" not in e]
    assert old_prompts
    assert any(e.get("tool_name") == "Task" and "tool_use_id" not in e for e in events)
    # nested subagents: a subagent's own Agent call starts another subagent
    assert any(e["hook_event_name"] == "PreToolUse" and e.get("tool_name") == "Agent" and e.get("agent_id")
               for e in events)
    # background subagents come back as task notifications naming the Agent call
    notes = [e["prompt"] for e in events if e["hook_event_name"] == "UserPromptSubmit"
             and e["prompt"].startswith("<task-notification>")]
    assert notes and all("<tool-use-id>toolu_" in n for n in notes)
    # the database outage is a burst: connection-refused errors cluster within one day
    refused = [e["timestamp"][:10] for e in events if e["hook_event_name"] == "PostToolUseFailure"
               and "Connection refused" in str(e.get("error"))]
    assert refused and Counter(refused).most_common(1)[0][1] >= len(refused) * 0.6


def test_every_session_is_in_time_order() -> None:
    by_session: dict[str, list[str]] = {}
    for e in generate(CONFIG):
        by_session.setdefault(e["session_id"], []).append(e["timestamp"])
    for stamps in by_session.values():
        assert stamps == sorted(stamps)
